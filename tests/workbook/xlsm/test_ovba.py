"""MS-OVBA compression and project building, checked against oletools and Excel's own files."""

from __future__ import annotations

import random
import re
import struct
import zipfile
from pathlib import Path

import olefile
import pytest
import xlwings
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import VBA_Parser, decompress_stream, filter_vba

from creditbook.workbook.xlsm.ovba import (
    OFFICE,
    STDOLE,
    XLWINGS_WORKBOOK_REFERENCES,
    Module,
    build_vba_project,
    compress,
    decompress,
)

XLWINGS_DIR = Path(xlwings.__file__).parent

MODULES = (
    Module("ThisWorkbook", "", "workbook"),
    Module("Sheet1", "Option Explicit\n", "worksheet"),
    Module(
        "Ribbon",
        "Option Explicit\n\nSub OnRefresh(control As IRibbonControl)\n"
        '    RunPython "import creditbook.excel; creditbook.excel.refresh()"\nEnd Sub\n',
        "standard",
    ),
    Module(
        "Helpers",
        "Function Twice(x As Double) As Double\r\n    Twice = 2 * x\r\nEnd Function",
        "standard",
    ),
)


def _vba_project_of(workbook: str) -> olefile.OleFileIO:
    with zipfile.ZipFile(XLWINGS_DIR / workbook) as archive:
        return olefile.OleFileIO(archive.read("xl/vbaProject.bin"))


def _built() -> olefile.OleFileIO:
    return olefile.OleFileIO(build_vba_project(MODULES, XLWINGS_WORKBOOK_REFERENCES))


def _dir_records(ole: olefile.OleFileIO) -> list[tuple[int, bytes]]:
    """(id, payload) of every dir stream record, decompressed by oletools (MS-OVBA 2.3.4.2)."""
    data = bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read())))
    records, position = [], 0
    while position < len(data):
        record_id, size = struct.unpack_from("<HI", data, position)
        size = 6 if record_id == 0x0009 else size  # PROJECTVERSION: Reserved, then 6 bytes
        records.append((record_id, data[position + 6 : position + 6 + size]))
        position += 6 + size
    return records


def _decrypt(hex_text: str) -> tuple[int, int, bytes]:
    """MS-OVBA 2.4.3.3 Data Decryption; returns (Version, ProjKey, Data)."""
    encrypted = bytes.fromhex(hex_text)
    seed, version_enc, key_enc = encrypted[:3]
    unencrypted_1, encrypted_1, encrypted_2 = seed ^ key_enc, key_enc, version_enc
    plain = bytearray()
    for byte in encrypted[3:]:
        plain.append(byte ^ ((encrypted_2 + unencrypted_1) & 0xFF))
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte, plain[-1]
    ignored = (seed & 6) // 2
    (length,) = struct.unpack_from("<I", plain, ignored)
    data = bytes(plain[ignored + 4 :])
    assert len(data) == length
    return seed ^ version_enc, seed ^ key_enc, data


def _project_values(ole: olefile.OleFileIO) -> dict[str, str]:
    text = ole.openstream("PROJECT").read().decode("cp1252")
    return dict(re.findall(r'^(ID|CMG|DPB|GC)="([^"]*)"\r$', text, re.MULTILINE))


# -- compression ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "compressed"),
    [
        # MS-OVBA 3.2.1 No Compression Example
        (
            b"abcdefghijklmnopqrstuv.",
            "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F"
            " 70 00 71 72 73 74 75 76 2E",
        ),
        # MS-OVBA 3.2.2 Normal Compression Example
        (
            b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",
            "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 20"
            " 6D 6E 6F 70 06 71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C",
        ),
    ],
)
def test_spec_examples(plain: bytes, compressed: str) -> None:
    assert compress(plain) == bytes.fromhex(compressed)
    assert decompress(bytes.fromhex(compressed)) == plain


def _vba_like_text(size: int) -> bytes:
    lines = [f'    Range("A{n}").Value = Cells({n}, 2).Value * {n % 7}\r\n' for n in range(400)]
    return ("Sub Fill()\r\n" + "".join(lines)).encode()[:size]


ROUND_TRIP_CASES = {
    "empty": b"",
    "one byte": b"x",
    "exactly one chunk": _vba_like_text(4096),
    "one chunk and a byte": _vba_like_text(4097),
    "vba-like text": _vba_like_text(12000),
    "long run": b"a" * 10000,
    # Over 650 bytes with repeats longer than the maximum copy length at 10-12 offset bits.
    "long repeats late in a chunk": random.Random(7).randbytes(700) * 5,
    "period just under a chunk": (bytes(range(256)) * 15)[:3000] * 3,
    "incompressible chunks": random.Random(3).randbytes(2 * 4096),
    "incompressible chunk then text": random.Random(4).randbytes(4096) + b"End Sub\r\n" * 50,
}


@pytest.mark.parametrize("plain", ROUND_TRIP_CASES.values(), ids=ROUND_TRIP_CASES.keys())
def test_round_trip_through_oletools(plain: bytes) -> None:
    compressed = compress(plain)
    assert bytes(decompress_stream(bytearray(compressed))) == plain
    assert decompress(compressed) == plain


def test_incompressible_chunks_are_stored_raw() -> None:
    """MS-OVBA 2.4.1.3.10: header 0x3FFF (flag 0, signature 0b011, size 4095), then 4096 bytes."""
    plain = random.Random(5).randbytes(4096)
    assert compress(plain) == b"\x01" + b"\xff\x3f" + plain


def test_short_incompressible_final_chunk_is_refused() -> None:
    """A raw chunk always decompresses to 4096 bytes; padding would corrupt the text."""
    with pytest.raises(ValueError, match="raw chunk"):
        compress(random.Random(6).randbytes(4000))


def test_text_compresses_well() -> None:
    plain = _vba_like_text(12000)
    assert len(compress(plain)) < len(plain) // 3


LINES = st.lists(st.text(alphabet='ab \tSub()End"', max_size=30), min_size=100, max_size=900)


@settings(max_examples=60, deadline=None)
@given(LINES.map("\r\n".join) | st.binary(max_size=600))
def test_round_trip_generated(data: str | bytes) -> None:
    plain = data.encode() if isinstance(data, str) else data
    compressed = compress(plain)
    assert bytes(decompress_stream(bytearray(compressed))) == plain
    assert decompress(compressed) == plain


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=3, max_size=40), st.integers(2, 300), st.binary(max_size=2000))
def test_round_trip_generated_repeats(unit: bytes, times: int, prefix: bytes) -> None:
    plain = prefix + unit * times
    assert bytes(decompress_stream(bytearray(compress(plain)))) == plain


@pytest.mark.parametrize("workbook", ["quickstart.xlsm", "addin/xlwings.xlam"])
def test_decompress_agrees_with_oletools_on_excel_data(workbook: str) -> None:
    container = _vba_project_of(workbook).openstream("VBA/dir").read()
    assert decompress(container) == bytes(decompress_stream(bytearray(container)))


def test_decompress_rejects_bad_signature() -> None:
    with pytest.raises(ValueError, match="signature"):
        decompress(b"\x02\x00\xb0")


# -- project -------------------------------------------------------------------------------------


def test_oletools_reads_every_module_back() -> None:
    data = build_vba_project(MODULES, XLWINGS_WORKBOOK_REFERENCES)
    parser = VBA_Parser("vbaProject.bin", data=data, relaxed=False)
    assert parser.detect_vba_macros()
    found = {path: code for _, path, _, code in parser.extract_macros()}
    assert set(found) == {f"VBA/{m.name}" for m in MODULES}
    for module in MODULES:
        code = found[f"VBA/{module.name}"]
        assert f'Attribute VB_Name = "{module.name}"\r\n' in code
        assert filter_vba(code) == "\n".join(module.source.splitlines())


def test_document_module_headers_equal_excels() -> None:
    """ThisWorkbook and Sheet1 in quickstart.xlsm hold no code: their text is just the header."""
    quickstart = _vba_project_of("quickstart.xlsm")
    empty = [Module("ThisWorkbook", "", "workbook"), Module("Sheet1", "", "worksheet")]
    ours = olefile.OleFileIO(build_vba_project(empty, []))
    offsets = {}
    for record_id, payload in _dir_records(quickstart):
        if record_id == 0x0019:
            name = payload.decode()
        elif record_id == 0x0031:
            offsets[name] = struct.unpack("<I", payload)[0]
    for name in ("ThisWorkbook", "Sheet1"):
        stream = quickstart.openstream(f"VBA/{name}").read()[offsets[name] :]
        ours_text = decompress(ours.openstream(f"VBA/{name}").read())
        assert ours_text == bytes(decompress_stream(bytearray(stream)))


def _structure(
    ole: olefile.OleFileIO,
) -> tuple[list[int], set[tuple[int, ...]], list[int], set[tuple[int, ...]], list[int]]:
    ids = [record_id for record_id, _ in _dir_records(ole)]
    first_reference, modules_at = ids.index(0x0016), ids.index(0x000F)
    references, group = set(), []
    for record_id in ids[first_reference:modules_at]:
        group.append(record_id)
        if record_id in (0x000D, 0x000E, 0x0030):  # registered, project, end of a control reference
            references.add(tuple(group))
            group = []
    modules = set()
    for record_id in ids[modules_at + 2 : -1]:
        group.append(record_id)
        if record_id == 0x002B:
            modules.add(tuple(group))
            group = []
    assert not group
    return ids[:first_reference], references, ids[modules_at : modules_at + 2], modules, ids[-1:]


def test_dir_record_structure_mirrors_excel() -> None:
    """Compare the dir stream's record-ID structure with Excel's in xlwings' quickstart.xlsm.

    The ID sequence is cut into the PROJECTINFORMATION block, one group per reference
    (REFERENCENAME up to its reference record), the PROJECTMODULES header, one group per module
    (up to its 0x002B terminator) and the closing 0x0010. Information block, modules header and
    terminator must be identical; every distinct reference and module group of ours must occur in
    quickstart (registered 0x000D and project 0x000E references; standard 0x0021 and document
    0x0022 modules). The counts differ on purpose: quickstart also has an MSForms control reference
    that we do not need, and other modules.
    """
    info, references, header, modules, end = _structure(_built())
    excel = _structure(_vba_project_of("quickstart.xlsm"))
    q_info, q_references, q_header, q_modules, q_end = excel
    assert (info, header, end) == (q_info, q_header, q_end)
    assert references == {(0x16, 0x3E, 0x0D), (0x16, 0x3E, 0x0E)}
    assert references <= q_references
    assert len(modules) == 2
    assert modules <= q_modules


def _reference_payloads(ole: olefile.OleFileIO) -> dict[str, bytes]:
    records = _dir_records(ole)
    return {
        records[index - 2][1].decode(): payload
        for index, (record_id, payload) in enumerate(records)
        if record_id in (0x000D, 0x000E)
    }


def test_references_are_byte_equal_to_excels() -> None:
    ours = _reference_payloads(_built())
    assert list(ours) == ["stdole", "Office", "xlwings"]
    quickstart = _reference_payloads(_vba_project_of("quickstart.xlsm"))
    assert ours["Office"] == quickstart["Office"]
    assert ours["xlwings"] == quickstart["xlwings"]
    assert ours["stdole"] == _reference_payloads(_vba_project_of("addin/xlwings.xlam"))["stdole"]


def test_source_only_layout() -> None:
    ours = _built()
    vba_project = ours.openstream("VBA/_VBA_PROJECT").read()
    assert vba_project == bytes.fromhex("CC61FFFF000100")
    addin = _vba_project_of("addin/xlwings.xlam")
    assert vba_project == addin.openstream("VBA/_VBA_PROJECT").read()
    offsets = [payload for record_id, payload in _dir_records(ours) if record_id == 0x0031]
    assert offsets == [b"\0\0\0\0"] * len(MODULES)


def test_project_stream() -> None:
    ours = _built()
    text = ours.openstream("PROJECT").read().decode("cp1252")
    assert text.splitlines()[1:5] == [
        "Document=ThisWorkbook/&H00000000",
        "Document=Sheet1/&H00000000",
        "Module=Ribbon",
        "Module=Helpers",
    ]
    assert 'Name="VBAProject"\r\n' in text
    assert "[Host Extender Info]\r\n&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;" in text
    assert "\n" not in text.replace("\r\n", "")
    wm = ours.openstream("PROJECTwm").read()
    assert wm.startswith(b"ThisWorkbook\0" + "ThisWorkbook".encode("utf-16-le") + b"\0\0Sheet1\0")
    assert wm.endswith(b"Helpers\0" + "Helpers".encode("utf-16-le") + b"\0\0" + b"\0\0")


@pytest.mark.parametrize("source", ["quickstart", "ours"])
def test_protection_values_decrypt_to_an_open_project(source: str) -> None:
    """CMG/DPB/GC (MS-OVBA 2.3.1.15-17): unprotected, no password, visible; ProjKey from the ID."""
    ole = _vba_project_of("quickstart.xlsm") if source == "quickstart" else _built()
    values = _project_values(ole)
    project_key = sum(values["ID"].encode()) & 0xFF
    assert _decrypt(values["CMG"]) == (2, project_key, b"\0\0\0\0")
    assert _decrypt(values["DPB"]) == (2, project_key, b"\0")
    assert _decrypt(values["GC"]) == (2, project_key, b"\xff")


def test_build_is_reproducible() -> None:
    first = build_vba_project(MODULES, XLWINGS_WORKBOOK_REFERENCES)
    assert build_vba_project(MODULES, XLWINGS_WORKBOOK_REFERENCES) == first
    changed = (*MODULES[:-1], Module("Helpers", "' changed\n", "standard"))
    other = build_vba_project(changed, XLWINGS_WORKBOOK_REFERENCES)
    assert other != first
    assert _project_values(olefile.OleFileIO(other))["ID"] != _project_values(_built())["ID"]


def test_code_page_characters_are_kept() -> None:
    data = build_vba_project([Module("Module1", "' Préférence: 5 €\n", "standard")], [STDOLE])
    ((_, _, _, code),) = VBA_Parser("vbaProject.bin", data=data, relaxed=False).extract_macros()
    assert filter_vba(code) == "' Préférence: 5 €"


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        ([Module("Module1", 'MsgBox "✓"\n', "standard")], "VBA source should be ASCII"),
        ([Module("Module1", 'Attribute VB_Name = "X"\n', "standard")], "Attribute VB_"),
        ([Module("1st", "", "standard")], "not usable"),
        ([Module("dir", "", "standard")], "not usable"),
        ([Module("A" * 32, "", "standard")], "not usable"),
        ([Module("Tools", "", "standard"), Module("TOOLS", "", "standard")], "ignoring case"),
    ],
)
def test_bad_input_fails_clearly(modules: list[Module], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_vba_project(modules, [STDOLE, OFFICE])
