"""The contract annex as files: the Annex sheet `creditbook evaluate` writes, its PDF beside the
approval's, and `creditbook annex` re-printing it from the audit snapshot as .docx and .pdf.

Real subprocesses on a copy of an example with a staged ramp and a deposit to post; LibreOffice
runs twice in all (evaluate --pdf, and one annex PDF).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_run import run_creditbook, run_evaluate
from docx import Document
from lo import needs_soffice
from openpyxl import load_workbook

from creditbook.workbook.annex import COLUMN_WIDTHS, PRINT_SCALE
from creditbook.workbook.evaluate import evaluate_workbook
from creditbook.workbook.layout import ANNEX_SHEET, APPROVAL_SHEET
from creditbook.workbook.session import officials

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "workbook" / "examples"
STEM = "state_owned_new"
CUSTOMER = "中能智算（北京）科技有限公司"
CODE = "91110000710935732K"
A4 = (595, 842)  # points, rounded
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def pdftotext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def page_sizes(pdf: Path) -> list[tuple[int, int]]:
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "99", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return [
        (round(float(w)), round(float(h)))
        for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    ]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example evaluated by `creditbook evaluate --pdf` into out/."""
    folder = tmp_path_factory.mktemp("annex")
    source = folder / "in" / f"{STEM}.xlsm"
    source.parent.mkdir()
    shutil.copyfile(EXAMPLES / source.name, source)
    result = run_evaluate(source, "--out", folder / "out", "--pdf", "--jobs", "1", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "out" / source.name


def sheet_strings(path: Path, sheet: str) -> list[str]:
    ws = load_workbook(path)[sheet]
    return [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]


def test_evaluate_writes_the_annex_sheet(evaluated: Path) -> None:
    ws = load_workbook(evaluated, keep_vba=True)[ANNEX_SHEET]
    shown = "\n".join(sheet_strings(evaluated, ANNEX_SHEET))
    assert "合同附表 · 授信条款\nContract annex · Credit terms" in shown
    assert CUSTOMER in shown and CODE in shown
    assert "授信额度：¥200,000（人民币贰拾万元整）\nCredit limit: CNY 200,000.00" in shown
    assert "额度分阶段开放：自开通之日起 ¥185,000；开通后第 60 天起 ¥200,000" in shown
    assert "逾期 ≥ 60 天：暂停全部服务" in shown and "Overdue ≥ 60 days: All service" in shown
    assert ws.protection.sheet
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "portrait"  # A4
    # a fixed scale, or Excel would ignore the manual page breaks
    assert not ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.scale == PRINT_SCALE
    assert [ws.column_dimensions[c].width for c in "BCDEF"] == list(COLUMN_WIDTHS)
    assert ws.row_breaks.brk, "a bilingual annex needs a page break between clauses"
    for brk in ws.row_breaks.brk:  # a page never ends on a clause title
        assert ws.cell(brk.id, 2).style != "cb_clause_title"
    assert ws.print_area == f"'{ANNEX_SHEET}'!$B$1:$F${ws.max_row}"


@needs_soffice
def test_pdf_writes_the_approval_and_the_annex_each_alone(evaluated: Path) -> None:
    approval, annex = evaluated.with_suffix(".pdf"), evaluated.with_suffix(".annex.pdf")
    approval_text, annex_text = pdftotext(approval), pdftotext(annex)
    assert "授信审批单" in approval_text and "合同附表" not in approval_text
    assert "合同附表" in annex_text and "授信审批单" not in annex_text
    assert "第一条 合同双方" in annex_text and "Article 7 Term" in annex_text
    assert "甲方（盖章）" in annex_text and "乙方（盖章）" in annex_text
    sizes = page_sizes(annex)
    assert 1 <= len(sizes) <= 2 and set(sizes) == {A4}, sizes


def test_annex_docx_is_the_annex_of_the_approval(evaluated: Path, tmp_path: Path) -> None:
    target = tmp_path / "annex.docx"
    result = run_creditbook("annex", evaluated, "-o", target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = Document(str(target))
    texts = [p.text for p in document.paragraphs if p.text]
    texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    # the same clauses, figures and words as the Annex sheet evaluate wrote (both languages)
    assert {t for t in texts if t} == set(sheet_strings(evaluated, ANNEX_SHEET))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_annex_docx_in_english_has_no_chinese_but_the_name(evaluated: Path, tmp_path: Path) -> None:
    target = tmp_path / "annex.en.docx"
    result = run_creditbook("annex", evaluated, "-o", target, "--lang", "en", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = Document(str(target))
    body = "\n".join(
        [p.text for p in document.paragraphs]
        + [c.text for t in document.tables for r in t.rows for c in r.cells]
    )
    assert "Article 2 Credit limit and settlement" in body and "CNY 200,000.00" in body
    assert not re.findall(r"[\u3400-\u9fff]", body.replace(CUSTOMER, ""))


@needs_soffice
def test_annex_pdf_in_chinese_fits_two_pages(evaluated: Path, tmp_path: Path) -> None:
    target = tmp_path / "annex.pdf"
    result = run_creditbook("annex", evaluated, "-o", target, "--lang", "zh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = pdftotext(target)
    assert "第一条 合同双方" in shown and "¥200,000（人民币贰拾万元整）" in shown
    assert "额度使用率≥150%（已用¥300,000）" in re.sub(r"\s+", "", shown)
    names = shown.replace(CODE, "")
    assert not re.findall(r"[A-Za-z]{2,}", re.sub(r"\b[0-9a-f]{12}\b", "", names))
    sizes = page_sizes(target)
    assert 1 <= len(sizes) <= 2 and set(sizes) == {A4}, sizes


def test_a_workbook_never_evaluated_has_no_annex(tmp_path: Path) -> None:
    target = tmp_path / "annex.docx"
    result = run_creditbook("annex", EXAMPLES / f"{STEM}.xlsm", "-o", target, cwd=tmp_path)
    assert result.returncode == 2
    assert "从未评估" in result.stderr and "never evaluated" in result.stderr
    assert not target.exists()


def test_an_altered_snapshot_is_refused(evaluated: Path, tmp_path: Path) -> None:
    altered = tmp_path / "altered.xlsm"
    wb = load_workbook(evaluated, keep_vba=True)
    ws = wb[APPROVAL_SHEET]
    for key, value in ws.iter_rows(min_col=10, max_col=11):
        if key.value == "application.profile.requested_limit":
            value.value = 2_000_000
    wb.save(altered)
    target = tmp_path / "annex.docx"
    result = run_creditbook("annex", altered, "-o", target, cwd=tmp_path)
    assert result.returncode == 2
    assert "指纹不符" in result.stderr and "fingerprint" in result.stderr
    assert not target.exists()


def test_only_pdf_and_docx_are_written(evaluated: Path, tmp_path: Path) -> None:
    result = run_creditbook("annex", evaluated, "-o", tmp_path / "annex.txt", cwd=tmp_path)
    assert result.returncode == 2 and ".pdf" in result.stderr


def test_a_workbook_from_an_older_template_gets_the_annex_sheet(tmp_path: Path) -> None:
    older = tmp_path / "older.xlsm"
    wb = load_workbook(EXAMPLES / f"{STEM}.xlsm", keep_vba=True)
    wb.remove(wb[ANNEX_SHEET])
    wb.save(older)
    result = evaluate_workbook(
        older, officials=officials(()), evaluated_by="tester", evaluated_at=AT
    )
    assert result.workbook is not None and result.decision is not None
    added = load_workbook(io.BytesIO(result.workbook))[ANNEX_SHEET]
    assert added.protection.sheet and added.print_area
    assert not added.sheet_properties.pageSetUpPr.fitToPage
    assert added.page_setup.scale == PRINT_SCALE
    assert any("授信额度" in str(cell.value) for row in added.iter_rows() for cell in row)
