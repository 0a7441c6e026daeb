"""The xlwings adapter: a live Excel workbook's inputs read, its Approval sheet and audit row written.

Only the Evaluate entry point (`creditbook.excel`) and the UDFs use it. Each input
block is read in one bulk call; `decide` (the same pure pipeline as the file path) computes the
plan; the Approval sheet is then written in a fixed number of calls, never one per cell: all values
as one matrix, and each format property once per value, on the union of the cells that show it.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, Literal, Protocol

from xlwings.base_classes import BorderWeight, HorizontalAlignment, VerticalAlignment

from creditbook.workbook.approval import FIRST_COLUMN, LAST_COLUMN, SNAPSHOT_COLUMN, Plan
from creditbook.workbook.cells import CellValue, SheetValues
from creditbook.workbook.decide import (
    PolicyRow,
    WorkbookInputs,
    inputs_from,
    policy_rows,
    price_rows,
)
from creditbook.workbook.layout import (
    ANNEX_SHEET,
    APPROVAL_SHEET,
    AUDIT_FIRST_COLUMN,
    AUDIT_HEADER_ROW,
    AUDIT_SHEET,
    CONF_SHEET,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    POLICY_FIRST_ROW,
    POLICY_PATH_COLUMN,
    POLICY_SHEET,
    PRICES_SHEET,
    PRICES_TABLE,
    Table,
    column_letter,
)
from creditbook.workbook.styles import BORDER_COLOR, FONT, FORMATS

TITLE = "授信审批 Credit review"
MAX_ADDRESS = 255  # Excel's Range() takes an address of at most 255 characters
Position = tuple[int, int]  # row, column
Area = tuple[int, int, int, int]  # first row, first column, last row, last column


# ------------------------------------------------ the parts of xlwings this adapter uses


class Font(Protocol):
    @property
    def name(self) -> object: ...
    @name.setter
    def name(self, value: str) -> None: ...
    @property
    def size(self) -> object: ...
    @size.setter
    def size(self, value: float) -> None: ...
    @property
    def color(self) -> object: ...
    @color.setter
    def color(self, value: str) -> None: ...
    @property
    def bold(self) -> object: ...
    @bold.setter
    def bold(self, value: bool) -> None: ...
    @property
    def italic(self) -> object: ...
    @italic.setter
    def italic(self, value: bool) -> None: ...


class Borders(Protocol):
    @property
    def line_style(self) -> object: ...
    @line_style.setter
    def line_style(self, value: Literal["continuous"]) -> None: ...
    @property
    def weight(self) -> object: ...
    @weight.setter
    def weight(self, value: BorderWeight) -> None: ...
    @property
    def color(self) -> object: ...
    @color.setter
    def color(self, value: str) -> None: ...


class Rows(Protocol):
    def autofit(self) -> None: ...


class Range(Protocol):
    def options(self, *, ndim: int, err_to_str: bool) -> Range: ...
    @property
    def value(self) -> Any: ...
    @value.setter
    def value(self, data: Any) -> None: ...
    @property
    def row(self) -> int: ...
    @property
    def last_cell(self) -> Range: ...
    @property
    def rows(self) -> Rows: ...
    @property
    def font(self) -> Font: ...
    @property
    def borders(self) -> Borders: ...
    @property
    def color(self) -> object: ...
    @color.setter
    def color(self, value: str | None) -> None: ...
    @property
    def wrap_text(self) -> object: ...
    @wrap_text.setter
    def wrap_text(self, value: bool) -> None: ...
    @property
    def horizontal_alignment(self) -> object: ...
    @horizontal_alignment.setter
    def horizontal_alignment(self, value: HorizontalAlignment) -> None: ...
    @property
    def vertical_alignment(self) -> object: ...
    @vertical_alignment.setter
    def vertical_alignment(self, value: VerticalAlignment) -> None: ...
    @property
    def number_format(self) -> object: ...
    @number_format.setter
    def number_format(self, value: str) -> None: ...
    @property
    def row_height(self) -> object: ...
    @row_height.setter
    def row_height(self, value: float) -> None: ...
    def merge(self) -> None: ...
    @property
    def api(self) -> Any: ...


class ExcelTable(Protocol):
    @property
    def range(self) -> Range: ...
    @property
    def data_body_range(self) -> Range | None: ...


class Tables(Protocol):
    def __contains__(self, name: str, /) -> bool: ...
    def __getitem__(self, name: str, /) -> ExcelTable: ...


class PageSetup(Protocol):
    @property
    def print_area(self) -> object: ...
    @print_area.setter
    def print_area(self, value: str) -> None: ...


class Sheet(Protocol):
    def range(self, address: str, /) -> Range: ...
    @property
    def tables(self) -> Tables: ...
    @property
    def used_range(self) -> Range: ...
    @property
    def page_setup(self) -> PageSetup: ...
    def clear(self) -> None: ...
    @property
    def api(self) -> Any: ...


class Sheets(Protocol):
    def __getitem__(self, name: str, /) -> Sheet: ...


class App(Protocol):
    def alert(
        self, prompt: str, title: str | None = ..., buttons: str = ..., mode: str | None = ...
    ) -> object: ...


class Book(Protocol):
    @property
    def sheets(self) -> Sheets: ...
    @property
    def sheet_names(self) -> list[str]: ...
    @property
    def app(self) -> App: ...


# ------------------------------------------------------------------------ reading


def _values(rng: Range) -> list[list[CellValue]]:
    """One bulk read: rows of values, errors such as #REF! as text (xlwings' default is None)."""
    rows: list[list[CellValue]] = rng.options(ndim=2, err_to_str=True).value
    return rows


def table_rows(sheet: Sheet, table: Table) -> list[tuple[int, list[CellValue]]]:
    """Data rows of an Excel table as it is now (finance may have extended it), in the layout's columns."""
    width = len(table.columns)
    if table.name in sheet.tables:
        body = sheet.tables[table.name].data_body_range
        rows = [] if body is None else _values(body)
    else:
        last = f"{table.letter(width - 1)}{table.header_row + table.capacity}"
        rows = _values(sheet.range(f"{table.letter(0)}{table.first_data_row}:{last}"))
    return [
        (table.first_data_row + offset, [*row, *[None] * width][:width])
        for offset, row in enumerate(rows)
    ]


def read_sheet_values(book: Book, names: Collection[str]) -> dict[str, SheetValues]:
    values = {}
    for sheet in INPUT_SHEETS:
        if sheet.name not in names:
            continue
        live = book.sheets[sheet.name]
        read = SheetValues()
        if sheet.form:
            form = sheet.form
            column = form.input_column
            address = f"{column}{form.first_row}:{column}{form.last_row}"
            read.form = [row[0] for row in _values(live.range(address))]
        read.tables = {table.name: table_rows(live, table) for table in sheet.tables}
        values[sheet.name] = read
    return values


def read_policy_rows(book: Book, names: Collection[str]) -> list[PolicyRow] | None:
    """(row, path, value) rows of the Policy sheet, or None when the workbook has none."""
    if POLICY_SHEET not in names:
        return None
    sheet = book.sheets[POLICY_SHEET]
    last = sheet.used_range.last_cell.row
    if last < POLICY_FIRST_ROW:
        return []
    first, second = column_letter(POLICY_PATH_COLUMN), column_letter(POLICY_PATH_COLUMN + 1)
    return policy_rows(
        _values(sheet.range(f"{first}{POLICY_FIRST_ROW}:{second}{last}")), POLICY_FIRST_ROW
    )


def read_price_rows(book: Book, names: Collection[str]) -> list[dict[str, CellValue]] | None:
    """Rows of the Prices table as column → value, or None when the workbook has none."""
    if PRICES_SHEET not in names:
        return None
    tables = book.sheets[PRICES_SHEET].tables
    if PRICES_TABLE not in tables:
        return None
    return price_rows(_values(tables[PRICES_TABLE].range))


def read_language(book: Book, names: Collection[str]) -> CellValue:
    """The config sheet's language cell, which the ribbon's language list writes."""
    if CONF_SHEET not in names:
        return None
    value: CellValue = book.sheets[CONF_SHEET].range(LANGUAGE_CELL).value
    return value


def read_inputs(book: Book) -> WorkbookInputs:
    names = set(book.sheet_names)
    return inputs_from(
        read_sheet_values(book, names),
        read_policy_rows(book, names),
        read_price_rows(book, names),
        read_language(book, names),
    )


# ------------------------------------------------------------------------ writing


def write_outcome(
    book: Book, plan: Plan, audit_row: Sequence[CellValue], annex: Plan | None = None
) -> None:
    """The Approval sheet, the Annex sheet (when the workbook has one) and the audit row; on any
    failure the Approval sheet keeps only an error banner."""
    approval = book.sheets[APPROVAL_SHEET]
    with _unprotected(approval):
        try:
            write_approval(approval, plan)
            if annex is not None and ANNEX_SHEET in book.sheet_names:
                with _unprotected(book.sheets[ANNEX_SHEET]):
                    write_approval(book.sheets[ANNEX_SHEET], annex)
            audit = book.sheets[AUDIT_SHEET]
            with _unprotected(audit):
                append_audit(audit, audit_row)
        except Exception as failure:
            _banner(approval, failure)
            raise


def write_approval(sheet: Sheet, plan: Plan) -> None:
    """Replace a sheet's content with the plan (the Approval's, or the Annex's): the cells
    `openpyxl_adapter.write_plan` writes."""
    previous_rows = sheet.used_range.last_cell.row
    sheet.clear()
    if previous_rows > len(plan.lines):
        sheet.range(f"A{len(plan.lines) + 1}:A{previous_rows}").rows.autofit()
    first, last = column_letter(FIRST_COLUMN), column_letter(LAST_COLUMN)
    sheet.range(f"{first}1:{last}{len(plan.lines)}").value = [
        [_excel_value(cell.value) for cell in line.cells] + [None] * (plan.width - len(line.cells))
        for line in plan.lines
    ]
    styles: dict[str, list[Position]] = defaultdict(list)
    number_formats: dict[str, list[Position]] = defaultdict(list)
    for style, number_format, positions in _cells(plan):
        styles[style] += positions
        if number_format:
            number_formats[number_format] += positions
    _dress(sheet, styles)
    for number_format, positions in number_formats.items():
        for address in _addresses(_areas(positions)):
            sheet.range(address).number_format = number_format
    merged = [
        (row, columns[0], row, columns[1])
        for row, line in enumerate(plan.lines, start=1)
        if (columns := line.merged_columns)
    ]
    for address in _addresses(merged):
        sheet.range(address).merge()
    heights: dict[float, list[Position]] = defaultdict(list)
    for row, line in enumerate(plan.lines, start=1):
        heights[line.height].append((row, FIRST_COLUMN))
    for height, positions in heights.items():
        for address in _addresses(_areas(positions)):
            sheet.range(address).row_height = height
    key, value = column_letter(SNAPSHOT_COLUMN), column_letter(SNAPSHOT_COLUMN + 1)
    if plan.snapshot:
        sheet.range(f"{key}1:{value}{len(plan.snapshot)}").value = [
            [_excel_value(path), _excel_value(cell)] for path, cell in plan.snapshot
        ]
    sheet.page_setup.print_area = plan.print_area
    _page_breaks(sheet, plan)


def _page_breaks(sheet: Sheet, plan: Plan) -> None:
    """The plan's manual page breaks and print titles, through Excel's object model (xlwings has
    no page-break API): one call to clear the old breaks, one a page, one for the titles."""
    if sys.platform == "darwin":
        return  # not wired for Mac Excel's AppleScript model: Excel places the breaks itself
    sheet.api.ResetAllPageBreaks()
    for row in plan.row_breaks:
        sheet.api.HPageBreaks.Add(sheet.range(f"A{row + 1}").api)
    if plan.title_rows:
        sheet.api.PageSetup.PrintTitleRows = "${}:${}".format(*plan.title_rows)


def append_audit(sheet: Sheet, row: Sequence[CellValue]) -> None:
    """Add a row below the last one: one read to find it, one write; earlier rows are never touched."""
    target = max(sheet.used_range.last_cell.row, AUDIT_HEADER_ROW) + 1
    first = column_letter(AUDIT_FIRST_COLUMN)
    last = column_letter(AUDIT_FIRST_COLUMN + len(row) - 1)
    sheet.range(f"{first}{target}:{last}{target}").value = [[_excel_value(v) for v in row]]


def _banner(sheet: Sheet, failure: Exception) -> None:
    """Nothing half-written stays: the sheet says the approval failed, in one line."""
    sheet.clear()
    sheet.range(f"{column_letter(FIRST_COLUMN)}1").value = _excel_value(
        f"⚠ 审批单未生成，请修正后重新评估 / The approval was not written; fix and evaluate again "
        f"— {type(failure).__name__}: {failure}"
    )
    _dress(sheet, {"cb_alert": [(1, FIRST_COLUMN)]})


def _excel_value(value: CellValue) -> CellValue:
    """Text goes in with Excel's ' prefix: never read as a formula, number or date ("=1+1", "30%")."""
    return f"'{value}" if isinstance(value, str) else value


@contextmanager
def _unprotected(sheet: Sheet) -> Iterator[None]:
    """The template protects the output sheets; protection is restored whatever happens."""
    _protect(sheet, on=False)
    try:
        yield
    finally:
        _protect(sheet, on=True)


def _protect(sheet: Sheet, *, on: bool) -> None:
    """xlwings has no protection API: the native object model (COM on Windows, AppleScript on Mac)."""
    if sys.platform == "darwin":
        if on:
            sheet.api.protect_worksheet()
        else:
            sheet.api.unprotect()
    elif on:
        sheet.api.Protect()
    else:
        sheet.api.Unprotect()


def _unlock(rng: Range) -> None:
    """Cells finance fills after printing (sign-off) stay editable on the protected sheet."""
    if sys.platform == "darwin":
        rng.api.locked.set(False)
    else:
        rng.api.Locked = False


# ------------------------------------------------------- formats, by union ranges


@dataclass(frozen=True)
class Look:
    """A named format as Excel cell properties. A field with a default is what a cleared cell
    already shows, so it is only set where a format differs; the others are always set."""

    font: str
    size: float
    color: str
    vertical: VerticalAlignment
    bold: bool = False
    italic: bool = False
    fill: str | None = None
    wrap: bool = False
    horizontal: HorizontalAlignment = "general"
    border: tuple[BorderWeight, str] | None = None  # a box around every cell: weight, colour
    locked: bool = True


@cache
def look(style: str) -> Look:
    """A named format (creditbook.workbook.styles, which the file writer applies too) as Excel properties."""
    fmt = FORMATS[style]
    return Look(
        font=FONT,
        size=float(fmt.size),
        color=f"#{fmt.color}",
        vertical=fmt.vertical,
        bold=fmt.bold,
        italic=fmt.italic,
        fill=f"#{fmt.fill}" if fmt.fill else None,
        wrap=fmt.wrap,
        horizontal=fmt.horizontal or "general",
        border=("thin", f"#{BORDER_COLOR}") if fmt.border else None,
        locked=fmt.locked,
    )


def _dress(sheet: Sheet, styles: dict[str, list[Position]]) -> None:
    """Each property once per value: font size 10 on every cell that has it, in one call."""
    for facet in fields(Look):
        groups: dict[object, tuple[Look, list[Position]]] = {}
        for style, positions in styles.items():
            wearing = look(style)
            value = getattr(wearing, facet.name)
            if value != facet.default:
                groups.setdefault(value, (wearing, []))[1].extend(positions)
        for wearing, positions in groups.values():
            for address in _addresses(_areas(positions)):
                _set(sheet.range(address), facet.name, wearing)


def _set(rng: Range, facet: str, wearing: Look) -> None:
    """Set one property of a Look on a range (one call, two more for a border's weight and colour)."""
    match facet:
        case "font":
            rng.font.name = wearing.font
        case "size":
            rng.font.size = wearing.size
        case "color":
            rng.font.color = wearing.color
        case "vertical":
            rng.vertical_alignment = wearing.vertical
        case "bold":
            rng.font.bold = wearing.bold
        case "italic":
            rng.font.italic = wearing.italic
        case "fill":
            rng.color = wearing.fill
        case "wrap":
            rng.wrap_text = wearing.wrap
        case "horizontal":
            rng.horizontal_alignment = wearing.horizontal
        case "border" if wearing.border is not None:
            weight, color = wearing.border
            rng.borders.line_style = "continuous"
            rng.borders.weight = weight
            rng.borders.color = color
        case "locked":
            _unlock(rng)
        case _:
            raise ValueError(f"no Excel property for {facet!r}")


def _cells(plan: Plan) -> Iterator[tuple[str, str | None, list[Position]]]:
    """Each planned cell's style, number format and the cells it covers (a merged cell: up to F)."""
    for row, line in enumerate(plan.lines, start=1):
        merged = line.merged_columns
        for offset, cell in enumerate(line.cells):
            column = FIRST_COLUMN + offset
            last = merged[1] if merged and column == merged[0] else column
            positions = [(row, covered) for covered in range(column, last + 1)]
            yield cell.style, cell.number_format, positions


def _areas(positions: Iterable[Position]) -> list[Area]:
    """Cells as few rectangles: runs of columns in a row, stacked while the rows below repeat them."""
    columns_of: dict[int, set[int]] = defaultdict(set)
    for row, column in positions:
        columns_of[row].add(column)
    areas: list[Area] = []
    open_areas: dict[tuple[int, int], int] = {}
    for row in sorted(columns_of):
        for first, last in _runs(sorted(columns_of[row])):
            index = open_areas.get((first, last))
            if index is not None and areas[index][2] == row - 1:
                areas[index] = (areas[index][0], first, row, last)
            else:
                open_areas[(first, last)] = len(areas)
                areas.append((row, first, row, last))
    return areas


def _runs(columns: Sequence[int]) -> Iterator[tuple[int, int]]:
    start = previous = columns[0]
    for column in columns[1:]:
        if column != previous + 1:
            yield start, previous
            start = column
        previous = column
    yield start, previous


def _addresses(areas: Iterable[Area]) -> Iterator[str]:
    """Union addresses ("B5:C5,B9:F12"), each short enough for Excel's Range()."""
    chunk = ""
    for first_row, first_column, last_row, last_column in areas:
        area = f"{column_letter(first_column)}{first_row}"
        if (last_row, last_column) != (first_row, first_column):
            area += f":{column_letter(last_column)}{last_row}"
        if chunk and len(chunk) + 1 + len(area) > MAX_ADDRESS:
            yield chunk
            chunk = ""
        chunk = f"{chunk},{area}" if chunk else area
    if chunk:
        yield chunk
