"""How openpyxl reads the cells evaluate reads: the reference the package reader is held to.

Until evaluate read packages directly (`creditbook.workbook.package_reader`), these functions were
its reader. Tests keep them as an independent oracle: `test_package_reader` compares both readers
over every example and corpus workbook, and the tamper trials judge an edit on the workbook they
hold in memory with openpyxl. Formulas read as their text here (openpyxl's data_only=False).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, cast

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.workbook.approval import SNAPSHOT_COLUMN
from creditbook.workbook.cells import CellValue, SheetValues
from creditbook.workbook.decide import (
    PolicyRow,
    WorkbookInputs,
    inputs_from,
    policy_rows,
    price_rows,
)
from creditbook.workbook.file_io import unreadable_workbook
from creditbook.workbook.intake import check_workbook_file
from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    CONF_SHEET,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    POLICY_FIRST_ROW,
    POLICY_PATH_COLUMN,
    POLICY_SHEET,
    PRICES_SHEET,
    PRICES_TABLE,
)
from creditbook.workbook.openpyxl_adapter import _kept_parts_read_only, table_rows
from creditbook.workbook.package_reader import last_row


def _merged_value(ws: Worksheet, coordinate: str) -> CellValue:
    """A cell's value; inside a merged range, the value of the range's top-left cell."""
    for merged in ws.merged_cells.ranges:
        if coordinate in merged:
            value: Any = ws.cell(merged.min_row, merged.min_col).value
            return value  # type: ignore[no-any-return]
    value = ws[coordinate].value
    return value  # type: ignore[no-any-return]


def read_sheet_values(wb: Workbook) -> dict[str, SheetValues]:
    values = {}
    for sheet in INPUT_SHEETS:
        if sheet.name not in wb.sheetnames:
            continue
        ws = wb[sheet.name]
        read = SheetValues()
        if sheet.form:
            read.form = [
                _merged_value(ws, sheet.form.cell(field)) for field in sheet.form.fields
            ]
        read.tables = {table.name: table_rows(ws, table) for table in sheet.tables}
        values[sheet.name] = read
    return values


def _policy_last_row(ws: Worksheet) -> int:
    return last_row(ws, POLICY_FIRST_ROW, ws.max_row, f"{POLICY_SHEET}!B{POLICY_FIRST_ROW}")


def _prices_span(ws: Worksheet) -> tuple[int, int, int | None, int | None]:
    """First row, last row, first and last column of the Prices table (its header included)."""
    first_column, top, last_column, bottom = range_boundaries(ws.tables[PRICES_TABLE].ref)
    last = last_row(ws, top or 1, bottom or ws.max_row, f"{PRICES_SHEET}!{PRICES_TABLE}")
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
    first_row, bottom, first_column, last_column = _prices_span(wb[PRICES_SHEET])
    rows = wb[PRICES_SHEET].iter_rows(
        first_row, bottom, first_column, last_column, values_only=True
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


def read_language(wb: Workbook) -> CellValue:
    """The config sheet's language cell (None when the workbook has no config sheet)."""
    if CONF_SHEET not in wb.sheetnames:
        return None
    value: CellValue = wb[CONF_SHEET][LANGUAGE_CELL].value
    return value


def read_inputs(wb: Workbook) -> WorkbookInputs:
    return inputs_from(
        read_sheet_values(wb), read_policy_rows(wb), read_price_rows(wb), read_language(wb)
    )


def read_snapshot(wb: Workbook) -> dict[str, CellValue]:
    """The audit snapshot an earlier evaluation left on the Approval sheet (empty if none)."""
    if APPROVAL_SHEET not in wb.sheetnames:
        return {}
    ws = wb[APPROVAL_SHEET]
    rows = ws.iter_rows(min_col=SNAPSHOT_COLUMN, max_col=SNAPSHOT_COLUMN + 1, values_only=True)
    return {str(key): cast(CellValue, value) for key, value in rows if key is not None}


BOOLEAN_FORMULAS = {"=TRUE()": True, "=FALSE()": False}  # how LibreOffice saves TRUE and FALSE


def load_as_read(path: Path) -> Workbook:
    """The workbook with every formula outside the Approval sheet replaced by what evaluate reads
    for it: TRUE() and FALSE() as the booleans, any other formula as the result saved with it."""
    wb = load(path, data_only=False)
    saved = load(path, data_only=True)
    for ws in wb.worksheets:
        if ws.title == APPROVAL_SHEET:
            continue
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                formula = str(cell.value).upper()
                cell.value = BOOLEAN_FORMULAS.get(formula, saved[ws.title][cell.coordinate].value)
    return wb
