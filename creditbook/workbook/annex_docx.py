"""The contract annex as a Word document (python-docx): the clauses `annex_of` states, on A4.

Legal teams edit contracts in Word, so the annex also goes out as .docx: the same clauses and
tables as the Annex sheet, in the same order and language.
"""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.run import Run

from creditbook.core.records import Lang, Text
from creditbook.workbook.annex import Annex, Terms, numbered_title, shown
from creditbook.workbook.styles import FONT, GREY, NAVY


def _font(
    target: Run | ParagraphStyle, size: float, *, bold: bool = False, color: str = ""
) -> None:
    """Our font, for Latin and for Chinese text (Word takes the East Asian font separately)."""
    font = target.font
    font.name, font.size, font.bold = FONT, Pt(size), bold
    if color:
        font.color.rgb = RGBColor.from_string(color)
    target.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _paragraph(
    document: DocumentObject,
    value: str,
    size: float = 10.0,
    *,
    bold: bool = False,
    color: str = "",
    centred: bool = False,
) -> None:
    paragraph = document.add_paragraph()
    if centred:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(4)
    for index, line in enumerate(value.split("\n")):
        if index:
            paragraph.add_run().add_break()
        _font(paragraph.add_run(line), size, bold=bold, color=color)


def _table(document: DocumentObject, rows: list[list[str]], widths: list[float]) -> Table:
    """A bordered table; in a four-column one the label columns are bold."""
    table: Table = document.add_table(rows=len(rows), cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row, values in zip(table.rows, rows, strict=True):
        for index, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            cell.width = Mm(widths[index])
            paragraph = cell.paragraphs[0]
            for number, line in enumerate(value.split("\n")):
                if number:
                    paragraph.add_run().add_break()
                _font(paragraph.add_run(line), 9.5, bold=index % 2 == 0 and len(widths) == 4)
    document.add_paragraph()
    return table


def _terms(document: DocumentObject, terms: Terms, lang: Lang) -> None:
    cells = [[shown(label, lang), shown(value, lang)] for label, value in terms.rows]
    if not terms.pairs:
        _table(document, cells, [45, 125])
        return
    rows = [
        [*cells[index], *(cells[index + 1] if index + 1 < len(cells) else ["", ""])]
        for index in range(0, len(cells), 2)
    ]
    _table(document, rows, [32, 53, 32, 53])


def annex_docx(annex: Annex, lang: Lang) -> bytes:
    """The annex as .docx bytes: A4 portrait, the clauses numbered, signature lines at the end."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(18)
    normal = document.styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _font(normal, 10)
    _paragraph(document, shown(annex.title, lang), 16, bold=True, color=NAVY, centred=True)
    _paragraph(document, shown(annex.preamble, lang))
    for number, clause in enumerate(annex.clauses, start=1):
        _paragraph(
            document, shown(numbered_title(number, clause.title), lang), 11, bold=True, color=NAVY
        )
        for block in clause.blocks:
            if isinstance(block, Text):
                _paragraph(document, shown(block, lang))
            else:
                _terms(document, block, lang)
    signatures = [
        [shown(party_a, lang), "", shown(party_b, lang), ""]
        for party_a, party_b in annex.signatures
    ]
    table = _table(document, signatures, [38, 47, 38, 47])
    for row in table.rows[:-1]:
        row.height = Mm(16)
    _paragraph(document, shown(annex.reference, lang), 8, color=GREY)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
