"""The package writer puts any Plan on any sheet: an existing one, or a new one it registers in the
workbook (sheet entry, relationship, content type). Checked by reading the result back with openpyxl
and LibreOffice, on one of our workbooks and on a plain workbook without our named styles."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from lo import convert, needs_soffice
from openpyxl.utils.exceptions import IllegalCharacterError as OpenpyxlRefuses

from creditbook.workbook.approval import Cell, Line, Plan
from creditbook.workbook.package_reader import Book
from creditbook.workbook.package_writer import Editor
from creditbook.workbook.xlsm.opc import Package
from creditbook.workbook.xlsm.sheetml import IllegalCharacterError

ROOT = Path(__file__).resolve().parents[2]
LISTED = ROOT / "workbook" / "examples" / "listed_company.xlsm"
ANNEX = "Schedule"  # a sheet the template does not have


def plan() -> Plan:
    lines = [
        Line((Cell("合同附表 Contract annex", "cb_title"),), span=True, height=28),
        Line((Cell("客户 Customer", "cb_label"), Cell('=HYPERLINK("x")', "cb_output")), False, 18),
        Line(
            (Cell("日期 Date", "cb_label"), Cell(date(2026, 12, 1), "cb_output", "yyyy-mm-dd")),
            False,
            18,
        ),
        Line(
            (Cell("额度 Limit", "cb_label"), Cell(800000.0, "cb_figure", '"¥"#,##0.00')), True, 18
        ),
        Line((Cell("批准 Approved", "cb_label"), Cell(True, "cb_badge_prepaid")), False, 18),
        Line((Cell(None, "cb_intro"),), False, 18),
    ]
    return Plan(lines=lines, snapshot=[("annex.key", "=1+1")], row_breaks=[3], title_rows=(1, 2))


def edit(data: bytes) -> Editor:
    return Editor(Book(Package(data)))


def test_a_plan_on_a_new_sheet_is_registered_and_reads_back(tmp_path: Path) -> None:
    editor = edit(LISTED.read_bytes())
    editor.write_plan(ANNEX, plan(), code_name="shAnnex")
    out = tmp_path / "annex.xlsm"
    out.write_bytes(editor.to_bytes())
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert (
        wb.sheetnames[-1] == ANNEX
        and wb.sheetnames[:-1] == openpyxl.load_workbook(LISTED).sheetnames
    )
    ws = wb[ANNEX]
    assert ws["B1"].value == "合同附表 Contract annex" and ws["B1"].style == "cb_title"
    assert (ws["C2"].value, ws["C2"].data_type, ws["C2"].quotePrefix) == (
        '=HYPERLINK("x")',
        "s",
        True,
    )
    assert ws["C3"].value.date() == date(2026, 12, 1) and ws["C3"].number_format == "yyyy-mm-dd"
    assert (ws["C4"].value, ws["C4"].number_format) == (800000, '"¥"#,##0.00')
    assert ws["C5"].value is True and ws["C5"].style == "cb_badge_prepaid"
    assert "C4:F4" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.row_dimensions[1].height == 28
    assert [brk.id for brk in ws.row_breaks.brk] == [3]
    assert ws.print_title_rows == "$1:$2"
    assert ws.print_area == f"'{ANNEX}'!$B$1:$F$6"
    assert ws.sheet_properties.codeName == "shAnnex"
    assert ws.column_dimensions["J"].hidden and ws["J1"].value == "annex.key"
    with zipfile.ZipFile(out) as archive:
        types = archive.read("[Content_Types].xml").decode()
        sheet_parts = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    with zipfile.ZipFile(LISTED) as archive:
        before = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheet_parts) == len(before) + 1 and f"/{sheet_parts[-1]}" in types


def test_writing_again_reuses_the_formats_and_never_renumbers_them() -> None:
    editor = edit(LISTED.read_bytes())
    editor.write_plan(ANNEX, plan())
    once = editor.to_bytes()
    again = edit(once)
    again.write_plan(ANNEX, plan())
    twice = again.to_bytes()

    def formats(data: bytes) -> list[str]:
        styles = zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode()
        return re.findall(r"<xf [^>]*>", styles.split("<cellXfs")[1].split("</cellXfs>")[0])

    original = formats(LISTED.read_bytes())
    assert formats(once)[: len(original)] == original  # appended, never renumbered
    assert formats(twice) == formats(once)  # the same plan needs no new format


def test_a_workbook_without_our_named_styles_gets_them_appended(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "other"
    wb.save(plain)
    editor = edit(plain.read_bytes())
    editor.write_plan(ANNEX, plan())
    out = tmp_path / "plain-annex.xlsx"
    out.write_bytes(editor.to_bytes())
    back = openpyxl.load_workbook(out)
    assert {"cb_title", "cb_label", "cb_badge_prepaid"} <= set(back.named_styles)
    title = back[ANNEX]["B1"]
    assert (title.style, title.font.b, title.font.sz) == ("cb_title", True, 16)
    assert back["Sheet"]["A1"].value == "other"


def test_text_a_worksheet_cannot_hold_is_refused_as_openpyxl_refuses_it() -> None:
    editor = edit(LISTED.read_bytes())
    bad = Plan(lines=[Line((Cell("bell \x07"),), False, 18)])
    with pytest.raises(IllegalCharacterError):
        editor.write_plan(ANNEX, bad)
    with pytest.raises(OpenpyxlRefuses):
        openpyxl.Workbook().active["A1"] = "bell \x07"


@needs_soffice
def test_libreoffice_shows_the_new_sheet(tmp_path: Path) -> None:
    editor = edit(LISTED.read_bytes())
    editor.write_plan(ANNEX, plan())
    out = tmp_path / "annex.xlsm"
    out.write_bytes(editor.to_bytes())
    saved = convert(out, "xlsx", tmp_path / "lo")
    ws = openpyxl.load_workbook(saved)[ANNEX]
    assert ws["B1"].value == "合同附表 Contract annex"
    assert ws["C2"].value == '=HYPERLINK("x")'
