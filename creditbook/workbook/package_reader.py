"""The cells evaluate and verify read, straight from the package's sheet XML (no openpyxl load).

Only the sheets the layout names are parsed; values come out as openpyxl gives them (text, int or
float, booleans, error text, dates for numbers in a date format, the 1904 calendar honoured), so a
workbook reads the same through either. A formula in a cell we read counts as its saved result
(LibreOffice's TRUE() and FALSE() as the booleans), with a warning at the cell; a formula without a
saved result is an error there. The package is kept for `package_writer`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Issue, error, warning
from creditbook.workbook.approval import SNAPSHOT_COLUMN
from creditbook.workbook.cells import CellValue, SheetValues
from creditbook.workbook.decide import (
    PolicyRow,
    WorkbookInputs,
    inputs_of,
    policy_from_rows,
    policy_rows,
    price_rows,
    prices_from_rows,
)
from creditbook.workbook.file_io import InputError, refused, unreadable_workbook
from creditbook.workbook.intake import open_workbook_file
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
    Table,
    column_letter,
)
from creditbook.workbook.xlsm.opc import (
    MAIN_NS,
    SHARED_STRINGS_REL,
    STYLES_REL,
    TABLE_REL,
    Package,
)
from creditbook.workbook.xlsm.sheetml import (
    BUILTIN_FORMATS,
    MAC_EPOCH,
    WINDOWS_EPOCH,
    cell_position,
    from_iso,
    from_serial,
    is_date_format,
    is_duration_format,
    range_bounds,
)

if TYPE_CHECKING:
    from openpyxl.formula.translate import Translator

NS = f"{{{MAIN_NS}}}"
ROW, CELL, VALUE, FORMULA, INLINE = f"{NS}row", f"{NS}c", f"{NS}v", f"{NS}f", f"{NS}is"
TEXT, RUN, MERGE = f"{NS}t", f"{NS}r", f"{NS}mergeCell"
BOOLEAN_FORMULAS = {"=TRUE()": True, "=FALSE()": False}  # how LibreOffice saves TRUE and FALSE
# Rows read below a table's header or the Policy sheet's first row (as the openpyxl adapter).
MAX_ROWS = 10_000
MAX_REMEMBERED = 16  # reads remembered per parsed sheet
T = TypeVar("T")
TALL = 1_000  # merged ranges taller than this are checked for every cell, not indexed by row


class Raw(NamedTuple):  # a tuple: made for every cell read, twice as fast as a frozen dataclass
    """One cell: the value it shows (a formula's saved result) and its formula, if it has one."""

    value: CellValue
    formula: str | None = None
    style: int = 0  # the cell format of a number: a date format makes it a date when read


@dataclass
class SheetCells:
    title: str
    cells: dict[tuple[int, int], Raw]
    merged: list[tuple[int, int, int, int]]  # min column, min row, max column, max row
    tables: dict[str, str]  # table name → its range
    max_row: int
    max_column: int
    parsed: _Parsed | None = None

    def covered(self, row: int, column: int) -> bool:
        """Inside a merged range, not its top-left cell: empty, whatever the XML says."""
        if not self.merged:
            return False
        anchor = self.anchor(row, column)
        return anchor is not None and anchor != (row, column)

    def anchor(self, row: int, column: int) -> tuple[int, int] | None:
        """The top-left cell of the merged range holding the cell (None when not merged)."""
        by_row, tall = self._merged_by_row
        for left, top, right, bottom in (*by_row.get(row, ()), *tall):
            if top <= row <= bottom and left <= column <= right:
                return top, left
        return None

    @cached_property
    def _merged_by_row(
        self,
    ) -> tuple[dict[int, list[tuple[int, int, int, int]]], list[tuple[int, int, int, int]]]:
        """Merged ranges by the rows they cover; ranges taller than TALL rows in a list apart."""
        by_row: dict[int, list[tuple[int, int, int, int]]] = {}
        tall = []
        for merged in self.merged:
            _, top, _, bottom = merged
            if bottom - top > TALL:
                tall.append(merged)
                continue
            for row in range(top, bottom + 1):
                by_row.setdefault(row, []).append(merged)
        return by_row, tall


def _text(element: ET.Element | None) -> str | None:
    """A string item's text without its phonetic runs (as openpyxl's Text.content)."""
    if element is None:
        return None
    snippets = [element.findtext(TEXT) or ""]
    snippets += [run.findtext(TEXT) or "" for run in element.iter(RUN)]
    return "".join(snippets)


def _number(value: str) -> int | float:
    return float(value) if "." in value or "E" in value or "e" in value else int(value)


@lru_cache(maxsize=8)
def _date_styles(styles: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """Indices of the cell formats that show a date, and of those that show a duration."""
    dates, durations = set(), set()
    if styles:
        root = ET.fromstring(styles)
        custom = {
            int(e.get("numFmtId", "0")): e.get("formatCode")
            for e in root.iterfind(f"{NS}numFmts/{NS}numFmt")
        }
        for index, xf in enumerate(root.iterfind(f"{NS}cellXfs/{NS}xf")):
            number = int(xf.get("numFmtId", "0"))
            code = custom[number] if number in custom else BUILTIN_FORMATS.get(number)
            if is_date_format(code):
                dates.add(index)
            if is_duration_format(code):
                durations.add(index)
    return frozenset(dates), frozenset(durations)


@lru_cache(maxsize=8)
def _shared_strings(table: bytes) -> tuple[str, ...]:
    if not table:
        return ()
    root = ET.fromstring(table)
    return tuple((_text(item) or "").replace("x005F_", "") for item in root.iter(f"{NS}si"))


@dataclass(frozen=True)
class _Parsed:
    cells: dict[tuple[int, int], Raw]
    merged: tuple[tuple[int, int, int, int], ...]
    max_row: int
    max_column: int
    styles: frozenset[int]  # the formats its numbers wear
    read: dict[object, Any] = field(default_factory=dict)  # what was read from it (`_remembered`)


def _parse(data: bytes, strings: bytes, only: tuple[str, ...] = ()) -> _Parsed:
    """A worksheet's cells, numbers as numbers (their format decides later whether one is a date);
    with `only` (column letters), just the cells of those columns.

    The whole part is parsed at once (in C; a sheet is at most `intake.MAX_SHEET_BYTES`), then its
    rows are walked: about twice as fast as taking the parser's events one by one."""
    cells: dict[tuple[int, int], Raw] = {}
    shared: dict[str, Translator] = {}
    root = ET.fromstring(data)
    row_number = last_row = last_column = 0
    for row in root.iter(ROW):
        row_number = int(float(row.get("r") or row_number + 1))
        column_number = 0  # a cell without a reference follows the one before it, as in openpyxl
        for element in row.iter(CELL):
            coordinate = element.get("r")
            if only and not (coordinate and coordinate.rstrip("0123456789") in only):
                continue
            if coordinate:
                position, column_number = cell_position(coordinate)
            else:
                position, column_number = row_number, column_number + 1
            if position > last_row:
                last_row = position
            if column_number > last_column:
                last_column = column_number
            if not len(element):  # no value, no formula: it reads as empty, whatever its format
                continue
            kind = element.get("t", "n")
            formula = element.find(FORMULA)
            cells[position, column_number] = Raw(
                _value(element, kind, strings),
                None if formula is None else _formula(formula, coordinate or "", shared),
                int(element.get("s") or 0) if kind == "n" else 0,
            )
    merged = []
    for element in root.iter(MERGE):
        left, top, right, bottom = range_bounds(element.get("ref", ""))
        merged.append((left or 1, top or 1, right or 1, bottom or 1))
    return _Parsed(
        cells,
        tuple(merged),
        max([1, last_row, *(bottom for *_, bottom in merged)]),
        max([1, last_column, *(right for _, _, right, _ in merged)]),
        frozenset(raw.style for raw in cells.values()),
    )


# The Policy and Prices sheets of a register's thousand workbooks are mostly the same bytes: parsed
# once per content (nobody changes a parsed sheet). Other sheets differ from file to file.
_parse_shared = lru_cache(maxsize=8)(_parse)
SHARED_SHEETS = (POLICY_SHEET, PRICES_SHEET)


def _value(element: ET.Element, kind: str, strings: bytes) -> CellValue:
    """The value a cell of type `kind` holds (as openpyxl reads it): for a formula, the result
    saved with it."""
    if kind == "inlineStr":
        return _text(element.find(INLINE))
    value = element.findtext(VALUE) or None
    if value is None:
        return None
    if kind == "n":
        return _number(value)
    if kind == "s":
        return _shared_strings(strings)[int(value)]
    if kind == "b":
        return bool(int(value))
    if kind == "d":
        shown: Any = from_iso(value)  # a time or duration too, as openpyxl reads them
        return shown  # type: ignore[no-any-return]
    return value  # "str" (a formula's text result), "e" (an error)


@dataclass
class Book:
    """The package of one workbook file and what was read from it."""

    package: Package
    formula_issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sheets = {sheet.name: sheet for sheet in self.package.sheets()}
        self.sheet_names = tuple(self.sheets)
        self._cells: dict[tuple[str, tuple[str, ...]], SheetCells] = {}
        root = ET.fromstring(self.package.read(self.package.workbook))
        properties = root.find(f"{NS}workbookPr")
        date1904 = properties is not None and properties.get("date1904") in ("1", "true")
        self.epoch = MAC_EPOCH if date1904 else WINDOWS_EPOCH
        self.dates, self.durations = _date_styles(self._part(STYLES_REL))
        self._strings = self._part(SHARED_STRINGS_REL)

    def _part(self, rel_type: str) -> bytes:
        part = self.package.related(self.package.workbook, rel_type)
        return self.package.read(part) if part and self.package.has(part) else b""

    def sheet(self, title: str, only: tuple[str, ...] = ()) -> SheetCells | None:
        """A worksheet's cells (with `only`, of those columns); None when the workbook has no
        worksheet of that name."""
        if (title, only) not in self._cells:
            sheet = self.sheets.get(title)
            if sheet is None or sheet.part is None or not self.package.has(sheet.part):
                return None
            data = self.package.read(sheet.part)
            parse = _parse_shared if title in SHARED_SHEETS else _parse
            parsed = parse(data, self._strings, only)
            self._cells[title, only] = SheetCells(
                title,
                parsed.cells,
                list(parsed.merged),
                self._tables(sheet.part),
                parsed.max_row,
                parsed.max_column,
                parsed,
            )
        return self._cells[title, only]

    def _tables(self, part: str) -> dict[str, str]:
        tables = {}
        for relationship in self.package.relationships(part):
            if relationship.type == TABLE_REL and self.package.has(relationship.part):
                name, ref = _table(self.package.read(relationship.part))
                tables[name] = ref
        return tables

    # ------------------------------------------------------------------ cells
    def read(self, ws: SheetCells, row: int, column: int) -> CellValue:
        """A cell's value as evaluate reads it; a formula counts as its saved result."""
        raw = ws.cells.get((row, column))
        if raw is None or ws.covered(row, column):
            return None
        value = self.shown(raw)
        if raw.formula is None:
            return value
        formula = raw.formula
        if formula.upper() in BOOLEAN_FORMULAS:
            return BOOLEAN_FORMULAS[formula.upper()]
        where = f"{ws.title}!{column_letter(column)}{row}"
        if value is None:
            self.formula_issues.append(
                error(
                    (where,),
                    f"公式 {formula} 没有保存的计算结果：请在 Excel 中打开并保存，或直接填写数值",
                    f"the formula {formula} has no saved result: open and save the workbook "
                    "in Excel, or type the value",
                ).at(where)
            )
        else:
            self.formula_issues.append(
                warning(
                    (where,),
                    f"公式 {formula} 已按其计算结果 {value} 评估，审计快照保存该值",
                    f"the formula {formula} was evaluated as its result {value}; the audit "
                    "snapshot keeps that value",
                ).at(where)
            )
        return value

    def shown(self, raw: Raw) -> CellValue:
        """A number in a date format as the date (a serial no date can have: an error, as in
        openpyxl); any other value as it is."""
        if raw.style not in self.dates or raw.value is None:
            return raw.value
        try:
            serial: Any = raw.value  # a number: only numbers wear a format
            date: Any = from_serial(serial, self.epoch, duration=raw.style in self.durations)
            return date  # type: ignore[no-any-return]
        except (OverflowError, ValueError):
            return "#VALUE!"

    def rows(
        self, ws: SheetCells, first: int, last: int, left: int, right: int
    ) -> Iterator[list[CellValue]]:
        for row in range(first, last + 1):
            yield [self.read(ws, row, column) for column in range(left, right + 1)]


@lru_cache(maxsize=16)  # the tables of workbooks from one template are mostly alike
def _table(data: bytes) -> tuple[str, str]:
    """An Excel table's name and range, from its part."""
    root = ET.fromstring(data)
    return root.get("name", ""), root.get("ref", "")


def _formula(element: ET.Element, coordinate: str, shared: dict[str, Translator]) -> str:
    """A cell's formula text as `=…`; a shared formula's dependent translated to its cell."""
    value = "=" + (element.text or "")
    if element.get("t") == "shared":
        index = element.get("si", "")
        if index in shared:
            translated: str = shared[index].translate_formula(coordinate)
            return translated
        if value != "=":
            # openpyxl's Translator, imported here only: a shared formula's dependents are rare in
            # the cells we read, and importing openpyxl anywhere loads all of it (and numpy)
            from openpyxl.formula.translate import Translator

            shared[index] = Translator(value, coordinate)
    return value


# --------------------------------------------------------------------------- the input blocks


class Rows(Protocol):
    """A sheet with a title and a last row: ours, or an openpyxl worksheet."""

    @property
    def title(self) -> str: ...

    @property
    def max_row(self) -> int: ...


def last_row(ws: Rows, first: int, last: int, place: str) -> int:
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


def table_span(ws: Rows, table: Table, ref: str | None) -> tuple[int, int]:
    """First and last data row of an Excel table as it is now (finance may have extended it):
    `ref` is the range the sheet gives the table, None when it has none (both readers)."""
    last = table.header_row + table.capacity
    if ref is not None:
        try:
            last = max(range_bounds(ref)[3] or 0, table.first_data_row)
        except (TypeError, ValueError):
            raise refused(
                ws.title,
                f"表 {table.name} 的范围 {ref!r} 不是单元格区域",
                f"table {table.name}'s range {ref!r} is not a cell range",
            ) from None
    place = f"{ws.title}!{table.letter(0)}{table.header_row} {table.name}"
    return table.first_data_row, last_row(ws, table.first_data_row, last, place)


def read_sheet_values(book: Book) -> dict[str, SheetValues]:
    values = {}
    for sheet in INPUT_SHEETS:
        ws = book.sheet(sheet.name)
        if ws is None:
            continue
        read = SheetValues()
        if sheet.form:
            column = cell_position(sheet.form.cell(sheet.form.fields[0].key))[1]
            ws.max_row = max(ws.max_row, sheet.form.last_row)  # as openpyxl, once it read them
            read.form = [
                book.read(ws, *(ws.anchor(row, column) or (row, column)))
                for row in range(sheet.form.first_row, sheet.form.last_row + 1)
            ]
        for table in sheet.tables:
            first, last = table_span(ws, table, ws.tables.get(table.name))
            right = table.first_column + len(table.columns) - 1
            rows = book.rows(ws, first, last, table.first_column, right)
            read.tables[table.name] = [(first + n, row) for n, row in enumerate(rows)]
        values[sheet.name] = read
    return values


def _remembered(book: Book, ws: SheetCells, what: object, read: Callable[[], T]) -> T:
    """`read()` of a sheet parsed once for many files (the Policy and Prices sheets), done once
    per parse, range and date formats; the formula warnings it gave are given again each time."""
    parsed = ws.parsed
    if parsed is None or len(parsed.read) > MAX_REMEMBERED:
        return read()
    key = (
        what,
        ws.max_row,
        tuple(sorted(ws.tables.items())),
        parsed.styles & book.dates,
        parsed.styles & book.durations,
        book.epoch,
    )
    if key not in parsed.read:
        before = len(book.formula_issues)
        parsed.read[key] = read(), tuple(book.formula_issues[before:])
    else:
        book.formula_issues.extend(parsed.read[key][1])
    result: T = parsed.read[key][0]
    return result


def read_policy_rows(book: Book) -> list[PolicyRow] | None:
    sheet = _policy_sheet(book)
    return None if sheet is None else list(sheet[0])


def _policy_sheet(
    book: Book,
) -> tuple[tuple[PolicyRow, ...], tuple[Policy | None, tuple[Issue, ...]]] | None:
    """The Policy sheet's rows and the policy made from them (remembered with the rows)."""
    ws = book.sheet(POLICY_SHEET)
    if ws is None:
        return None

    def read() -> tuple[tuple[PolicyRow, ...], tuple[Policy | None, tuple[Issue, ...]]]:
        assert ws is not None
        last = last_row(ws, POLICY_FIRST_ROW, ws.max_row, f"{POLICY_SHEET}!B{POLICY_FIRST_ROW}")
        rows = book.rows(ws, POLICY_FIRST_ROW, last, POLICY_PATH_COLUMN, POLICY_PATH_COLUMN + 1)
        read = policy_rows(list(rows), POLICY_FIRST_ROW)
        policy, issues = policy_from_rows(read)
        return tuple(read), (policy, tuple(issues))

    return _remembered(book, ws, POLICY_SHEET, read)


def read_price_rows(book: Book) -> list[dict[str, CellValue]] | None:
    sheet = _prices_sheet(book)
    return None if sheet is None else [dict(row) for row in sheet[0]]


def _prices_sheet(
    book: Book,
) -> tuple[tuple[dict[str, CellValue], ...], tuple[PriceTable | None, tuple[Issue, ...]]] | None:
    """The Prices table's rows and the price table made from them (remembered with the rows)."""
    ws = book.sheet(PRICES_SHEET)
    if ws is None or PRICES_TABLE not in ws.tables:
        return None

    def read() -> tuple[
        tuple[dict[str, CellValue], ...], tuple[PriceTable | None, tuple[Issue, ...]]
    ]:
        assert ws is not None
        left, top, right, bottom = range_bounds(ws.tables[PRICES_TABLE])
        first = top or 1
        last = last_row(ws, first, bottom or ws.max_row, f"{PRICES_SHEET}!{PRICES_TABLE}")
        read = price_rows(list(book.rows(ws, first, last, left or 1, right or ws.max_column)))
        prices, issues = prices_from_rows(read)
        return tuple(read), (prices, tuple(issues))

    return _remembered(book, ws, PRICES_SHEET, read)


def read_language(book: Book) -> CellValue:
    """The config sheet's language cell (None when the workbook has no config sheet)."""
    ws = book.sheet(CONF_SHEET)
    return None if ws is None else book.read(ws, *cell_position(LANGUAGE_CELL))


def read_inputs(book: Book) -> WorkbookInputs:
    """The inputs, the warnings and errors of the formulas among them first. The policy and prices
    come with the rows they are made from: a register's thousand workbooks carrying the same
    Policy and Prices sheets validate them once (see `_remembered`)."""
    book.formula_issues.clear()
    values = read_sheet_values(book)
    policy, prices = _policy_sheet(book), _prices_sheet(book)
    inputs = inputs_of(
        values,
        (None, ()) if policy is None else policy[1],
        (None, ()) if prices is None else prices[1],
        read_language(book),
    )
    return replace(inputs, issues=(*book.formula_issues, *inputs.issues))


def read_snapshot(book: Book, *, as_written: bool = True) -> dict[str, CellValue]:
    """The audit snapshot an earlier evaluation left on the Approval sheet (empty if none).

    As written (what verify compares), an altered snapshot cell holding a formula reads as its
    text; else as it shows, a formula as its saved result (what calamine gives the register)."""
    ws = book.sheet(
        APPROVAL_SHEET, only=(column_letter(SNAPSHOT_COLUMN), column_letter(SNAPSHOT_COLUMN + 1))
    )
    if ws is None:
        return {}
    snapshot = {}
    for row in range(1, ws.max_row + 1):
        key = _written(book, ws, row, SNAPSHOT_COLUMN, as_written)
        if key is not None:
            snapshot[str(key)] = _written(book, ws, row, SNAPSHOT_COLUMN + 1, as_written)
    return snapshot


def _written(book: Book, ws: SheetCells, row: int, column: int, as_written: bool) -> CellValue:
    """A snapshot cell: as written, a formula as its text; else a formula as its saved result."""
    raw = ws.cells.get((row, column))
    if raw is None or ws.covered(row, column):
        return None
    return raw.formula if as_written and raw.formula is not None else book.shown(raw)


def open_book(path: Path) -> Book:
    """A workbook file, checked (`intake`) and opened; an unusable one is an InputError naming it."""
    package = open_workbook_file(path)
    try:
        book = Book(Package(package))
        for name in (*(sheet.name for sheet in INPUT_SHEETS), POLICY_SHEET, PRICES_SHEET):
            book.sheet(name)
    except Exception as exc:  # any parser failure on a foreign file is a fault of the file
        raise unreadable_workbook(path, exc) from None
    return book


def read_file(path: Path) -> tuple[Book, WorkbookInputs]:
    """Open a workbook file and read its inputs (errors in its package are an InputError)."""
    book = open_book(path)
    return book, read_book_inputs(path, book)


def read_book_inputs(path: Path, book: Book) -> WorkbookInputs:
    """`read_inputs` of an opened file; a cell the file declares but cannot hold (a string index)
    is an InputError naming the file."""
    try:
        return read_inputs(book)
    except InputError:
        raise
    except Exception as exc:
        raise unreadable_workbook(path, exc) from None
