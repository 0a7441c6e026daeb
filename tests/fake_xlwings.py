"""An in-memory xlwings: exactly the Book / Sheet / Range calls the xlwings adapter makes.

It is backed by an openpyxl workbook loaded from a real .xlsm, so reads see the template's content
and the result can be saved and inspected with openpyxl. Where the adapter depends on it, it acts
as xlwings does on real Excel: 2-D lists with `ndim=2`, None for blanks, floats for numbers,
datetime for dates, cell errors as None unless `err_to_str`; text written without a leading ' is
coerced like typed input ("=…" becomes a formula, "12" a number); a protected sheet refuses writes.

Every call is counted: `calls.reads` (a value read, a range's extent) and `calls.writes` (a value
write, each format property set, a merge, a row height, clear, protect/unprotect, print area).
`fail_at_format=N` makes the Nth format call raise, to test what a failure mid-write leaves behind.
Sheet, table and name look-ups are not counted.
"""

from __future__ import annotations

import io
from contextlib import suppress
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import PatternFill, Protection, Side
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.pagebreak import Break, RowBreak
from openpyxl.worksheet.worksheet import Worksheet

Area = tuple[int, int, int, int]  # min column, min row, max column, max row (openpyxl order)
SIDE_STYLES = {"hairline": "hair", "thin": "thin", "medium": "medium", "thick": "thick"}


class InjectedFailure(RuntimeError):
    pass


@dataclass
class Calls:
    reads: int = 0
    writes: int = 0
    formats: int = 0
    fail_at_format: int | None = None
    log: list[str] = field(default_factory=list)

    def read(self, what: str) -> None:
        self.reads += 1
        self.log.append(f"read {what}")

    def write(self, what: str, *, format_call: bool = False) -> None:
        self.writes += 1
        self.log.append(f"write {what}")
        if format_call:
            self.formats += 1
            if self.formats == self.fail_at_format:
                raise InjectedFailure(f"injected failure at format call {self.formats} ({what})")


class FakeBook:
    def __init__(self, source: Path | bytes, *, fail_at_format: int | None = None) -> None:
        data = source if isinstance(source, bytes) else source.read_bytes()
        self.workbook = load_workbook(io.BytesIO(data), keep_vba=True)
        self.calls = Calls(fail_at_format=fail_at_format)
        self.app = FakeApp()
        self.sheets = {ws.title: FakeSheet(ws, self.calls) for ws in self.workbook.worksheets}

    @property
    def sheet_names(self) -> list[str]:
        return list(self.sheets)

    def saved(self) -> Workbook:
        """The workbook as a file would hold it (saved and loaded again)."""
        buffer = io.BytesIO()
        self.workbook.save(buffer)
        return load_workbook(io.BytesIO(buffer.getvalue()), keep_vba=True)


class FakeApp:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str | None, str | None]] = []

    def alert(
        self, prompt: str, title: str | None = None, buttons: str = "ok", mode: str | None = None
    ) -> str:
        self.alerts.append((prompt, title, mode))
        return "ok"


class FakeSheet:
    def __init__(self, ws: Worksheet, calls: Calls) -> None:
        self.ws, self.calls = ws, calls
        self.name = ws.title
        self.tables = FakeTables(self)
        self.page_setup = FakePageSetup(self)
        self.api = FakeSheetApi(self)

    def range(self, address: str) -> FakeRange:
        return FakeRange(self, [range_boundaries(part) for part in address.split(",")])

    @property
    def used_range(self) -> FakeRange:
        return FakeRange(self, [(1, 1, self.ws.max_column, self.ws.max_row)])

    def clear(self) -> None:
        """Excel's Cells.Clear: values, formats and merges go; row heights stay."""
        self.refuse_if_protected("clear")
        self.calls.write(f"{self.name} clear")
        for merged in list(self.ws.merged_cells.ranges):
            self.ws.unmerge_cells(str(merged))
        for row in self.ws.iter_rows():
            for cell in row:
                cell.value = None
                cell.style = "Normal"

    def refuse_if_protected(self, what: str) -> None:
        if self.ws.protection.sheet:
            raise PermissionError(f"{self.name} is protected: cannot {what}")


class FakeSheetApi:
    """Sheet protection, manual page breaks and print titles as Excel's COM object model
    (Windows) offers them."""

    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet
        self.HPageBreaks = FakeHPageBreaks(sheet)
        self.PageSetup = FakePageSetupApi(sheet)

    def ResetAllPageBreaks(self) -> None:
        self.sheet.refuse_if_protected("reset the page breaks")
        self.sheet.calls.write(f"{self.sheet.name} reset page breaks")
        self.sheet.ws.row_breaks = RowBreak()

    def Protect(self) -> None:
        self.sheet.calls.write(f"{self.sheet.name} protect")
        self.sheet.ws.protection.sheet = True

    def Unprotect(self) -> None:
        self.sheet.calls.write(f"{self.sheet.name} unprotect")
        self.sheet.ws.protection.sheet = False


class FakeHPageBreaks:
    """`Worksheet.HPageBreaks.Add(Before)`: a manual break above the row of the given cell."""

    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet

    def Add(self, before: FakeRangeApi) -> None:
        self.sheet.refuse_if_protected("add a page break")
        (_, row, _, _), *_ = before.rng.areas
        self.sheet.calls.write(f"{self.sheet.name} page break above row {row}")
        self.sheet.ws.row_breaks.append(Break(id=row - 1))


class FakePageSetupApi:
    """`Worksheet.PageSetup.PrintTitleRows`, as an absolute row range ("$1:$1")."""

    def __init__(self, sheet: FakeSheet) -> None:
        object.__setattr__(self, "sheet", sheet)

    def __setattr__(self, name: str, value: Any) -> None:
        assert name == "PrintTitleRows", name
        self.sheet.refuse_if_protected("set the print titles")
        self.sheet.calls.write(f"{self.sheet.name} print titles")
        self.sheet.ws.print_title_rows = str(value).replace("$", "")


class FakePageSetup:
    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet

    @property
    def print_area(self) -> str | None:
        return self.sheet.ws.print_area

    @print_area.setter
    def print_area(self, value: str) -> None:
        self.sheet.refuse_if_protected("set the print area")
        self.sheet.calls.write(f"{self.sheet.name} print area")
        self.sheet.ws.print_area = value


class FakeTables:
    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet

    def __contains__(self, name: str) -> bool:
        return name in self.sheet.ws.tables

    def __getitem__(self, name: str) -> FakeTable:
        return FakeTable(self.sheet, self.sheet.ws.tables[name].ref)


class FakeTable:
    def __init__(self, sheet: FakeSheet, ref: str) -> None:
        self.sheet, self.ref = sheet, ref

    @property
    def range(self) -> FakeRange:
        return self.sheet.range(self.ref)

    @property
    def data_body_range(self) -> FakeRange | None:
        min_col, min_row, max_col, max_row = range_boundaries(self.ref)
        if max_row <= min_row:
            return None
        return FakeRange(self.sheet, [(min_col, min_row + 1, max_col, max_row)])


class FakeRange:
    def __init__(self, sheet: FakeSheet, areas: list[Area], **options: Any) -> None:
        self.sheet, self.areas, self.opts = sheet, areas, options
        self.font = FakeFont(self)
        self.borders = FakeBorders(self)
        self.rows = FakeRows(self)
        self.api = FakeRangeApi(self)

    @property
    def address(self) -> str:
        return ",".join(
            f"{get_column_letter(a)}{b}:{get_column_letter(c)}{d}" for a, b, c, d in self.areas
        )

    def options(self, **options: Any) -> FakeRange:
        return FakeRange(self.sheet, self.areas, **options)

    def cells(self) -> list[Cell | MergedCell]:
        return [
            self.sheet.ws.cell(row, column)
            for min_col, min_row, max_col, max_row in self.areas
            for row in range(min_row, max_row + 1)
            for column in range(min_col, max_col + 1)
        ]

    # ---- values

    @property
    def value(self) -> Any:
        (min_col, min_row, max_col, max_row), *others = self.areas
        assert not others, "xlwings reads one area only"
        self.sheet.calls.read(f"{self.sheet.name}!{self.address} value")
        err_to_str = self.opts.get("err_to_str", False)
        rows = [
            [
                _read(self.sheet.ws.cell(row, column), err_to_str)
                for column in range(min_col, max_col + 1)
            ]
            for row in range(min_row, max_row + 1)
        ]
        if self.opts.get("ndim") == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        if len(rows) == 1 or len(rows[0]) == 1:
            return [value for row in rows for value in row]
        return rows

    @value.setter
    def value(self, data: Any) -> None:
        (min_col, min_row, max_col, max_row), *others = self.areas
        assert not others, "one area at a time"
        self.sheet.refuse_if_protected(f"write {self.address}")
        self.sheet.calls.write(f"{self.sheet.name}!{self.address} value")
        rows = data if isinstance(data, list) else [[data]]
        if (max_row, max_col) != (min_row, min_col):
            shape = (max_row - min_row + 1, max_col - min_col + 1)
            assert (len(rows), len(rows[0])) == shape, f"{len(rows)}x{len(rows[0])} into {shape}"
        for row_offset, row in enumerate(rows):
            for column_offset, value in enumerate(row):
                cell = self.sheet.ws.cell(min_row + row_offset, min_col + column_offset)
                _store(cell, value)

    # ---- extent

    @property
    def last_cell(self) -> FakeRange:
        self.sheet.calls.read(f"{self.sheet.name}!{self.address} extent")
        _, _, max_col, max_row = self.areas[-1]
        return FakeRange(self.sheet, [(max_col, max_row, max_col, max_row)])

    @property
    def row(self) -> int:
        return self.areas[0][1]

    # ---- formats

    def _format(self, what: str) -> list[Cell | MergedCell]:
        self.sheet.refuse_if_protected(f"format {self.address}")
        self.sheet.calls.write(f"{self.sheet.name}!{self.address} {what}", format_call=True)
        return self.cells()

    def _restyle(self, what: str, attribute: str, **changes: Any) -> None:
        for cell in self._format(what):
            changed = copy(getattr(cell, attribute))
            for name, value in changes.items():
                setattr(changed, name, value)
            setattr(cell, attribute, changed)

    @property
    def color(self) -> None:
        raise NotImplementedError

    @color.setter
    def color(self, value: str | None) -> None:
        fill = PatternFill("solid", fgColor=value.lstrip("#")) if value else PatternFill()
        for cell in self._format(f"fill {value}"):
            cell.fill = fill

    @property
    def wrap_text(self) -> None:
        raise NotImplementedError

    @wrap_text.setter
    def wrap_text(self, value: bool) -> None:
        self._restyle(f"wrap {value}", "alignment", wrap_text=value)

    @property
    def horizontal_alignment(self) -> None:
        raise NotImplementedError

    @horizontal_alignment.setter
    def horizontal_alignment(self, value: str) -> None:
        self._restyle(f"horizontal {value}", "alignment", horizontal=value)

    @property
    def vertical_alignment(self) -> None:
        raise NotImplementedError

    @vertical_alignment.setter
    def vertical_alignment(self, value: str) -> None:
        self._restyle(f"vertical {value}", "alignment", vertical=value)

    @property
    def number_format(self) -> None:
        raise NotImplementedError

    @number_format.setter
    def number_format(self, value: str) -> None:
        for cell in self._format(f"number format {value}"):
            cell.number_format = value

    @property
    def row_height(self) -> None:
        raise NotImplementedError

    @row_height.setter
    def row_height(self, value: float) -> None:
        self._format(f"row height {value}")
        for _, min_row, _, max_row in self.areas:
            for row in range(min_row, max_row + 1):
                self.sheet.ws.row_dimensions[row].height = value

    def merge(self) -> None:
        """Like Range.Merge on a multi-area range: each area becomes one merged cell."""
        self._format("merge")
        for min_col, min_row, max_col, max_row in self.areas:
            self.sheet.ws.merge_cells(
                start_row=min_row, start_column=min_col, end_row=max_row, end_column=max_col
            )


class FakeRows:
    def __init__(self, rng: FakeRange) -> None:
        self.rng = rng

    def autofit(self) -> None:
        self.rng._format("rows autofit")
        for _, min_row, _, max_row in self.rng.areas:
            for row in range(min_row, max_row + 1):
                self.rng.sheet.ws.row_dimensions[row].height = None


class FakeFont:
    def __init__(self, rng: FakeRange) -> None:
        object.__setattr__(self, "rng", rng)

    def __setattr__(self, name: str, value: Any) -> None:
        attribute = {"name": "name", "size": "sz", "bold": "b", "italic": "i", "color": "color"}
        if name == "color":
            value = value.lstrip("#")
        self.rng._restyle(f"font {name} {value}", "font", **{attribute[name]: value})


class FakeBorders:
    """All borders of every cell (edges and inside), as `Range.borders` sets them."""

    def __init__(self, rng: FakeRange) -> None:
        object.__setattr__(self, "rng", rng)

    def __setattr__(self, name: str, value: Any) -> None:
        for cell in self.rng._format(f"borders {name} {value}"):
            border = copy(cell.border)
            for edge in ("left", "right", "top", "bottom"):
                side = copy(getattr(border, edge)) or Side()
                if name == "line_style":
                    side.style = "thin" if value == "continuous" else None
                elif name == "weight":
                    side.style = SIDE_STYLES[value]
                else:
                    side.color = value.lstrip("#")
                setattr(border, edge, side)
            cell.border = border


class FakeRangeApi:
    """`Range.api.Locked` as Excel's COM object model (Windows) offers it."""

    def __init__(self, rng: FakeRange) -> None:
        object.__setattr__(self, "rng", rng)

    def __setattr__(self, name: str, value: Any) -> None:
        assert name == "Locked", name
        for cell in self.rng._format(f"locked {value}"):
            cell.protection = Protection(locked=value)


def _read(cell: Cell | MergedCell, err_to_str: bool) -> Any:
    if cell.data_type == "f":
        raise NotImplementedError(f"{cell.coordinate}: the fake computes no formulas")
    value = cell.value
    if cell.data_type == "e":
        return value if err_to_str else None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _store(cell: Cell | MergedCell, value: Any) -> None:
    """What Excel keeps when a value is written: text is coerced unless it starts with '."""
    assert isinstance(cell, Cell), f"{cell.coordinate} is inside a merged range"
    if isinstance(value, str) and value.startswith("'"):
        cell.value = value[1:]
        cell.data_type = "s"
        cell.quotePrefix = True
        return
    if isinstance(value, str) and not value.startswith("="):
        with suppress(ValueError):
            value = float(value)
    cell.value = value
