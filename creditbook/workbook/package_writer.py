"""Write what evaluate owns into a workbook package, and nothing else.

`Editor.write_plan(sheet, plan)` makes a sheet show a Plan (creating the sheet when the workbook has
none of that name); `Editor.append_row(sheet, values)` adds an AuditLog row below the last one.
Only the edited sheets, styles.xml (formats appended, never renumbered) and the entries of
workbook.xml, its relationships and [Content_Types].xml that a new sheet or a print area needs are
rewritten; every other member of the zip keeps its bytes.

Text is written as inline strings: the shared-string table stays untouched (Excel and LibreOffice
read both), and a value starting with `=` is text by construction; it also gets Excel's quote prefix,
so editing the cell in Excel keeps it text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal

from creditbook.workbook.approval import FIRST_COLUMN, SNAPSHOT_COLUMN, Plan
from creditbook.workbook.cells import CellValue
from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    AUDIT_FIRST_COLUMN,
    AUDIT_HEADER_ROW,
    column_letter,
)
from creditbook.workbook.package_reader import Book
from creditbook.workbook.xlsm import spans
from creditbook.workbook.xlsm.opc import (
    DOC_REL_NS,
    MAIN_NS,
    STYLES_REL,
    WORKSHEET_REL,
    WORKSHEET_TYPE,
)
from creditbook.workbook.xlsm.sheetml import (
    FORMULA_STARTS,
    ILLEGAL_CHARACTERS,
    IllegalCharacterError,
    column_index,
    to_serial,
)
from creditbook.workbook.xlsm.spans import escape, quoteattr
from creditbook.workbook.xlsm.stylesheet import StyleSheet

MAX_TEXT = 32_767  # Excel's limit for a cell's text
DATE_FORMATS = {date: "yyyy-mm-dd", datetime: "yyyy-mm-dd h:mm:ss", time: "h:mm:ss"}
# CT_Worksheet's children in schema order (ECMA-376 Part 1, 18.3.1.99)
ORDER = (
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)
# What a plan replaces on its sheet; cell-bound settings of the old content go with it.
OWNED = {"dimension", "cols", "sheetData", "mergeCells", "rowBreaks"}
DROPPED = {"conditionalFormatting", "dataValidations", "hyperlinks"}
# What a new sheet takes from the model sheet (the Approval sheet): how it prints and is protected.
MODEL = {
    "sheetFormatPr",
    "sheetProtection",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
}
PRINT_AREA, PRINT_TITLES = "_xlnm.Print_Area", "_xlnm.Print_Titles"
R_ID = re.compile(rb'\s[\w.-]+:id="[^"]*"')
SCALE = re.compile(rb'\sscale="[^"]*"')
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


class Editor:
    """The owned parts of one workbook package, edited in memory; `to_bytes` gives the new file."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.package = book.package
        self.styles_part = self.package.related(self.package.workbook, STYLES_REL)
        if self.styles_part is None or not self.package.has(self.styles_part):
            raise ValueError("the workbook has no styles part")
        self.styles = StyleSheet(self.package.read(self.styles_part))
        self.epoch = book.epoch

    # ------------------------------------------------------------------ cells
    def _cell(
        self,
        row: int,
        column: int,
        value: CellValue,
        style: str | None = None,
        number_format: str | None = None,
    ) -> bytes:
        """One `<c>`; text that looks like a formula stays text (quote prefix)."""
        p = self.prefix
        ref = f"{column_letter(column)}{row}"
        if isinstance(value, date | time) and number_format is None:
            number_format = DATE_FORMATS.get(type(value))
        quote = isinstance(value, str) and value.startswith(FORMULA_STARTS)
        xf = (
            self.styles.cell_format(style, number_format, quote)
            if style or number_format or quote
            else 0
        )
        s = f' s="{xf}"' if xf else ""
        if value is None or value == "":  # an empty text is a blank cell, as Excel stores it
            return f'<{p}c r="{ref}"{s}/>'.encode()
        if isinstance(value, str):
            if ILLEGAL_CHARACTERS.search(value):  # as openpyxl refuses them
                raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
            value = value[:MAX_TEXT]
            space = ' xml:space="preserve"' if value != value.strip() else ""
            text = escape(value, {"\r": "&#13;"})
            return f'<{p}c r="{ref}"{s} t="inlineStr"><{p}is><{p}t{space}>{text}</{p}t></{p}is></{p}c>'.encode()
        if isinstance(value, bool):
            return f'<{p}c r="{ref}"{s} t="b"><{p}v>{int(value)}</{p}v></{p}c>'.encode()
        if isinstance(value, date | time):
            number: float | int | Decimal = to_serial(value, self.epoch)
        else:
            number = value
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{ref}: {number} is not a number a worksheet can hold")
        return f'<{p}c r="{ref}"{s}><{p}v>{number}</{p}v></{p}c>'.encode()

    # ------------------------------------------------------------------ plans
    def write_plan(self, sheet: str, plan: Plan, *, code_name: str | None = None) -> None:
        """Make `sheet` show the plan: its cells, formats, merges, heights, widths, breaks, print
        area and titles. A missing sheet is created after the others, set up for printing and
        protected as the Approval sheet is."""
        part = self._part(sheet) or self._new_sheet(sheet, code_name, plan.scale)
        data = self.package.read(part)
        root = spans.index(data, 1)
        self.prefix = spans.prefix_of(data, root)
        rows: dict[int, dict[int, bytes]] = {}
        heights: dict[int, float] = {}
        merges: list[str] = []
        for row, line in enumerate(plan.lines, start=1):
            cells = rows.setdefault(row, {})
            for offset, planned in enumerate(line.cells):
                column = FIRST_COLUMN + offset
                cells[column] = self._cell(
                    row, column, planned.value, planned.style, planned.number_format
                )
            if line.merged_columns:
                first, last = line.merged_columns
                anchor = line.cells[-1].style
                for column in range(first + 1, last + 1):
                    cells[column] = self._cell(row, column, None, anchor)
                merges.append(f"{column_letter(first)}{row}:{column_letter(last)}{row}")
            if line.height:
                heights[row] = line.height
        for row, (key, value) in enumerate(plan.snapshot, start=1):
            cells = rows.setdefault(row, {})
            cells[SNAPSHOT_COLUMN] = self._cell(row, SNAPSHOT_COLUMN, key)
            cells[SNAPSHOT_COLUMN + 1] = self._cell(row, SNAPSHOT_COLUMN + 1, value)
        p = self.prefix
        owned = {
            "dimension": self._dimension(rows),
            "cols": self._cols(plan),
            "sheetData": self._sheet_data(rows, heights),
            "mergeCells": (
                f'<{p}mergeCells count="{len(merges)}">'
                + "".join(f'<{p}mergeCell ref="{ref}"/>' for ref in merges)
                + f"</{p}mergeCells>"
            ).encode()
            if merges
            else b"",
            "rowBreaks": (
                f'<{p}rowBreaks count="{len(plan.row_breaks)}" manualBreakCount="{len(plan.row_breaks)}">'
                + "".join(f'<{p}brk id="{row}" max="16383" man="1"/>' for row in plan.row_breaks)
                + f"</{p}rowBreaks>"
            ).encode()
            if plan.row_breaks
            else b"",
        }
        self.package.write(part, _rebuild(data, root, owned))
        area = re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", plan.print_area)
        names = {PRINT_AREA: f"{_quoted(sheet)}!{area}"}
        if plan.title_rows:
            top, bottom = plan.title_rows
            names[PRINT_TITLES] = f"{_quoted(sheet)}!${top}:${bottom}"
        self._define(sheet, names)
        self._save_styles()

    def _dimension(self, rows: dict[int, dict[int, bytes]]) -> bytes:
        filled = [(row, column) for row, cells in rows.items() for column in cells]
        if not filled:
            return f'<{self.prefix}dimension ref="A1"/>'.encode()
        top, bottom = min(r for r, _ in filled), max(r for r, _ in filled)
        left, right = min(c for _, c in filled), max(c for _, c in filled)
        return f'<{self.prefix}dimension ref="{column_letter(left)}{top}:{column_letter(right)}{bottom}"/>'.encode()

    def _cols(self, plan: Plan) -> bytes:
        p = self.prefix
        widths = [(1, 2.0, False)]
        widths += [(FIRST_COLUMN + i, width, False) for i, width in enumerate(plan.column_widths)]
        if plan.snapshot:
            widths += [(SNAPSHOT_COLUMN, 13.0, True), (SNAPSHOT_COLUMN + 1, 13.0, True)]
        cols = "".join(
            f'<{p}col min="{n}" max="{n}" width="{width:g}" customWidth="1"'
            + (' hidden="1"' if hidden else "")
            + "/>"
            for n, width, hidden in widths
        )
        return f"<{p}cols>{cols}</{p}cols>".encode()

    def _sheet_data(self, rows: dict[int, dict[int, bytes]], heights: dict[int, float]) -> bytes:
        p = self.prefix
        out = [f"<{p}sheetData>".encode()]
        for row in sorted(rows.keys() | heights.keys()):
            height = f' ht="{heights[row]:g}" customHeight="1"' if row in heights else ""
            cells = rows.get(row, {})
            out.append(f'<{p}row r="{row}"{height}>'.encode())
            out += [cells[column] for column in sorted(cells)]
            out.append(f"</{p}row>".encode())
        out.append(f"</{p}sheetData>".encode())
        return b"".join(out)

    # ------------------------------------------------------------------ audit rows
    def append_row(
        self,
        sheet: str,
        values: Sequence[CellValue],
        *,
        first_column: int = AUDIT_FIRST_COLUMN,
        header_row: int = AUDIT_HEADER_ROW,
    ) -> None:
        """A row below the sheet's last one (and below its header); earlier rows keep their bytes."""
        part = self._part(sheet)
        if part is None:
            raise ValueError(f"the workbook has no sheet {sheet}")
        data = self.package.read(part)
        root = spans.index(data, 2)
        self.prefix = p = spans.prefix_of(data, root)
        sheet_data = root.child("sheetData")
        if sheet_data is None:
            raise ValueError(f"the sheet {sheet} has no cells part")
        rows, number = [], 0
        for span in sheet_data.all("row"):
            number = int(float(span.attrs.get("r") or number + 1))
            rows.append((number, span))
        merged_bottom = [0]
        merge_cells = root.child("mergeCells")
        if merge_cells is not None:
            merged_bottom += [_bottom(span.attrs.get("ref", "")) for span in merge_cells.children]
        last = max([number for number, span in rows if not span.empty] + merged_bottom + [1])
        target = max(last, header_row) + 1
        cells = b"".join(
            self._cell(target, first_column + offset, value) for offset, value in enumerate(values)
        )
        new_row = f'<{p}row r="{target}">'.encode() + cells + f"</{p}row>".encode()
        later = [(n, span) for n, span in rows if n >= target]
        if later and later[0][0] == target:  # an empty row of that number (only its formats)
            edit = (later[0][1].start, later[0][1].end, new_row)
        elif later:
            edit = (later[0][1].start, later[0][1].start, new_row)
        elif sheet_data.empty:
            edit = (
                sheet_data.start,
                sheet_data.end,
                f"<{p}sheetData>".encode() + new_row + f"</{p}sheetData>".encode(),
            )
        else:
            edit = (sheet_data.close, sheet_data.close, new_row)
        edits = [edit]
        dimension = root.child("dimension")
        if dimension is not None:
            ref = dimension.attrs.get("ref", "A1")
            right = first_column + len(values) - 1
            edits.append(
                spans.with_attribute(data, dimension, "ref", _extended(ref, target, right))
            )
        self.package.write(part, spans.splice(data, edits))
        self._save_styles()

    # ------------------------------------------------------------------ package
    def _part(self, sheet: str) -> str | None:
        found = next((s for s in self.package.sheets() if s.name == sheet), None)
        return None if found is None else found.part

    def _new_sheet(self, sheet: str, code_name: str | None, scale: int) -> str:
        """An empty worksheet registered in the workbook, set up for printing as the model is but
        at the plan's print scale (its page breaks are computed for it)."""
        part = self.package.free_part("xl/worksheets/sheet{}.xml")
        model = self._part(APPROVAL_SHEET)
        p, kept = "", b""
        if model is not None:
            data = self.package.read(model)
            root = spans.index(data, 1)
            p = spans.prefix_of(data, root)
            kept = b"".join(
                SCALE.sub(f' scale="{scale}"'.encode(), R_ID.sub(b"", data[s.start : s.end]))
                if s.name == "pageSetup"
                else data[s.start : s.end]
                for s in root.children
                if s.name in MODEL
            )
        code = f" codeName={quoteattr(code_name)}" if code_name else ""
        xmlns = f'xmlns{":" + p[:-1] if p else ""}="{MAIN_NS}" xmlns:r="{DOC_REL_NS}"'
        xml = (
            (
                f'<{p}worksheet {xmlns}><{p}sheetPr{code}><{p}pageSetUpPr fitToPage="0"/></{p}sheetPr>'
                f'<{p}sheetViews><{p}sheetView workbookViewId="0"/></{p}sheetViews>'
            ).encode()
            + kept
            + f"</{p}worksheet>".encode()
        )
        self.package.write(part, XML_DECLARATION + xml)
        self.package.declare(part, WORKSHEET_TYPE)
        rel = self.package.relate(self.package.workbook, WORKSHEET_REL, part)
        workbook = self.package.read(self.package.workbook)
        root = spans.index(workbook, 2)
        sheets = root.child("sheets")
        if sheets is None:
            raise ValueError("the workbook lists no sheets")
        wp = spans.prefix_of(workbook, root)
        r = _prefix_for(workbook, root, DOC_REL_NS)
        edits = []
        if r is None:
            r = "r"
            edits.append(spans.with_attribute(workbook, root, "xmlns:r", DOC_REL_NS))
        ids = [int(s.attrs.get("sheetId", "0")) for s in sheets.all("sheet")]
        element = f'<{wp}sheet name={quoteattr(sheet)} sheetId="{max(ids, default=0) + 1}" {r}:id="{rel}"/>'
        if sheets.empty:
            raise ValueError("the workbook lists no sheets")
        edits.append((sheets.close, sheets.close, element.encode()))
        self.package.write(self.package.workbook, spans.splice(workbook, edits))
        return part

    def _define(self, sheet: str, names: dict[str, str]) -> None:
        """Set the sheet's print area and titles (workbook.xml keeps its bytes when they are set)."""
        position = next(s.position for s in self.package.sheets() if s.name == sheet)
        data = self.package.read(self.package.workbook)
        root = spans.index(data, 2)
        p = spans.prefix_of(data, root)
        defined = root.child("definedNames")
        edits, new = [], b""
        for name, formula in names.items():
            element = (
                f'<{p}definedName name="{name}" localSheetId="{position}">'
                f"{escape(formula)}</{p}definedName>"
            ).encode()
            existing = None
            if defined is not None:
                existing = next(
                    (
                        span
                        for span in defined.all("definedName")
                        if span.attrs.get("name") == name
                        and span.attrs.get("localSheetId") == str(position)
                    ),
                    None,
                )
            if existing is not None:
                if data[existing.open_end : existing.close].decode() != escape(formula):
                    edits.append((existing.start, existing.end, element))
            else:
                new += element
        if new:
            if defined is None:
                after = [
                    s
                    for s in root.children
                    if s.name in ("sheets", "functionGroups", "externalReferences")
                ]
                at = after[-1].end
                edits.append(
                    (at, at, f"<{p}definedNames>".encode() + new + f"</{p}definedNames>".encode())
                )
            elif defined.empty:
                edits.append(
                    (
                        defined.start,
                        defined.end,
                        f"<{p}definedNames>".encode() + new + f"</{p}definedNames>".encode(),
                    )
                )
            else:
                edits.append((defined.close, defined.close, new))
        if edits:
            self.package.write(self.package.workbook, spans.splice(data, edits))

    def _save_styles(self) -> None:
        data = self.styles.to_bytes()
        if data is not None and self.styles_part is not None:
            self.package.write(self.styles_part, data)

    def to_bytes(self) -> bytes:
        return self.package.to_bytes()


def _prefix_for(data: bytes, root: spans.Span, uri: str) -> str | None:
    tag = data[root.start : root.open_end].decode()
    match = re.search(r'xmlns:([\w.-]+)=["\']' + re.escape(uri) + r'["\']', tag)
    return match[1] if match else None


def _bottom(ref: str) -> int:
    digits = re.findall(r"\d+", ref)
    return int(digits[-1]) if digits else 0


def _extended(ref: str, row: int, column: int) -> str:
    """A dimension ref grown to include the cell at row, column."""
    match = re.fullmatch(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?", ref)
    if match is None:
        return ref
    left, top = match[1], int(match[2])
    right, bottom = match[3] or match[1], int(match[4] or match[2])
    if column_index(right) < column:
        right = column_letter(column)
    return f"{left}{top}:{right}{max(bottom, row)}"


def _rebuild(data: bytes, root: spans.Span, owned: dict[str, bytes]) -> bytes:
    """The worksheet with its owned children replaced, in schema order, all others as they were."""
    rank = {name: index for index, name in enumerate(ORDER)}
    kept: list[tuple[float, bytes]] = []
    current = -1.0
    for span in root.children:
        if span.uri == MAIN_NS and span.name in rank:
            current = float(rank[span.name])
        else:
            current += 0.001  # a foreign element (mc:AlternateContent) stays after its neighbour
        if span.uri == MAIN_NS and (span.name in OWNED or span.name in DROPPED):
            continue
        kept.append((current, data[span.start : span.end]))
    kept += [(float(rank[name]), xml) for name, xml in owned.items() if xml]
    kept.sort(key=lambda item: item[0])
    head = data[: root.open_end] if not root.empty else data[: root.open_end - 2] + b">"
    name = data[root.start + 1 : root.open_end].split(maxsplit=1)[0].rstrip(b"/>")
    tail = data[root.close :] if not root.empty else b"</" + name + b">" + data[root.end :]
    return head + b"".join(xml for _, xml in kept) + tail
