"""The openpyxl adapter: input cell values in and out of a workbook file, through the layout."""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.core.records import Issue, Lang, error, warning
from creditbook.workbook.approval import FIRST_COLUMN, SNAPSHOT_COLUMN, Plan
from creditbook.workbook.cells import CellValue, SheetValues
from creditbook.workbook.decide import (
    PolicyRow,
    WorkbookInputs,
    inputs_from,
    policy_rows,
    price_rows,
)
from creditbook.workbook.file_io import refused, unreadable_workbook
from creditbook.workbook.intake import check_workbook_file
from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    AUDIT_FIRST_COLUMN,
    AUDIT_HEADER_ROW,
    AUDIT_SHEET,
    CONF_SHEET,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    LANGUAGE_KEY,
    LANGUAGE_KEY_CELL,
    POLICY_FIRST_ROW,
    POLICY_PATH_COLUMN,
    POLICY_SHEET,
    PRICES_SHEET,
    PRICES_TABLE,
    InputSheet,
    Table,
    column_letter,
)

FORMULA_STARTS = ("=", "+", "-", "@")
# Rows read below a table's header or the Policy sheet's first row. Reading a range makes openpyxl
# create every cell in it, so a range stretched to row 1,048,576 would take gigabytes.
MAX_ROWS = 10_000


def _merged_value(ws: Worksheet, coordinate: str) -> CellValue:
    """A cell's value; inside a merged range, the value of the range's top-left cell."""
    for merged in ws.merged_cells.ranges:
        if coordinate in merged:
            value: Any = ws.cell(merged.min_row, merged.min_col).value
            return value  # type: ignore[no-any-return]
    value = ws[coordinate].value
    return value  # type: ignore[no-any-return]


def _last_row(ws: Worksheet, first: int, last: int, place: str) -> int:
    """The last row to read: `last`, but not below the sheet's last cell; at most MAX_ROWS rows."""
    last = min(last, max(ws.max_row, first))
    if last - first + 1 > MAX_ROWS:
        raise refused(
            ws.title,
            f"{place} 延伸到第 {last:,} 行，超过 {MAX_ROWS:,} 行的上限：请删除下方多余的行",
            f"{place} reaches row {last:,}, beyond the limit of {MAX_ROWS:,} rows: "
            "delete the surplus rows below",
        )
    return last


def table_span(ws: Worksheet, table: Table) -> tuple[int, int]:
    """First and last data row of an Excel table as it is now (finance may have extended it)."""
    last = table.header_row + table.capacity
    if table.name in ws.tables:
        ref = ws.tables[table.name].ref
        try:
            last = max(range_boundaries(ref)[3] or 0, table.first_data_row)
        except (TypeError, ValueError):
            raise refused(
                ws.title,
                f"表 {table.name} 的范围 {ref!r} 不是单元格区域",
                f"table {table.name}'s range {ref!r} is not a cell range",
            ) from None
    place = f"{ws.title}!{table.letter(0)}{table.header_row} {table.name}"
    return table.first_data_row, _last_row(ws, table.first_data_row, last, place)


def table_rows(ws: Worksheet, table: Table) -> list[tuple[int, list[CellValue]]]:
    """Data rows of an Excel table, from its header to its last row with cells."""
    first, last = table_span(ws, table)
    width = len(table.columns)
    rows = ws.iter_rows(
        min_row=first,
        max_row=last,
        min_col=table.first_column,
        max_col=table.first_column + width - 1,
        values_only=True,
    )
    return [
        (first + offset, list(cast(tuple[CellValue, ...], values)))
        for offset, values in enumerate(rows)
    ]


def read_sheet_values(wb: Workbook) -> dict[str, SheetValues]:
    values = {}
    for sheet in INPUT_SHEETS:
        if sheet.name not in wb.sheetnames:
            continue
        ws = wb[sheet.name]
        read = SheetValues()
        if sheet.form:
            read.form = [_merged_value(ws, sheet.form.cell(field)) for field in sheet.form.fields]
        read.tables = {table.name: table_rows(ws, table) for table in sheet.tables}
        values[sheet.name] = read
    return values


def write_text_safe(cell: Cell | MergedCell, value: CellValue) -> None:
    """Write a value; user text that looks like a formula stays text."""
    if isinstance(cell, MergedCell):
        raise ValueError(f"{cell.coordinate} is inside a merged range")
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def append_row(ws: Worksheet, values: Sequence[CellValue]) -> None:
    """`Worksheet.append`, keeping text that looks like a formula as text: a customer named
    `=HYPERLINK(…)` in an evaluated workbook must not become a live formula in a register."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type, cell.quotePrefix = "s", True


def write_sheet_values(
    wb: Workbook, values: Mapping[str, SheetValues], sheets: Sequence[InputSheet] = INPUT_SHEETS
) -> None:
    """Fill input cells; each table is cleared, then grows (with its Excel range) to fit every row."""
    for sheet in sheets:
        ws = wb[sheet.name]
        sheet_values = values[sheet.name]
        if sheet.form:
            for field, value in zip(sheet.form.fields, sheet_values.form, strict=True):
                write_text_safe(ws[sheet.form.cell(field)], value)
        for table in sheet.tables:
            for row_number, row in table_rows(ws, table):
                for position in range(len(row)):
                    ws[f"{table.letter(position)}{row_number}"].value = None
            rows = sheet_values.tables.get(table.name, [])
            for row_number, row in rows:
                for position, value in enumerate(row):
                    write_text_safe(ws[f"{table.letter(position)}{row_number}"], value)
            last = max([table.header_row + table.capacity, *(row_number for row_number, _ in rows)])
            end = table.letter(len(table.columns) - 1)
            ws.tables[table.name].ref = f"{table.letter(0)}{table.header_row}:{end}{last}"


def _policy_last_row(ws: Worksheet) -> int:
    return _last_row(ws, POLICY_FIRST_ROW, ws.max_row, f"{POLICY_SHEET}!B{POLICY_FIRST_ROW}")


def _prices_span(ws: Worksheet) -> tuple[int, int, int | None, int | None]:
    """First row, last row, first and last column of the Prices table (its header included)."""
    first_column, top, last_column, bottom = range_boundaries(ws.tables[PRICES_TABLE].ref)
    last = _last_row(ws, top or 1, bottom or ws.max_row, f"{PRICES_SHEET}!{PRICES_TABLE}")
    return top or 1, last, first_column, last_column


def read_policy_rows(wb: Workbook) -> list[PolicyRow] | None:
    """(row, path, value) rows of the Policy sheet, or None when the workbook has none."""
    if POLICY_SHEET not in wb.sheetnames:
        return None
    ws = wb[POLICY_SHEET]
    rows = ws.iter_rows(
        min_row=POLICY_FIRST_ROW,
        max_row=_policy_last_row(ws),
        min_col=POLICY_PATH_COLUMN,
        max_col=POLICY_PATH_COLUMN + 1,
        values_only=True,
    )
    return policy_rows(list(rows), POLICY_FIRST_ROW)


def read_price_rows(wb: Workbook) -> list[dict[str, CellValue]] | None:
    """Rows of the Prices table as column → value, or None when the workbook has none."""
    if PRICES_SHEET not in wb.sheetnames or PRICES_TABLE not in wb[PRICES_SHEET].tables:
        return None
    first_row, last_row, first_column, last_column = _prices_span(wb[PRICES_SHEET])
    rows = wb[PRICES_SHEET].iter_rows(
        first_row, last_row, first_column, last_column, values_only=True
    )
    return price_rows([list(cast(tuple[CellValue, ...], row)) for row in rows])


def load(path: Path, *, data_only: bool = True) -> Workbook:
    """Open a workbook file for reading; an unusable file is an InputError naming it.

    The file is checked first (`creditbook.workbook.intake`); whatever openpyxl still cannot parse in a
    damaged or hostile package is reported as an unreadable workbook, never as a crash."""
    check_workbook_file(path)
    try:
        with warnings.catch_warnings():
            # openpyxl's notes to developers (a date serial out of range becomes an error cell,
            # which the reader then reports at its cell; extensions it does not read)
            warnings.simplefilter("ignore")
            wb = load_workbook(path, data_only=data_only, keep_vba=True)
    except Exception as exc:  # any parser failure on a foreign file is a fault of the file
        raise unreadable_workbook(path, exc) from None
    _kept_parts_read_only(wb)
    return wb


def from_bytes(data: bytes) -> Workbook:
    """A workbook of our own making (the template), opened for filling in."""
    wb = load_workbook(io.BytesIO(data), keep_vba=True)
    _kept_parts_read_only(wb)
    return wb


def _kept_parts_read_only(wb: Workbook) -> None:
    """openpyxl keeps the parts it does not parse (VBA, ribbon) in a zip opened for appending over
    a BytesIO. When the garbage collector finalizes the buffer first, the zip's own finalizer fails
    while writing its directory and prints a traceback. A read-only copy has nothing to write."""
    kept = wb.vba_archive
    if kept is None or kept.fp is None:
        return
    buffer = cast(io.BytesIO, kept.fp)
    kept.close()  # writes the directory into the buffer, which the zip does not own and keeps open
    wb.vba_archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def read_language(wb: Workbook) -> CellValue:
    """The config sheet's language cell (None when the workbook has no config sheet)."""
    if CONF_SHEET not in wb.sheetnames:
        return None
    value: CellValue = wb[CONF_SHEET][LANGUAGE_CELL].value
    return value


def write_language(wb: Workbook, lang: Lang) -> None:
    """Remember the language of the workbook's documents (the Evaluate button uses it)."""
    ws = wb[CONF_SHEET]
    ws[LANGUAGE_KEY_CELL], ws[LANGUAGE_CELL] = LANGUAGE_KEY, lang


def read_inputs(wb: Workbook) -> WorkbookInputs:
    return inputs_from(
        read_sheet_values(wb), read_policy_rows(wb), read_price_rows(wb), read_language(wb)
    )


def write_approval(wb: Workbook, plan: Plan) -> None:
    """Replace the Approval sheet's content with the plan (page setup and protection stay)."""
    ws = wb[APPROVAL_SHEET]
    for merged in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(merged))
    for cells in ws.iter_rows():
        for cell in cells:
            cell.value = None
            cell.style = "Normal"
    for dimension in ws.row_dimensions.values():
        dimension.height = None
    for row, line in enumerate(plan.lines, start=1):
        for offset, planned in enumerate(line.cells):
            cell = ws.cell(row, FIRST_COLUMN + offset)
            write_text_safe(cell, planned.value)
            cell.style = planned.style
            if planned.number_format:
                cell.number_format = planned.number_format
        if line.merged_columns:
            _merge(ws, row, *line.merged_columns)
        if line.height:
            ws.row_dimensions[row].height = line.height
    for row, (key, value) in enumerate(plan.snapshot, start=1):
        ws.cell(row, SNAPSHOT_COLUMN, key)
        write_text_safe(ws.cell(row, SNAPSHOT_COLUMN + 1), value)
    ws.print_area = plan.print_area


def _merge(ws: Worksheet, row: int, first: int, last: int) -> None:
    """Merge a row's cells; covered cells wear the anchor's style, so borders show all along.

    Cheaper than `Worksheet.merge_cells`, which re-derives every covered cell's borders."""
    anchor = ws.cell(row, first)
    for column in range(first + 1, last + 1):
        ws.cell(row, column).style = anchor.style
    ws.merged_cells.add(MergedCellRange(ws, f"{anchor.coordinate}:{column_letter(last)}{row}"))


def append_audit(wb: Workbook, row: Sequence[CellValue]) -> None:
    """Add a row below the last one; earlier rows are never touched."""
    ws = wb[AUDIT_SHEET]
    target = max(ws.max_row, AUDIT_HEADER_ROW) + 1
    for offset, value in enumerate(row):
        write_text_safe(ws.cell(target, AUDIT_FIRST_COLUMN + offset), value)


def read_snapshot(wb: Workbook) -> dict[str, CellValue]:
    """The audit snapshot an earlier evaluation left on the Approval sheet (empty if none)."""
    if APPROVAL_SHEET not in wb.sheetnames:
        return {}
    ws = wb[APPROVAL_SHEET]
    rows = ws.iter_rows(min_col=SNAPSHOT_COLUMN, max_col=SNAPSHOT_COLUMN + 1, values_only=True)
    return {str(key): cast(CellValue, value) for key, value in rows if key is not None}


BOOLEAN_FORMULAS = {"=TRUE()": True, "=FALSE()": False}  # how LibreOffice saves TRUE and FALSE


def _read_ranges(wb: Workbook) -> Iterator[Iterable[Cell | MergedCell]]:
    """Every cell creditbook reads: input forms and tables, the Policy values, the Prices table."""
    for sheet in INPUT_SHEETS:
        if sheet.name not in wb.sheetnames:
            continue
        ws = wb[sheet.name]
        if sheet.form:
            yield (ws[sheet.form.cell(field)] for field in sheet.form.fields)
        for table in sheet.tables:
            first, last = table_span(ws, table)
            right = table.first_column + len(table.columns) - 1
            yield from ws.iter_rows(first, last, table.first_column, right)
    if POLICY_SHEET in wb.sheetnames:
        ws, column = wb[POLICY_SHEET], POLICY_PATH_COLUMN + 1
        rows = ws.iter_rows(POLICY_FIRST_ROW, _policy_last_row(ws), column, column)
        yield (row[0] for row in rows)
    if PRICES_SHEET in wb.sheetnames and PRICES_TABLE in wb[PRICES_SHEET].tables:
        ws = wb[PRICES_SHEET]
        yield from ws.iter_rows(*_prices_span(ws))


def freeze_formulas(wb: Workbook, path: Path) -> list[Issue]:
    """Put the value of each formula in a cell creditbook reads in place of the formula.

    An evaluated workbook then records exactly the values that were evaluated: nothing recomputes
    later, and `verify` reads them even after a program that keeps formulas but not their results
    (openpyxl) saved the file. TRUE() and FALSE() (LibreOffice's booleans) become the booleans; any
    other formula takes the result its last client saved, with a warning at its cell, or an error
    when no result was saved."""
    cells = [
        cell
        for cells in _read_ranges(wb)
        for cell in cells
        if isinstance(cell, Cell) and cell.data_type == "f"
    ]
    saved = None
    if any(str(cell.value).upper() not in BOOLEAN_FORMULAS for cell in cells):
        saved = load(path, data_only=True)
    issues = []
    for cell in cells:
        formula, where = str(cell.value), f"{cell.parent.title}!{cell.coordinate}"
        if formula.upper() in BOOLEAN_FORMULAS:
            cell.value = BOOLEAN_FORMULAS[formula.upper()]
            continue
        assert saved is not None
        value: CellValue = saved[cell.parent.title][cell.coordinate].value
        write_text_safe(cell, value)
        if value is None:
            issues.append(
                error(
                    (where,),
                    f"公式 {formula} 没有保存的计算结果：请在 Excel 中打开并保存，或直接填写数值",
                    f"the formula {formula} has no saved result: open and save the workbook "
                    "in Excel, or type the value",
                ).at(where)
            )
        else:
            issues.append(
                warning(
                    (where,),
                    f"公式 {formula} 已按其计算结果 {value} 评估，评估后的工作簿保存该值",
                    f"the formula {formula} was evaluated as its result {value}, which the "
                    "evaluated workbook keeps in its place",
                ).at(where)
            )
    return issues
