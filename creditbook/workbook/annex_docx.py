"""The contract annex as a Word document (python-docx): the Annex sheet's rows, on A4.

Legal teams edit contracts in Word, so the annex also goes out as .docx: the rows `annex_plan`
lays out for the sheet, in the same order and words. A paragraph across the sheet is a paragraph;
rows of two cells (a clause's Chinese beside its English, terms, signature lines) are a table,
bordered where the sheet boxes its cells. Sizes are the sheet's as printed (its print scale).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

from creditbook.core.records import Lang
from creditbook.workbook.annex import COLUMN_WIDTHS, PRINT_SCALE, Annex, annex_plan
from creditbook.workbook.approval import Cell, Line
from creditbook.workbook.styles import FONT, FORMATS

TEXT_WIDTH = 174.0  # mm between the side margins
FIRST_WIDTH = TEXT_WIDTH * COLUMN_WIDTHS[0] / sum(COLUMN_WIDTHS)  # column B of the sheet


def _set_font(style: ParagraphStyle) -> None:
    """Our font, for Latin and for Chinese text (Word takes the East Asian font separately)."""
    style.font.name, style.font.size = FONT, Pt(10)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _write(paragraph: Paragraph, cell: Cell, keep: bool) -> None:
    """A cell's text in its format (size as printed, bold, colour, centred), line breaks kept;
    `keep`: on the same page as what follows."""
    fmt = FORMATS[cell.style]
    paragraph.paragraph_format.keep_with_next = keep
    if fmt.horizontal == "center":
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(1)
    paragraph.paragraph_format.line_spacing = 1.0
    for index, line in enumerate(str(cell.value or "").split("\n")):
        if index:
            paragraph.add_run().add_break()
        run = paragraph.add_run(line)
        run.font.size = Pt(fmt.size * PRINT_SCALE / 100)
        run.font.bold = fmt.bold
        run.font.color.rgb = RGBColor.from_string(fmt.color)
        run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _table(document: DocumentObject, lines: Sequence[Line], kept: bool) -> Table:
    """Rows of two cells: column B, then C:F; bordered when the sheet boxes them."""
    table: Table = document.add_table(rows=len(lines), cols=2)
    if FORMATS[lines[0].cells[0].style].border:
        table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(FIRST_WIDTH), Mm(TEXT_WIDTH - FIRST_WIDTH))
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid, which LibreOffice reads
    for row, line in zip(table.rows, lines, strict=True):
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a paragraph never splits
        if line.height > 30 and FORMATS[line.cells[0].style].border:  # room to sign
            row.height = Mm(line.height * 0.35 * PRINT_SCALE / 100)
        for index, (cell, planned) in enumerate(zip(row.cells, line.cells, strict=True)):
            cell.width = widths[index]
            _write(cell.paragraphs[0], planned, kept)
    return table


def annex_docx(annex: Annex, lang: Lang) -> bytes:
    """The annex as .docx bytes: A4 portrait, the clauses numbered, signature lines at the end."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin = section.bottom_margin = Mm(12)
    normal = document.styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _set_font(normal)
    lines = annex_plan(annex, lang).lines
    # the last clause prints on the page of the signature lines, as on the sheet
    signing = max(i for i, line in enumerate(lines) if line.cells[0].style == "cb_clause_title")
    index = 0
    while index < len(lines):
        line = lines[index]
        if len(line.cells) == 1:
            if line.cells[0].value is not None:
                paragraph = document.add_paragraph()
                title = line.cells[0].style == "cb_clause_title"
                if title:
                    paragraph.paragraph_format.space_before = Pt(6)
                _write(paragraph, line.cells[0], title or index >= signing)
            index += 1
            continue
        boxed = FORMATS[line.cells[0].style].border
        end = index
        while (
            end < len(lines)
            and len(lines[end].cells) == 2
            and FORMATS[lines[end].cells[0].style].border == boxed
        ):
            end += 1
        _table(document, lines[index:end], index >= signing and end < len(lines))
        index = end
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
