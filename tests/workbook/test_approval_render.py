"""The Approval sheet as a committee prints it: every example, evaluated in each language, rendered
by LibreOffice to PDF, and read back page by page.

Page 1 must hold what a committee signs from (the decision, the approved limit, the binding cap,
the approvers); no page may end with a section or table header; LibreOffice must print exactly the
manual page breaks the plan computed (so the page height it was computed for is right); the text
must carry labels, not ids or bare ratios; and `--lang zh` must show no English, `--lang en` no
Chinese, names aside. All PDFs come from one soffice run. A PNG of page 1 of each approval in
both languages is kept under build/artifacts/ for a human to look at. The native formulas on the
input sheets must still compute after evaluation.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_run import run_evaluate
from lo import needs_soffice, soffice
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl_reader import read_snapshot
from pdf_words import overlapping_words

from creditbook.core.labels import LABELS
from creditbook.core.models import DecisionKind, Role
from creditbook.core.records import Lang, Text
from creditbook.workbook.batch import printable
from creditbook.workbook.layout import APPROVAL_SHEET, BUFFERS, CONSUMPTION, PROFILE

pytestmark = needs_soffice
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "workbook" / "examples"
APPLICATIONS = ROOT / "examples" / "applications"
ARTIFACTS = ROOT / "build" / "artifacts"
A4 = (595.3, 841.9)  # points
LANGS: tuple[Lang, ...] = ("both", "zh", "en")
EVALUATOR = "张敏"
STEMS = sorted(path.stem for path in EXAMPLES.glob("*.xlsm"))
HEADER_STYLES = {"cb_section", "cb_header"}


@dataclass(frozen=True)
class Expected:
    """What finance must read on the printed approval of one example."""

    stem: str
    customer: str
    label: str  # 中文 / English
    limit: str  # the approved limit as the sheet formats it


CASES = (
    Expected("listed_company", "上海星河数据股份有限公司", "批准 / Approve", "¥800,000.00"),
    Expected(
        "sme_short_history",
        "杭州云栖智能客服有限公司",
        "变更授信结构 / Counter-offer",
        "¥51,000.00",
    ),
    Expected(
        "usd_customer",
        "Lumen Analytics Pte. Ltd.",
        "附条件批准 / Approve with conditions",
        "$113,200.00",
    ),
)


@dataclass(frozen=True)
class Rendered:
    """One evaluated example in one language: its workbook, Decision JSON and PDF, with each
    page's text laid out as printed (`pages`, the footer line last) and in reading order
    (`raw_pages`: a cell's wrapped lines stay together), its header rows and manual breaks."""

    workbook: Path
    decision: dict[str, Any]
    pdf: Path
    lang: Lang
    pages: list[str]
    raw_pages: list[str]
    headers: set[str]
    breaks: list[int]


def pages_of(pdf: Path, *flags: str) -> list[str]:
    return [page for page in pdftotext(pdf, *flags).split("\f") if page.strip()]


def formatted(amount: Any, currency: str) -> str:
    """An amount the way the sheet's number format `"¥"#,##0.00` shows it."""
    symbol = {"CNY": "¥", "USD": "$"}[currency]
    return f"{symbol}{Decimal(str(amount)):,.2f}"


def pdftotext(pdf: Path, *flags: str) -> str:
    result = subprocess.run(
        ["pdftotext", *flags, str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def one_spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return [
        (float(w), float(h))
        for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    ]


def png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def said(value: Text, lang: Lang) -> str:
    return value.render(lang)


def word(zh: str, en: str, lang: Lang) -> str:
    """A label as the sheet writes it in `lang`."""
    return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, Lang], Rendered]:
    """(stem, lang) → the example evaluated by the real CLI with --lang, printed to PDF through
    the product's printable copy, all in one LibreOffice run."""
    folder = tmp_path_factory.mktemp("render")
    sources = folder / "in"
    sources.mkdir()
    for stem in STEMS:
        shutil.copyfile(EXAMPLES / f"{stem}.xlsm", sources / f"{stem}.xlsm")
    evaluated: dict[tuple[str, Lang], tuple[Path, dict[str, Any]]] = {}
    for lang in LANGS:
        out = folder / lang
        given = () if lang == "both" else ("--lang", lang)  # both: the default
        result = run_evaluate(
            *sorted(sources.iterdir()),
            "--out",
            out,
            "--json",
            "--jobs",
            "2",
            "--evaluator",
            EVALUATOR,
            *given,
            cwd=folder,
        )
        assert result.returncode == 0, result.stderr
        for entry in json.loads(result.stdout):
            evaluated[(Path(entry["file"]).stem, lang)] = (Path(entry["output"]), entry["decision"])
    prints = folder / "print"
    prints.mkdir()
    copies = []
    for (stem, lang), (workbook, _) in evaluated.items():
        copy = prints / f"{stem}.{lang}.xlsm"
        printable(workbook, {APPROVAL_SHEET: copy})
        copies.append(copy)
    pdfs = folder / "pdf"
    run = soffice(copies, "pdf", pdfs, folder / "lo-profile", timeout=600)
    made = {}
    for (stem, lang), (workbook, decision) in evaluated.items():
        pdf = pdfs / f"{stem}.{lang}.pdf"
        assert pdf.exists(), f"soffice wrote no {pdf.name}:\n{run.stdout}{run.stderr}"
        ws = load_workbook(workbook)[APPROVAL_SHEET]
        made[(stem, lang)] = Rendered(
            workbook,
            decision,
            pdf,
            lang,
            pages_of(pdf, "-layout"),
            pages_of(pdf, "-raw"),
            header_rows(ws),
            [b.id for b in ws.row_breaks.brk],
        )
    return made


def application(stem: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((APPLICATIONS / f"{stem}.json").read_text("utf-8"))
    return data


def names(item: Rendered, stem: str) -> list[str]:
    """What the sheet shows as typed, in whatever script: the customer, the people, the models,
    the policy's name."""
    decision = item.decision
    profile = application(stem)["profile"]
    return [
        decision["customer_name"],
        profile.get("sales_owner") or "",
        EVALUATOR,
        decision["audit"]["policy_id"],
        *(line["model"] for line in decision["exposure"]["lines"]),
    ]


def header_rows(ws: Worksheet) -> set[str]:
    """The section and table headers as printed (a table header's cells joined by spaces)."""
    found = set()
    for row in ws.iter_rows(min_col=2, max_col=6):
        if any(cell.style in HEADER_STYLES for cell in row):
            found.add(one_spaced(" ".join(str(c.value) for c in row if c.value is not None)))
    return found


PAIRS = [(stem, lang) for stem in STEMS for lang in LANGS]


@pytest.mark.parametrize(("stem", "lang"), PAIRS, ids=[f"{s}-{lang}" for s, lang in PAIRS])
def test_page_one_is_what_the_committee_signs(
    stem: str, lang: Lang, rendered: dict[tuple[str, Lang], Rendered]
) -> None:
    item = rendered[(stem, lang)]
    decision = item.decision
    first = squeezed(item.raw_pages[0])
    assert squeezed(decision["customer_name"]) in first
    assert squeezed(said(LABELS[DecisionKind(decision["decision"])], lang)) in first
    assert formatted(decision["approved_limit"], decision["currency"]) in first
    binding = [cap for cap in decision["limit_caps"] if cap["binding"]]
    assert len(binding) == 1
    # the JSON speaks the sheet's language; English lines start with a capital on the sheet
    assert squeezed(binding[0]["label"]).casefold() in first.casefold(), binding
    assert squeezed(word("约束额度", "binds", lang)) in first  # the ✓ prints in a run of its own
    for approver in decision["approvals_required"]:
        assert squeezed(said(LABELS[Role(approver["role"])], lang)) in first, approver
    assert squeezed(word("审批意见", "Opinion", lang)) in first
    assert squeezed(word("申请人", "Applicant", lang)) in first
    # the detail starts on page 2
    assert squeezed(word("评分明细", "Score breakdown", lang)) not in first


@pytest.mark.parametrize(("stem", "lang"), PAIRS, ids=[f"{s}-{lang}" for s, lang in PAIRS])
def test_pages_break_where_the_plan_says_and_never_after_a_header(
    stem: str, lang: Lang, rendered: dict[tuple[str, Lang], Rendered]
) -> None:
    item = rendered[(stem, lang)]
    pages = item.pages
    # LibreOffice added no automatic break: the computed page height holds what it prints
    assert len(pages) == len(item.breaks) + 1, item.breaks
    sizes = page_sizes(item.pdf)
    assert all(abs(w - A4[0]) < 2 and abs(h - A4[1]) < 2 for w, h in sizes), sizes
    total = len(pages)
    for number, page in enumerate(pages, start=1):
        *body, footer = [one_spaced(line) for line in page.splitlines() if line.strip()]
        assert body, f"page {number} is empty"
        assert body[-1] not in item.headers, f"page {number} ends with its header {body[-1]!r}"
        page_of = {
            "zh": f"第 {number} 页，共 {total} 页",
            "en": f"page {number} of {total}",
            "both": f"第 {number} 页，共 {total} 页 · page {number} of {total}",
        }[lang]
        assert page_of in footer, footer
        assert item.decision["audit"]["fingerprint"][:12] in footer, footer
        assert squeezed(item.decision["customer_name"]) in squeezed(footer), footer


@pytest.mark.parametrize(("stem", "lang"), PAIRS, ids=[f"{s}-{lang}" for s, lang in PAIRS])
def test_every_cell_prints_whole(
    stem: str, lang: Lang, rendered: dict[tuple[str, Lang], Rendered]
) -> None:
    """The row heights computed from the text's width hold it: no line runs under the next
    row's, and every text is printed."""
    item = rendered[(stem, lang)]
    assert not overlapping_words(item.pdf)
    printed = squeezed("".join(item.raw_pages)).replace("✓", "")  # it prints in a run of its own
    ws = load_workbook(item.workbook)[APPROVAL_SHEET]
    for row in ws.iter_rows(min_col=2, max_col=6):
        for cell in row:
            if isinstance(cell.value, str):
                assert squeezed(cell.value).replace("✓", "") in printed, cell.value


@pytest.mark.parametrize(("stem", "lang"), PAIRS, ids=[f"{s}-{lang}" for s, lang in PAIRS])
def test_the_text_shows_labels_not_ids_or_bare_ratios(
    stem: str, lang: Lang, rendered: dict[tuple[str, Lang], Rendered]
) -> None:
    item = rendered[(stem, lang)]
    text = "\n".join(item.pages)
    for name in names(item, stem):
        text = text.replace(name, " ")
    text = text.replace(item.decision["credit_code"] or "", " ")
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", text)  # snake_case ids
    assert not re.findall(r"(?<![\w.,])\d?\.\d{3,}(?![\d%])", text)  # 0.2857, not 28.57%
    assert not re.findall(r"(?<![\w.,$¥/-])\d{5,}(?![\w.,%-])", text)  # 86000, not ¥86,000
    assert "root" not in text.split()


@pytest.mark.parametrize("stem", STEMS)
def test_each_language_shows_only_its_own_words(
    stem: str, rendered: dict[tuple[str, Lang], Rendered]
) -> None:
    for lang in ("zh", "en"):
        item = rendered[(stem, lang)]
        text = "\n".join(item.pages)
        for name in names(item, stem):
            text = text.replace(name, " ")
        if lang == "zh":
            english = re.findall(r"[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}", text)
            assert not english, english
        else:
            chinese = re.findall(r"[\u3400-\u9fff]+", text)
            assert not chinese, chinese
    both = "\n".join(rendered[(stem, "both")].pages)
    assert "审批结论 Decision" in one_spaced(both)
    for lang in LANGS:  # the audit snapshot remembers the document's language (annex, PDF footer)
        snapshot = read_snapshot(load_workbook(rendered[(stem, lang)].workbook))
        assert snapshot["document.language"] == lang


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_pdf_shows_customer_decision_and_limit(
    case: Expected, rendered: dict[tuple[str, Lang], Rendered]
) -> None:
    item = rendered[(case.stem, "both")]
    decision = item.decision
    assert decision["customer_name"] == case.customer
    assert formatted(decision["approved_limit"], decision["currency"]) == case.limit
    raw = "\n".join(item.raw_pages)
    assert squeezed(case.customer) in squeezed(raw)
    assert "授信审批单" in raw

    lines = [one_spaced(line) for page in item.pages for line in page.splitlines()]
    assert f"审批结论 Decision {case.label}" in lines, [x for x in lines if "Decision" in x]
    limit_line = next(line for line in lines if line.startswith("批准额度 Approved limit"))
    assert limit_line.split()[3] == case.limit, limit_line


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_the_widest_table_prints_on_one_page_width(
    case: Expected, rendered: dict[tuple[str, Lang], Rendered]
) -> None:
    item = rendered[(case.stem, "both")]
    # The stop-loss matrix spans B..F, the widest block: its last header sits on the same printed
    # line as its first, so column F is not pushed onto a page of its own.
    lines = [one_spaced(line) for page in item.pages for line in page.splitlines()]
    header = [line for line in lines if "触发情形 Trigger" in line]
    assert header and header[0].endswith("升级措施 Escalation 恢复条件 Recovery"), header
    assert "收到付款 / Payment received" in one_spaced("\n".join(item.raw_pages))  # column F

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / f"approval-{case.stem}.png"
    png.unlink(missing_ok=True)
    stem = str(png.with_suffix(""))  # pdftoppm adds .png
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile", str(item.pdf), stem],
        check=True,
        capture_output=True,
    )
    width, height = png_size(png)
    assert abs(width - A4[0] / 72 * 80) < 3 and abs(height - A4[1] / 72 * 80) < 3, (width, height)


# ------------------------------------------------------------------------- native formulas
# Addresses from creditbook/xlsm/template.py `_native_formulas`: each `_summary` box writes its
# label in the named column and the formula in the column to its right, from the block's first
# row: Consumption L/M from the table's first data row, Profile and Buffers F/G from the form's.
def native_cells() -> dict[str, tuple[str, str, str]]:
    """name → (sheet, label cell, formula cell)."""
    assert PROFILE.form is not None and BUFFERS.form is not None
    first = CONSUMPTION.tables[0].first_data_row
    return {
        "lines": (CONSUMPTION.name, f"L{first}", f"M{first}"),
        "stated_spend": (CONSUMPTION.name, f"L{first + 1}", f"M{first + 1}"),
        "days_to_renewal": (
            PROFILE.name,
            f"F{PROFILE.form.first_row}",
            f"G{PROFILE.form.first_row}",
        ),
        "cash_buffers": (BUFFERS.name, f"F{BUFFERS.form.first_row}", f"G{BUFFERS.form.first_row}"),
    }


def _as_date(value: Any) -> date:
    return value.date() if hasattr(value, "date") else value  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def recomputed(
    rendered: dict[tuple[str, Lang], Rendered], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """stem → the evaluated workbook as LibreOffice computed it (xlsx), in one soffice run."""
    folder = tmp_path_factory.mktemp("xlsx")
    sources = [rendered[(case.stem, "both")].workbook for case in CASES]
    run = soffice(sources, "xlsx", folder, folder / "lo-profile", timeout=300)
    converted = {path.stem: folder / f"{path.stem}.xlsx" for path in sources}
    assert all(path.exists() for path in converted.values()), run.stdout + run.stderr
    return converted


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_native_formulas_still_compute_after_evaluation(
    case: Expected, rendered: dict[tuple[str, Lang], Rendered], recomputed: dict[str, Path]
) -> None:
    assert PROFILE.form is not None and BUFFERS.form is not None
    workbook = rendered[(case.stem, "both")].workbook
    cells = native_cells()
    formulas = load_workbook(workbook)
    labels = {name: formulas[sheet][label].value for name, (sheet, label, _) in cells.items()}
    assert labels == {
        "lines": "消耗行数 Lines",
        "stated_spend": "已填月消耗合计 Stated monthly spend",
        "days_to_renewal": "距续约天数 Days to renewal",
        "cash_buffers": "保证金与预付余额合计 Deposit and prepaid balance",
    }
    for name, (sheet, _, cell) in cells.items():
        assert str(formulas[sheet][cell].value).startswith("="), (name, formulas[sheet][cell].value)
    assert str(formulas[CONSUMPTION.name][cells["lines"][2]].value).startswith("=COUNTA(")

    # Expected values straight from the input cells.
    table = CONSUMPTION.tables[0]
    keys = [column.key for column in table.columns]
    last = table.header_row + table.capacity
    consumption = formulas[CONSUMPTION.name]

    def column(key: str) -> list[Any]:
        letter = table.letter(keys.index(key))
        return [
            consumption[f"{letter}{row}"].value for row in range(table.first_data_row, last + 1)
        ]

    models = [model for model in column("model") if model not in (None, "")]
    stated = sum(Decimal(str(spend)) for spend in column("monthly_spend") if spend is not None)
    profile, buffers = formulas[PROFILE.name], formulas[BUFFERS.name]
    applied = profile[PROFILE.form.cell("application_date")].value
    renewal = profile[PROFILE.form.cell("contract_renewal_date")].value
    deposit = buffers[BUFFERS.form.cell("deposit")].value or 0
    prepaid = buffers[BUFFERS.form.cell("prepaid_balance")].value or 0
    assert models, "the example has no consumption lines to count"

    computed = load_workbook(recomputed[case.stem], data_only=True)
    value = {name: computed[sheet][cell].value for name, (sheet, _, cell) in cells.items()}
    assert value["lines"] == len(models)
    assert Decimal(str(value["stated_spend"] or 0)) == stated
    if renewal is None:
        assert value["days_to_renewal"] in (None, "")
    else:
        assert value["days_to_renewal"] == (_as_date(renewal) - _as_date(applied)).days
    assert Decimal(str(value["cash_buffers"])) == Decimal(str(deposit)) + Decimal(str(prepaid))
