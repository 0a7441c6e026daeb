"""Evaluate writes only what it owns: a workbook carrying the parts real Excel adds (sensitivity
label, picture and shape, printer settings, dynamic-array metadata, a task pane, a note with a
threaded comment, custom XML; see tests/excel_parts.py) comes out of `creditbook evaluate --out`
and `--in-place` with every other zip member byte for byte as it went in, in the same order."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest
from cli_run import run_creditbook, run_evaluate
from excel_parts import with_excel_parts
from lo import convert, needs_soffice

from creditbook.workbook.layout import ANNEX_SHEET, APPROVAL_SHEET, AUDIT_HEADER_ROW, AUDIT_SHEET
from creditbook.workbook.xlsm.opc import Package

ROOT = Path(__file__).resolve().parents[2]
LISTED = ROOT / "workbook" / "examples" / "listed_company.xlsm"


def part_of(sheet: str) -> str:
    """The worksheet part the example's sheet of that name is stored in."""
    found = next(s.part for s in Package(LISTED.read_bytes()).sheets() if s.name == sheet)
    assert found is not None
    return found


# What evaluate owns here: the Approval, Annex and AuditLog sheets, the formats it appends, the
# print areas
OWNED = {
    *(part_of(sheet) for sheet in (APPROVAL_SHEET, ANNEX_SHEET, AUDIT_SHEET)),
    "xl/styles.xml",
    "xl/workbook.xml",
}


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def audit_row_xml(path: Path, row: int) -> bytes:
    sheet = members(path)[part_of(AUDIT_SHEET)]
    start = sheet.index(f'<row r="{row}"'.encode())
    return sheet[start : sheet.index(b"</row>", start) + len(b"</row>")]


@pytest.fixture(scope="module")
def with_parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    folder = tmp_path_factory.mktemp("excel-parts")
    source = folder / "listed_company.xlsm"
    added = with_excel_parts(LISTED, source)
    return source, added


def assert_only_owned_changed(before: Path, after: Path, *, written: set[str]) -> None:
    old, new = members(before), members(after)
    assert list(new) == list(old), "members added, dropped or reordered"
    changed = {name for name in old if old[name] != new[name]}
    assert changed <= OWNED, f"rewritten although not ours: {sorted(changed - OWNED)}"
    assert changed >= {part_of(sheet) for sheet in written}
    for name in changed:
        ET.fromstring(new[name])  # the owned parts are well-formed XML


@pytest.mark.parametrize("mode", ["--out", "--in-place"])
def test_every_part_not_ours_keeps_its_bytes(
    with_parts: tuple[Path, set[str]], tmp_path: Path, mode: str
) -> None:
    source, added = with_parts
    work = tmp_path / "in"
    work.mkdir()
    shutil.copyfile(source, work / source.name)
    args = ["--out", tmp_path / "out"] if mode == "--out" else ["--in-place"]
    result = run_evaluate(work / source.name, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "out" / source.name if mode == "--out" else work / source.name
    assert_only_owned_changed(source, output, written={APPROVAL_SHEET, AUDIT_SHEET})
    assert added <= set(members(output))
    verified = run_creditbook("verify", output, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_excel_root_of_an_owned_sheet_stays_and_its_printer_settings_too(
    with_parts: tuple[Path, set[str]], tmp_path: Path
) -> None:
    source, _ = with_parts
    result = run_evaluate(source, "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    old, new = members(source), members(tmp_path / source.name)
    approval_old, approval_new = old["xl/worksheets/sheet7.xml"], new["xl/worksheets/sheet7.xml"]
    root = approval_old[: approval_old.index(b">") + 1]
    assert approval_new.startswith(root)  # mc:Ignorable and the prefixes it names are kept
    assert b'<pageSetup r:id="rId1" ' in approval_new
    assert new["xl/worksheets/_rels/sheet7.xml.rels"] == old["xl/worksheets/_rels/sheet7.xml.rels"]
    wb = openpyxl.load_workbook(tmp_path / source.name)
    assert wb[APPROVAL_SHEET]["B1"].value == "授信审批单 Credit approval"
    assert wb[APPROVAL_SHEET].column_dimensions["J"].hidden


def test_evaluating_again_appends_a_row_and_keeps_the_first_byte_for_byte(
    with_parts: tuple[Path, set[str]], tmp_path: Path
) -> None:
    source, _ = with_parts
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_evaluate(source, "--out", first, cwd=tmp_path).returncode == 0
    assert run_evaluate(first / source.name, "--out", second, cwd=tmp_path).returncode == 0
    row = AUDIT_HEADER_ROW + 1
    assert audit_row_xml(second / source.name, row) == audit_row_xml(first / source.name, row)
    ws = openpyxl.load_workbook(second / source.name)[AUDIT_SHEET]
    rows = [r for r in ws.iter_rows(min_row=row, values_only=True) if any(r)]
    assert len(rows) == 2
    # Evaluated again within the same second, the Approval may come out byte-identical (it is
    # deterministic); the audit log always gains its row.
    assert_only_owned_changed(first / source.name, second / source.name, written={AUDIT_SHEET})


@needs_soffice
def test_libreoffice_opens_the_evaluated_file_and_shows_the_approval(
    with_parts: tuple[Path, set[str]], tmp_path: Path
) -> None:
    source, _ = with_parts
    assert run_evaluate(source, "--out", tmp_path / "out", cwd=tmp_path).returncode == 0
    saved = convert(tmp_path / "out" / source.name, "xlsx", tmp_path / "lo")
    ws = openpyxl.load_workbook(saved)[APPROVAL_SHEET]
    shown = {cell.value for row in ws.iter_rows(max_col=6) for cell in row}
    assert "授信审批单 Credit approval" in shown
    assert "批准 / Approve" in shown
