"""The openpyxl adapter: input cell values in and out of a workbook file, through the layout."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from typing import cast

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.core.records import Lang
from creditbook.workbook.cells import CellValue, SheetValues
from creditbook.workbook.layout import (
    CONF_SHEET,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    LANGUAGE_KEY,
    LANGUAGE_KEY_CELL,
    InputSheet,
    Table,
)
from creditbook.workbook.package_reader import table_span
from creditbook.workbook.xlsm.sheetml import FORMULA_STARTS


def _table_span(ws: Worksheet, table: Table) -> tuple[int, int]:
    return table_span(ws, table, ws.tables[table.name].ref if table.name in ws.tables else None)


def table_rows(ws: Worksheet, table: Table) -> list[tuple[int, list[CellValue]]]:
    """Data rows of an Excel table, from its header to its last row with cells."""
    first, last = _table_span(ws, table)
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


def write_language(wb: Workbook, lang: Lang) -> None:
    """Remember the language of the workbook's documents (the Evaluate button uses it)."""
    ws = wb[CONF_SHEET]
    ws[LANGUAGE_KEY_CELL], ws[LANGUAGE_CELL] = LANGUAGE_KEY, lang
