"""The Evaluate and Check buttons end to end, against the in-memory xlwings fake (tests/fake_xlwings.py).

The live adapter must produce what the file path produces from the same workbook — the same
decision, the same Approval cells, formats, merges and heights, the same audit row — in a fixed,
small number of calls to Excel.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_xlwings import FakeBook, InjectedFailure
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.core.records import error, text
from creditbook.excel import MAX_LISTED, check_book, evaluate_book, problems
from creditbook.workbook.approval import FIRST_COLUMN, LAST_COLUMN, SNAPSHOT_COLUMN
from creditbook.workbook.evaluate import evaluate_workbook
from creditbook.workbook.layout import (
    ANNEX_SHEET,
    APPROVAL_SHEET,
    AUDIT_HEADER_ROW,
    AUDIT_SHEET,
    CONSUMPTION,
    PROFILE,
)
from creditbook.workbook.session import officials

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "workbook" / "examples").glob("*.xlsm"))
LISTED = ROOT / "workbook" / "examples" / "listed_company.xlsm"
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
BY = "tester"
# Calls to Excel per evaluation, whatever the length of the application. Measured on the example
# workbooks: 11 reads (one per input block, Policy extent + rows, Prices, the Approval, Annex and
# AuditLog extents) and about 95 writes: the Approval 59-62 (values 3, formats about 31, merges 2-3,
# row heights about 14, protection 4, clear and print area 2, page breaks: one to reset, one per
# page after the first, print titles 1) and the Annex about 38 (the same kinds of call for its
# clauses, its English beside the Chinese in a format of its own, row heights fitted to each
# paragraph, with its own protection). A per-cell writer would need thousands. The budget is per
# evaluation plus one call per manual page break on either sheet.
READS_BUDGET = 12
WRITES_BUDGET = 100


def evaluated(source: Path | bytes, **fake: Any) -> tuple[FakeBook, Any]:
    book = FakeBook(source, **fake)
    return book, evaluate_book(book, evaluated_at=AT, evaluated_by=BY)


def by_file(path: Path) -> tuple[Any, Workbook]:
    result = evaluate_workbook(path, officials=officials(()), evaluated_by=BY, evaluated_at=AT)
    assert result.workbook is not None, result.issues
    return result, load_workbook(io.BytesIO(result.workbook), keep_vba=True)


def values(ws: Worksheet) -> dict[str, Any]:
    """Every non-empty cell of the approval (B..F) and of its snapshot (J..K)."""
    columns = [*range(FIRST_COLUMN, LAST_COLUMN + 1), SNAPSHOT_COLUMN, SNAPSHOT_COLUMN + 1]
    return {
        ws.cell(row, column).coordinate: ws.cell(row, column).value
        for row in range(1, ws.max_row + 1)
        for column in columns
        if ws.cell(row, column).value is not None
    }


def looks(ws: Worksheet, rows: int) -> dict[str, tuple[Any, ...]]:
    """What each approval cell looks like (merged-over cells show their top-left cell)."""
    shown = {}
    for row in range(1, rows + 1):
        for column in range(FIRST_COLUMN, LAST_COLUMN + 1):
            cell = ws.cell(row, column)
            if isinstance(cell, MergedCell):
                continue
            font, fill, alignment, side = cell.font, cell.fill, cell.alignment, cell.border.left
            shown[cell.coordinate] = (
                font.name,
                font.sz,
                bool(font.b),
                bool(font.i),
                font.color.rgb if font.color else None,
                fill.fgColor.rgb if fill.fill_type else None,
                bool(alignment.wrap_text),
                alignment.horizontal,
                alignment.vertical,
                side.style if side else None,
                side.color.rgb if side and side.color else None,
                cell.protection.locked,
                cell.number_format,
            )
    return shown


def layout(ws: Worksheet, rows: int) -> tuple[Any, ...]:
    """Merges, row heights, print area, manual page breaks and print titles."""
    heights = {row: ws.row_dimensions[row].height for row in range(1, rows + 1)}
    breaks = [(b.id, b.man) for b in ws.row_breaks.brk]
    merged = {str(merged) for merged in ws.merged_cells.ranges}
    return merged, heights, ws.print_area, breaks, ws.print_title_rows


def audit_rows(ws: Worksheet) -> list[tuple[Any, ...]]:
    return [
        row
        for row in ws.iter_rows(min_row=AUDIT_HEADER_ROW + 1, values_only=True)
        if any(value is not None for value in row)
    ]


def last_alert(book: FakeBook) -> str:
    prompt, _, _ = book.app.alerts[-1]
    return prompt


# ------------------------------------------------------------------ the same approval


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_live_approval_is_the_file_approval(path: Path) -> None:
    book, outcome = evaluated(path)
    result, file_wb = by_file(path)
    live_wb = book.saved()

    assert outcome.decision == result.decision
    assert outcome.annex is not None
    for sheet, plan in ((APPROVAL_SHEET, outcome.plan), (ANNEX_SHEET, outcome.annex)):
        live, filed = live_wb[sheet], file_wb[sheet]
        rows = len(plan.lines)
        assert values(live) == values(filed), sheet
        assert layout(live, rows) == layout(filed, rows), sheet
        assert looks(live, rows) == looks(filed, rows), sheet
    assert live_wb[ANNEX_SHEET].protection.sheet
    assert audit_rows(live_wb[AUDIT_SHEET]) == audit_rows(file_wb[AUDIT_SHEET])
    assert live.protection.sheet and live_wb[AUDIT_SHEET].protection.sheet
    assert "Decision" in last_alert(book)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_an_evaluation_takes_a_fixed_small_number_of_calls(path: Path) -> None:
    book, outcome = evaluated(path)

    assert outcome.plan is not None
    assert book.calls.reads <= READS_BUDGET, book.calls.log
    breaks = len(outcome.plan.row_breaks) + len(outcome.annex.row_breaks)
    assert book.calls.writes <= WRITES_BUDGET + breaks, book.calls.log


def test_text_that_looks_like_a_formula_or_number_stays_text() -> None:
    book = FakeBook(LISTED)
    profile = book.workbook[PROFILE.name]
    name = profile[PROFILE.form.cell("customer_name")]
    name.value, name.data_type = "=1+1", "s"
    profile[PROFILE.form.cell("sales_owner")] = "007"
    evaluate_book(book, evaluated_at=AT, evaluated_by=BY)

    approval = book.saved()[APPROVAL_SHEET]
    shown = {cell.value: cell.data_type for row in approval.iter_rows() for cell in row}
    assert shown["=1+1"] == "s"
    assert shown["007"] == "s"


# ------------------------------------------------------------------ input errors


@pytest.mark.parametrize(
    ("key", "typed", "cell"),
    [
        ("credit_code", "91110000802100433X", "Profile!C6"),
        ("requested_limit", "#REF!", "Profile!C21"),
    ],
)
def test_an_input_error_writes_nothing_and_names_the_cell(key: str, typed: str, cell: str) -> None:
    book = FakeBook(LISTED)
    book.workbook[PROFILE.name][PROFILE.form.cell(key)] = typed
    before = book.saved()

    outcome = evaluate_book(book, evaluated_at=AT, evaluated_by=BY)

    assert outcome.decision is None
    assert book.calls.writes == 0
    after = book.saved()
    assert values(after[APPROVAL_SHEET]) == values(before[APPROVAL_SHEET])
    assert audit_rows(after[AUDIT_SHEET]) == audit_rows(before[AUDIT_SHEET]) == []
    prompt, _, mode = book.app.alerts[-1]
    assert cell in prompt and mode == "critical"
    assert cell in {issue.location for issue in outcome.issues}


def test_a_long_problem_list_is_cut_after_a_screenful() -> None:
    issues = [error(("profile", f"f{index}"), "错", "wrong") for index in range(MAX_LISTED + 5)]

    prompt = problems(text("标题", "Heading"), issues)

    assert prompt.count("wrong") == MAX_LISTED
    assert "… and 5 more" in prompt


# ------------------------------------------------------------------ audit log


def test_each_evaluation_replaces_the_approval_and_appends_one_audit_row() -> None:
    book = FakeBook(LISTED)
    evaluate_book(book, evaluated_at=AT, evaluated_by=BY)
    first = audit_rows(book.saved()[AUDIT_SHEET])
    later = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    outcome = evaluate_book(book, evaluated_at=later, evaluated_by="second")

    saved = book.saved()
    rows = audit_rows(saved[AUDIT_SHEET])
    assert len(first) == 1 and len(rows) == 2
    assert rows[0] == first[0]
    assert rows[1][1:3] == (later.isoformat(), "second")
    result = evaluate_workbook(
        LISTED, officials=officials(()), evaluated_by="second", evaluated_at=later
    )
    assert result.workbook is not None
    filed = load_workbook(io.BytesIO(result.workbook))[APPROVAL_SHEET]
    lines = len(outcome.plan.lines)
    assert values(saved[APPROVAL_SHEET]) == values(filed)
    assert layout(saved[APPROVAL_SHEET], lines) == layout(filed, lines)


# ------------------------------------------------------------------ failure while writing


@pytest.mark.parametrize("failing_call", [1, 8, 25])
def test_a_failure_while_writing_leaves_only_an_error_banner(failing_call: int) -> None:
    book = FakeBook(LISTED, fail_at_format=failing_call)
    with pytest.raises(InjectedFailure):
        evaluate_book(book, evaluated_at=AT, evaluated_by=BY)

    saved = book.saved()
    approval = saved[APPROVAL_SHEET]
    left = [cell for row in approval.iter_rows() for cell in row if cell.value is not None]
    assert [cell.coordinate for cell in left] == ["B1"]
    assert "The approval was not written" in left[0].value
    assert not approval.merged_cells.ranges
    assert audit_rows(saved[AUDIT_SHEET]) == []
    assert approval.protection.sheet and saved[AUDIT_SHEET].protection.sheet
    prompt, _, mode = book.app.alerts[-1]
    assert "InjectedFailure" in prompt and mode == "critical"


# ------------------------------------------------------------------ tables grown by finance


def test_a_table_extended_beyond_its_template_capacity_is_read_completely(
    tmp_path: Path,
) -> None:
    (table,) = CONSUMPTION.tables
    lines = table.capacity + 5
    wb = load_workbook(LISTED, keep_vba=True)
    ws = wb[CONSUMPTION.name]
    first = [
        ws.cell(table.first_data_row, table.first_column + i).value
        for i in range(len(table.columns))
    ]
    for row in range(table.first_data_row, table.first_data_row + lines):
        for offset, value in enumerate(first):
            ws.cell(row, table.first_column + offset, value)
    last_column = table.letter(len(table.columns) - 1)
    last_row = table.header_row + lines
    ws.tables[table.name].ref = f"{table.letter(0)}{table.header_row}:{last_column}{last_row}"
    extended = tmp_path / "extended.xlsm"
    wb.save(extended)

    book, outcome = evaluated(extended)
    result, _ = by_file(extended)

    paths = {path for path, _ in outcome.plan.snapshot}
    assert f"application.consumption[{lines - 1}].model" in paths
    assert f"application.consumption[{lines}].model" not in paths
    assert outcome.decision == result.decision
    assert book.calls.reads <= READS_BUDGET
    assert book.calls.writes <= WRITES_BUDGET + len(outcome.plan.row_breaks)


# ------------------------------------------------------------------ check


def test_check_on_a_good_workbook_writes_nothing_and_says_ok() -> None:
    book = FakeBook(LISTED)

    issues = check_book(book)

    assert issues == []
    assert book.calls.writes == 0
    assert last_alert(book).startswith("OK")


def test_check_lists_the_problem_cells() -> None:
    book = FakeBook(LISTED)
    book.workbook[PROFILE.name][PROFILE.form.cell("requested_limit")] = "#REF!"

    issues = check_book(book)

    assert [issue.location for issue in issues] == ["Profile!C21"]
    assert "Profile!C21" in last_alert(book) and book.calls.writes == 0


# ------------------------------------------------------------------ the fake itself


def test_the_fake_reads_like_xlwings() -> None:
    book = FakeBook(LISTED)
    profile = book.sheets[PROFILE.name]
    book.workbook[PROFILE.name]["C21"] = "#REF!"

    assert profile.range("C21").value is None
    assert profile.range("C21").options(ndim=2, err_to_str=True).value == [["#REF!"]]
    relationship = profile.range(PROFILE.form.cell("relationship_months")).value
    assert isinstance(relationship, float)
    assert isinstance(profile.range(PROFILE.form.cell("application_date")).value, datetime)
    with pytest.raises(PermissionError):
        profile.range("C5").value = "x"
