"""The openpyxl adapter: input cell values in and out of a workbook file, through the layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from openpyxl.cell.cell import Cell
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.cells import CellValue, SheetValues
from creditbook.layout import INPUT_SHEETS, Table

FORMULA_STARTS = ("=", "+", "-", "@")


def _merged_value(ws: Worksheet, coordinate: str) -> CellValue:
    """A cell's value; inside a merged range, the value of the range's top-left cell."""
    for merged in ws.merged_cells.ranges:
        if coordinate in merged:
            value: Any = ws.cell(merged.min_row, merged.min_col).value
            return value  # type: ignore[no-any-return]
    value = ws[coordinate].value
    return value  # type: ignore[no-any-return]


def table_rows(ws: Worksheet, table: Table) -> list[tuple[int, list[CellValue]]]:
    """Data rows of an Excel table as it is now in the sheet (finance may have extended it)."""
    last_row = table.header_row + table.capacity
    if table.name in ws.tables:
        last_row = max(range_boundaries(ws.tables[table.name].ref)[3] or 0, table.first_data_row)
    width = len(table.columns)
    rows = ws.iter_rows(
        min_row=table.first_data_row,
        max_row=last_row,
        min_col=table.first_column,
        max_col=table.first_column + width - 1,
        values_only=True,
    )
    return [
        (table.first_data_row + offset, list(cast(tuple[CellValue, ...], values)))
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
            read.form = [
                _merged_value(ws, sheet.form.cell(field.key)) for field in sheet.form.fields
            ]
        read.tables = {table.name: table_rows(ws, table) for table in sheet.tables}
        values[sheet.name] = read
    return values


def write_text_safe(cell: Cell, value: CellValue) -> None:
    """Write a value; user text that looks like a formula stays text."""
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def write_sheet_values(wb: Workbook, values: Mapping[str, SheetValues]) -> None:
    """Fill input cells; tables grow (and their Excel table range with them) to fit every row."""
    for sheet in INPUT_SHEETS:
        ws = wb[sheet.name]
        sheet_values = values[sheet.name]
        if sheet.form:
            for field, value in zip(sheet.form.fields, sheet_values.form, strict=True):
                write_text_safe(ws[sheet.form.cell(field.key)], value)
        for table in sheet.tables:
            rows = sheet_values.tables.get(table.name, [])
            for row_number, row in rows:
                for position, value in enumerate(row):
                    write_text_safe(ws[f"{table.letter(position)}{row_number}"], value)
            last = max([table.header_row + table.capacity, *(row_number for row_number, _ in rows)])
            ws.tables[
                table.name
            ].ref = (
                f"{table.letter(0)}{table.header_row}:{table.letter(len(table.columns) - 1)}{last}"
            )
