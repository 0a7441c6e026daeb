"""Minimal MS-CFB writer: compound file version 3, 512-byte sectors, deterministic output.

A tree is a mapping of names to either ``bytes`` (a stream) or another mapping (a storage).
CLSIDs, state bits and timestamps are all zero, so the same tree always gives the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

Node: TypeAlias = "bytes | Mapping[str, Node]"

SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
SECTOR = 512
MINI_SECTOR = 64
MINI_STREAM_CUTOFF = 4096
DIRECTORY_ENTRY = 128
FATSECT, ENDOFCHAIN, FREESECT = 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF
NOSTREAM = 0xFFFFFFFF
HEADER_DIFAT_ENTRIES = 109
STORAGE, STREAM, ROOT = 1, 2, 5
BLACK = 1
FORBIDDEN_NAME_CHARS = frozenset("/\\:!")


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[int] = field(default_factory=list)
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    start: int = ENDOFCHAIN


def _sort_key(name: str) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names sort first, names of equal length compare upper-cased.
    return len(name.encode("utf-16-le")) // 2, name.upper()


def _check_name(name: str) -> None:
    # MS-CFB 2.6.1: at most 31 UTF-16 code units, none of '/', '\', ':', '!'.
    if not name or len(name.encode("utf-16-le")) > 62 or FORBIDDEN_NAME_CHARS & set(name):
        raise ValueError(f"invalid compound file entry name {name!r}")


def _flatten(tree: Mapping[str, Node]) -> list[_Entry]:
    entries = [_Entry("Root Entry", ROOT)]
    pending: list[tuple[int, Mapping[str, Node]]] = [(0, tree)]
    while pending:
        parent, storage = pending.pop(0)
        folded = [name.upper() for name in storage]
        if len(set(folded)) != len(folded):
            raise ValueError(f"entry names differ only in case: {sorted(storage)}")
        for name in sorted(storage, key=_sort_key):
            _check_name(name)
            node = storage[name]
            entries[parent].children.append(len(entries))
            if isinstance(node, bytes):
                entries.append(_Entry(name, STREAM, data=node))
            else:
                pending.append((len(entries), node))
                entries.append(_Entry(name, STORAGE))
    return entries


def _link_tree(entries: list[_Entry], ids: list[int]) -> int:
    """Link sorted sibling ids into a balanced binary search tree; return its root id.

    Every node is black, which MS-CFB 2.6.4 allows (the tree is then a plain binary tree).
    """
    if not ids:
        return NOSTREAM
    middle = len(ids) // 2
    root = entries[ids[middle]]
    root.left = _link_tree(entries, ids[:middle])
    root.right = _link_tree(entries, ids[middle + 1 :])
    return ids[middle]


def _pad(data: bytes, unit: int) -> bytes:
    return data + b"\0" * (-len(data) % unit)


def _sectors(size: int, unit: int = SECTOR) -> int:
    return -(-size // unit)


def _chain(table: list[int], first: int, count: int) -> None:
    table.extend(range(first + 1, first + count))
    table.append(ENDOFCHAIN)


def _directory_entry(entry: _Entry) -> bytes:
    # MS-CFB 2.6.1 Compound File Directory Entry; CLSID, state bits and both timestamps are zero.
    name = entry.name.encode("utf-16-le") + b"\0\0"
    links = struct.pack("<3I", entry.left, entry.right, entry.child)
    head = struct.pack("<64sHBB", name, len(name), entry.kind, BLACK)
    return head + links + bytes(36) + struct.pack("<IQ", entry.start, len(entry.data))


# MS-CFB 2.6.3: unused entries are zero except the three sibling/child links (NOSTREAM).
FREE_DIRECTORY_ENTRY = bytes(68) + struct.pack("<3I", NOSTREAM, NOSTREAM, NOSTREAM) + bytes(48)


def write_compound_file(tree: Mapping[str, Node]) -> bytes:
    """Serialise a storage tree as an MS-CFB version 3 file."""
    entries = _flatten(tree)
    for entry in entries:
        if entry.kind != STREAM:
            entry.child = _link_tree(entries, entry.children)

    # MS-CFB 2.5: streams below the cutoff live in the mini stream, the rest in regular sectors.
    mini_fat: list[int] = []
    mini_stream = b""
    big = [e for e in entries if e.kind == STREAM and len(e.data) >= MINI_STREAM_CUTOFF]
    for entry in entries:
        if entry.kind == STREAM and 0 < len(entry.data) < MINI_STREAM_CUTOFF:
            entry.start = len(mini_fat)
            _chain(mini_fat, len(mini_fat), _sectors(len(entry.data), MINI_SECTOR))
            mini_stream += _pad(entry.data, MINI_SECTOR)
        elif entry.kind == STORAGE:
            entry.start = 0

    counts = [
        _sectors(len(entries) * DIRECTORY_ENTRY),
        _sectors(len(mini_fat) * 4),
        _sectors(len(mini_stream)),
        *(_sectors(len(e.data)) for e in big),
    ]
    fat_count = 1
    while fat_count * SECTOR // 4 < fat_count + sum(counts):
        fat_count += 1
    if fat_count > HEADER_DIFAT_ENTRIES:
        raise ValueError("compound file needs DIFAT sectors beyond the header; not supported")

    # MS-CFB 2.3: sector layout is FAT, directory, MiniFAT, mini stream, large streams.
    fat = [FATSECT] * fat_count
    starts = []
    for count in counts:
        starts.append(len(fat) if count else ENDOFCHAIN)
        if count:
            _chain(fat, len(fat), count)
    dir_start, mini_fat_start, mini_stream_start, *big_starts = starts
    entries[0].start = mini_stream_start
    entries[0].data = mini_stream
    for entry, start in zip(big, big_starts, strict=True):
        entry.start = start
    fat += [FREESECT] * (fat_count * SECTOR // 4 - len(fat))
    mini_fat_count = counts[1]
    mini_fat += [FREESECT] * (mini_fat_count * SECTOR // 4 - len(mini_fat))

    directory = b"".join(_directory_entry(e) for e in entries)
    directory += FREE_DIRECTORY_ENTRY * (-len(entries) % (SECTOR // DIRECTORY_ENTRY))
    difat = list(range(fat_count)) + [FREESECT] * (HEADER_DIFAT_ENTRIES - fat_count)
    # MS-CFB 2.2 Compound File Header: version 3.62, little-endian, 512-byte sectors, 64-byte
    # mini sectors, then the sector counts and starts, and the first 109 DIFAT entries.
    header = SIGNATURE + bytes(16) + struct.pack("<5H6xI", 0x3E, 3, 0xFFFE, 9, 6, 0)
    header += struct.pack("<4I", fat_count, dir_start, 0, MINI_STREAM_CUTOFF)
    header += struct.pack("<4I", mini_fat_start, mini_fat_count, ENDOFCHAIN, 0)
    header += struct.pack(f"<{HEADER_DIFAT_ENTRIES}I", *difat)
    body = [
        struct.pack(f"<{len(fat)}I", *fat),
        directory,
        struct.pack(f"<{len(mini_fat)}I", *mini_fat),
        _pad(mini_stream, SECTOR),
        *(_pad(e.data, SECTOR) for e in big),
    ]
    return header + b"".join(body)
