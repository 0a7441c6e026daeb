"""The named formats as openpyxl named styles (the live-Excel writer applies the same formats)."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.workbook.workbook import Workbook

from creditbook.workbook.styles import BORDER_COLOR, FONT, FORMATS, Format

THIN = Side(style="thin", color=BORDER_COLOR)
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def named_style(name: str, fmt: Format) -> NamedStyle:
    style = NamedStyle(name=name)
    style.font = Font(name=FONT, size=fmt.size, bold=fmt.bold, italic=fmt.italic, color=fmt.color)
    if fmt.fill:
        style.fill = PatternFill("solid", fgColor=fmt.fill)
    style.alignment = Alignment(
        wrap_text=fmt.wrap, vertical=fmt.vertical, horizontal=fmt.horizontal
    )
    if fmt.border:
        style.border = BOX
    style.protection = Protection(locked=fmt.locked)
    return style


def register_styles(wb: Workbook) -> None:
    for name, fmt in FORMATS.items():
        if name not in wb.named_styles:
            wb.add_named_style(named_style(name, fmt))
