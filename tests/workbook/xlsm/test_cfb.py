"""The MS-CFB writer, read back by olefile in its strictest mode."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator, Mapping

import olefile
import pytest

from creditbook.workbook.xlsm.cfb import Node, write_compound_file

RANDOM = random.Random(11)
TREE: dict[str, Node] = {
    "PROJECT": b"ID=...\r\n" * 20,
    "PROJECTwm": b"",
    "VBA": {
        "dir": RANDOM.randbytes(4095),  # largest mini stream
        "_VBA_PROJECT": RANDOM.randbytes(4096),  # smallest regular stream
        "Module1": RANDOM.randbytes(70000),
        "Nested": {"Deeper": {"x": b"1"}, "Empty": {}},
    },
    "\x05SummaryInformation": RANDOM.randbytes(300),
}


def _streams(tree: Mapping[str, Node], prefix: str = "") -> Iterator[tuple[str, bytes]]:
    for name, node in tree.items():
        if isinstance(node, bytes):
            yield prefix + name, node
        else:
            yield from _streams(node, f"{prefix}{name}/")


def _open(data: bytes) -> olefile.OleFileIO:
    assert olefile.isOleFile(data)
    return olefile.OleFileIO(data, raise_defects=olefile.DEFECT_UNSURE)


def test_olefile_reads_every_stream() -> None:
    ole = _open(write_compound_file(TREE))
    listed = {"/".join(path) for path in ole.listdir(streams=True, storages=True)}
    assert listed == {
        "PROJECT",
        "PROJECTwm",
        "VBA",
        "VBA/dir",
        "VBA/_VBA_PROJECT",
        "VBA/Module1",
        "VBA/Nested",
        "VBA/Nested/Deeper",
        "VBA/Nested/Deeper/x",
        "VBA/Nested/Empty",
        "\x05SummaryInformation",
    }
    for path, data in _streams(TREE):
        assert ole.get_type(path) == olefile.STGTY_STREAM
        assert ole.openstream(path).read() == data, path
    assert ole.get_type("VBA/Nested/Empty") == olefile.STGTY_STORAGE


def test_small_streams_use_the_mini_stream() -> None:
    ole = _open(write_compound_file(TREE))
    assert ole.minisectorcutoff == 4096
    sizes = {entry.name: entry.size for entry in ole.direntries if entry is not None}
    small = [data for _, data in _streams(TREE) if len(data) < 4096]
    assert sizes["Root Entry"] == sum(-(-len(data) // 64) * 64 for data in small)
    assert ole.get_size("VBA/dir") == 4095


def test_header_and_entries_are_fixed() -> None:
    data = write_compound_file(TREE)
    major, byte_order, sector_shift, mini_shift = struct.unpack_from("<HHHH", data, 26)
    assert (major, byte_order, sector_shift, mini_shift) == (3, 0xFFFE, 9, 6)
    assert len(data) % 512 == 0
    for entry in _open(data).direntries:
        if entry is not None:
            assert (entry.clsid, entry.createTime, entry.modifyTime) == ("", 0, 0)


def test_sibling_trees_are_ordered_per_spec() -> None:
    """MS-CFB 2.6.4: in-order walk gives names by UTF-16 length, then upper-cased comparison."""
    names = ["b", "A", "c", "ab", "AA", "Zz", "abc", "_VBA_PROJECT", "dir", "PROJECT", "PROJECTwm"]
    ole = _open(write_compound_file({name: b"x" for name in names}))

    def in_order(sid: int) -> list[str]:
        if sid == olefile.NOSTREAM:
            return []
        entry = ole.direntries[sid]
        return [*in_order(entry.sid_left), entry.name, *in_order(entry.sid_right)]

    walked = in_order(ole.root.sid_child)
    assert walked == sorted(names, key=lambda name: (len(name), name.upper()))
    assert walked[:3] == ["A", "b", "c"]


def test_many_sectors_need_several_fat_and_minifat_sectors() -> None:
    generator = random.Random(12)
    tree: dict[str, Node] = {f"big{n}": generator.randbytes(5000 + n) for n in range(40)}
    tree |= {f"small{n}": generator.randbytes(100 + n) for n in range(200)}
    data = write_compound_file(tree)
    (fat_sectors,) = struct.unpack_from("<I", data, 44)
    (mini_fat_sectors,) = struct.unpack_from("<I", data, 64)
    assert fat_sectors > 1
    assert mini_fat_sectors > 1
    ole = _open(data)
    for name, content in tree.items():
        assert isinstance(content, bytes)
        assert ole.openstream(name).read() == content


def test_same_tree_gives_same_bytes_in_any_insertion_order() -> None:
    reordered = dict(reversed(TREE.items()))
    assert write_compound_file(reordered) == write_compound_file(TREE)


def test_no_streams_at_all() -> None:
    assert _open(write_compound_file({})).listdir() == []


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"a/b": b""}, "invalid"),
        ({"x" * 32: b""}, "invalid"),
        ({"": b""}, "invalid"),
        ({"Dir": b"", "dir": b""}, "case"),
    ],
)
def test_bad_names_fail(tree: dict[str, Node], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_compound_file(tree)


def test_files_needing_difat_sectors_fail_loudly() -> None:
    too_big = bytes(109 * 128 * 512)
    with pytest.raises(ValueError, match="DIFAT"):
        write_compound_file({"big": too_big})
