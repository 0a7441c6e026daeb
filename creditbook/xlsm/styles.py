"""Cell styles, defined once by name, for the template and the approval sheet."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.workbook.workbook import Workbook

FONT = "Microsoft YaHei"  # CJK-safe on Windows and Mac Office; always named (see notes)
NAVY, GREY, INPUT_FILL, OUTPUT_FILL = "1F3864", "595959", "FFF2CC", "F2F2F2"
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _style(
    name: str,
    *,
    size: int = 10,
    bold: bool = False,
    color: str = "000000",
    fill: str | None = None,
    wrap: bool = False,
    border: bool = False,
    locked: bool = True,
    horizontal: str | None = None,
    italic: bool = False,
) -> NamedStyle:
    style = NamedStyle(name=name)
    style.font = Font(name=FONT, size=size, bold=bold, italic=italic, color=color)
    if fill:
        style.fill = PatternFill("solid", fgColor=fill)
    style.alignment = Alignment(wrap_text=wrap, vertical="center", horizontal=horizontal)
    if border:
        style.border = BOX
    style.protection = Protection(locked=locked)
    return style


STYLES: tuple[NamedStyle, ...] = (
    _style("cb_title", size=16, bold=True, color=NAVY),
    _style("cb_intro", size=9, color=GREY, wrap=True),
    _style("cb_section", size=11, bold=True, color=NAVY),
    _style(
        "cb_header",
        bold=True,
        color="FFFFFF",
        fill=NAVY,
        wrap=True,
        border=True,
        horizontal="center",
    ),
    _style("cb_label", wrap=True, border=True),
    _style("cb_label_required", bold=True, wrap=True, border=True),
    _style("cb_input", fill=INPUT_FILL, border=True, locked=False),
    _style("cb_note", size=9, color=GREY, italic=True, wrap=True),
    _style("cb_output", fill=OUTPUT_FILL, border=True),
    _style("cb_text", wrap=True),
)


def register_styles(wb: Workbook) -> None:
    for style in STYLES:
        if style.name not in wb.named_styles:
            wb.add_named_style(style)
