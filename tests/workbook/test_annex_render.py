"""The contract annex as the customer signs it: every example in each language, laid out on the
Annex sheet of the current template and printed by LibreOffice, and its Word version converted
by LibreOffice too (a proxy for Word's page count), all in one soffice run.

One or two A4 pages; page 1 holds the parties and the credit limit; the signature lines are on
the last page; no page ends with a clause heading; LibreOffice prints exactly the planned page
breaks (the page capacity is right); every cell's text is printed whole (no text runs under the
next row's: the row heights computed from the text's width hold it);
`zh` shows no English and `en` no Chinese, names aside.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from lo import needs_soffice, soffice
from pdf_words import overlapping_words
from test_annex import EXAMPLES, annex_for

from creditbook.core.records import Lang
from creditbook.workbook.annex import Terms, annex_plan, heading, printed_width, shown
from creditbook.workbook.annex_docx import annex_docx
from creditbook.workbook.approval import Plan
from creditbook.workbook.batch import printable
from creditbook.workbook.layout import ANNEX_SHEET
from creditbook.workbook.package_reader import Book
from creditbook.workbook.package_writer import Editor
from creditbook.workbook.xlsm.build import template_bytes
from creditbook.workbook.xlsm.opc import Package

pytestmark = needs_soffice
LANGS: tuple[Lang, ...] = ("both", "zh", "en")
STEMS = sorted(EXAMPLES)
OUR_NAMES = ("示例云智科技有限公司", "Example Cloud AI Technology Co., Ltd.")


def squeezed(value: str) -> str:
    return re.sub(r"\s+", "", value)


def pdf_pages(pdf: Path, *flags: str) -> list[str]:
    shown_text = subprocess.run(
        ["pdftotext", *flags, str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [page for page in shown_text.split("\f") if page.strip()]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Plan, Path]]:
    """(stem, lang) → the annex's plan and its PDF; (stem, "docx-" + lang) → the .docx's PDF."""
    folder = tmp_path_factory.mktemp("annex-render")
    sources: list[Path] = []
    plans: dict[tuple[str, str], Plan] = {}
    for stem in STEMS:
        annex, _ = annex_for(stem)
        for lang in LANGS:
            plan = annex_plan(annex, lang)
            editor = Editor(Book(Package(template_bytes())))
            editor.write_plan(ANNEX_SHEET, plan)
            sheet = folder / f"{stem}.{lang}.sheet.xlsm"
            sheet.write_bytes(editor.to_bytes())
            copy = folder / f"{stem}.{lang}.xlsm"
            printable(sheet, {ANNEX_SHEET: copy}, lang)
            sources.append(copy)
            plans[(stem, lang)] = plan
            word = folder / f"{stem}.docx-{lang}.docx"
            word.write_bytes(annex_docx(annex, lang))
            sources.append(word)
            plans[(stem, f"docx-{lang}")] = plan
    out = folder / "pdf"
    run = soffice(sources, "pdf", out, folder / "lo-profile", timeout=900)
    made = {}
    for (stem, kind), plan in plans.items():
        pdf = out / f"{stem}.{kind}.pdf"
        assert pdf.exists(), f"soffice wrote no {pdf.name}:\n{run.stdout}{run.stderr}"
        made[(stem, kind)] = (plan, pdf)
    return made


def test_the_columns_fit_the_printed_page_width() -> None:
    assert printed_width() <= 595.3 - 72 * 0.8  # A4 less the side margins


PAIRS = [(stem, lang) for stem in STEMS for lang in LANGS]


@pytest.mark.parametrize(("stem", "lang"), PAIRS, ids=[f"{s}-{lang}" for s, lang in PAIRS])
def test_the_annex_prints_on_two_pages_at_most_as_planned(
    stem: str, lang: Lang, printed: dict[tuple[str, str], tuple[Plan, Path]]
) -> None:
    plan, pdf = printed[(stem, lang)]
    annex, decision = annex_for(stem)
    pages = pdf_pages(pdf, "-layout")
    assert 1 <= len(pages) <= 2, len(pages)
    assert len(pages) == len(plan.row_breaks) + 1, plan.row_breaks  # no automatic break
    first = squeezed(pages[0])
    assert squeezed(decision.customer_name) in first
    terms = annex.clauses[1].blocks[0]  # the credit limit (none, when prepaid) comes first
    assert isinstance(terms, Terms)
    label, limit = terms.rows[0]
    assert squeezed(heading(2, annex.clauses[1].title, lang)) in first
    for part in (label, limit):
        assert squeezed(shown(part, lang, "")) in first or squeezed(part.zh) in first
    last = squeezed(pages[-1])
    for party_a, party_b in annex.signatures:
        assert squeezed(party_a.render(lang if lang != "both" else "zh")) in last
        assert squeezed(party_b.render(lang if lang != "both" else "en")) in last
    headings = {
        squeezed(str(line.cells[0].value))
        for line in plan.lines
        if line.cells[0].style == "cb_clause_title"
    }
    for number, page in enumerate(pages, start=1):
        *body, _footer = [line for line in page.splitlines() if line.strip()]
        assert squeezed(body[-1]) not in headings, f"page {number} ends with {body[-1]!r}"


@pytest.mark.parametrize(("stem", "lang"), PAIRS, ids=[f"{s}-{lang}" for s, lang in PAIRS])
def test_every_cell_prints_whole(
    stem: str, lang: Lang, printed: dict[tuple[str, str], tuple[Plan, Path]]
) -> None:
    """Row heights hold each cell's wrapped text: no line runs under the next row's."""
    plan, pdf = printed[(stem, lang)]
    assert not overlapping_words(pdf)
    shown_text = squeezed("".join(pdf_pages(pdf, "-raw")))
    for line in plan.lines:
        for cell in line.cells:
            if isinstance(cell.value, str):
                assert squeezed(cell.value) in shown_text, cell.value


@pytest.mark.parametrize("stem", STEMS)
def test_each_language_alone_prints_only_its_own_words(
    stem: str, printed: dict[tuple[str, str], tuple[Plan, Path]]
) -> None:
    _, decision = annex_for(stem)
    names = [decision.customer_name, decision.credit_code or decision.customer_name, *OUR_NAMES]
    for lang, foreign in (("zh", r"[A-Za-z]{2,}"), ("en", r"[\u3400-\u9fff]")):
        shown_text = "\n".join(pdf_pages(printed[(stem, lang)][1]))
        for name in names:
            shown_text = shown_text.replace(name, " ")
        shown_text = re.sub(r"\b[0-9a-f]{12}\b", " ", shown_text)  # the approval's fingerprint
        assert not re.findall(foreign, shown_text), (lang, re.findall(foreign, shown_text))


@pytest.mark.parametrize(("stem", "lang"), PAIRS, ids=[f"{s}-{lang}" for s, lang in PAIRS])
def test_the_word_annex_lays_out_on_two_pages_at_most(
    stem: str, lang: Lang, printed: dict[tuple[str, str], tuple[Plan, Path]]
) -> None:
    _, pdf = printed[(stem, f"docx-{lang}")]
    annex, decision = annex_for(stem)
    pages = pdf_pages(pdf)
    assert 1 <= len(pages) <= 2, len(pages)
    assert squeezed(decision.customer_name) in squeezed(pages[0])
    assert squeezed(annex.signatures[0][0].render("zh" if lang == "both" else lang)) in squeezed(
        pages[-1]
    )
