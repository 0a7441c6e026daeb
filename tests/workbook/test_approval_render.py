"""The Approval sheet as finance prints it: evaluated examples rendered by LibreOffice to PDF.

The PDF must name the customer (Chinese included), show the decision in both languages and the
approved limit as formatted, fit one A4 portrait page wide; a PNG of page 1 is kept under
build/artifacts/ for a human to look at. The native formulas on the input sheets must still compute
after evaluation.
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
from lo import convert, needs_soffice
from openpyxl import load_workbook

from creditbook.workbook.batch import approval_pdf
from creditbook.workbook.layout import BUFFERS, CONSUMPTION, PROFILE

pytestmark = needs_soffice
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "workbook" / "examples"
ARTIFACTS = ROOT / "build" / "artifacts"
A4 = (595.3, 841.9)  # points


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
        "sme_short_history", "杭州云栖智能客服有限公司", "变更授信结构 / Counter-offer", "¥51,000.00"
    ),
    Expected(
        "usd_customer",
        "Lumen Analytics Pte. Ltd.",
        "附条件批准 / Approve with conditions",
        "$113,200.00",
    ),
)


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


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """stem → (evaluated workbook, Decision JSON), from one real `creditbook evaluate` run."""
    folder = tmp_path_factory.mktemp("render")
    sources = []
    for case in CASES:
        source = folder / "in" / f"{case.stem}.xlsm"
        source.parent.mkdir(exist_ok=True)
        shutil.copyfile(EXAMPLES / source.name, source)
        sources.append(source)
    out = folder / "out"
    result = run_evaluate(*sources, "--out", out, "--json", "--jobs", "1", cwd=folder)
    assert result.returncode == 0, result.stderr
    return {
        Path(entry["file"]).stem: (Path(entry["output"]), entry["decision"])
        for entry in json.loads(result.stdout)
    }


@pytest.fixture(scope="module")
def rendered(
    evaluated: dict[str, tuple[Path, dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """stem → the Approval sheet as PDF, through the product's own renderer."""
    folder = tmp_path_factory.mktemp("pdf")
    pdfs = {}
    for stem, (workbook, _) in evaluated.items():
        pdf = approval_pdf(workbook, folder)
        assert pdf is not None and pdf.exists(), f"no PDF for {stem}"
        pdfs[stem] = pdf
    return pdfs


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_pdf_shows_customer_decision_and_limit(
    case: Expected,
    evaluated: dict[str, tuple[Path, dict[str, Any]]],
    rendered: dict[str, Path],
) -> None:
    _, decision = evaluated[case.stem]
    assert decision["customer_name"] == case.customer
    assert formatted(decision["approved_limit"], decision["currency"]) == case.limit
    pdf = rendered[case.stem]

    # -raw keeps a cell's wrapped lines together: the name may wrap inside its cell.
    raw = pdftotext(pdf, "-raw")
    assert squeezed(case.customer) in squeezed(raw)
    assert "授信审批单" in raw

    lines = [one_spaced(line) for line in pdftotext(pdf, "-layout").splitlines()]
    assert f"决定 Decision {case.label}" in lines, [x for x in lines if "Decision" in x]
    limit_line = next(line for line in lines if line.startswith("批准额度 Approved limit"))
    assert limit_line.split()[3] == case.limit, limit_line


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_pdf_is_a4_portrait_one_page_wide(case: Expected, rendered: dict[str, Path]) -> None:
    pdf = rendered[case.stem]
    sizes = page_sizes(pdf)
    assert sizes, "pdfinfo listed no pages"
    for width, height in sizes:
        assert abs(width - A4[0]) < 2 and abs(height - A4[1]) < 2, sizes

    # The stop-loss matrix spans B..F, the widest block: its last header sits on the same printed
    # line as its first, so column F is not pushed onto a page of its own.
    pages = pdftotext(pdf, "-layout").split("\f")
    headers = [
        one_spaced(line) for page in pages for line in page.splitlines() if "触发 Trigger" in line
    ]
    assert headers, "the stop-loss matrix is not in the PDF"
    assert headers[0].endswith("升级 Escalation 恢复 Recovery"), headers
    assert "收到付款 / Payment received" in one_spaced(pdftotext(pdf, "-raw"))  # a column F value

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / f"approval-{case.stem}.png"
    png.unlink(missing_ok=True)
    stem = str(png.with_suffix(""))  # pdftoppm adds .png
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), stem],
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


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_native_formulas_still_compute_after_evaluation(
    case: Expected, evaluated: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    assert PROFILE.form is not None and BUFFERS.form is not None
    workbook, _ = evaluated[case.stem]
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

    computed = load_workbook(convert(workbook, "xlsx", tmp_path), data_only=True)
    value = {name: computed[sheet][cell].value for name, (sheet, _, cell) in cells.items()}
    assert value["lines"] == len(models)
    assert Decimal(str(value["stated_spend"] or 0)) == stated
    if renewal is None:
        assert value["days_to_renewal"] in (None, "")
    else:
        assert value["days_to_renewal"] == (_as_date(renewal) - _as_date(applied)).days
    assert Decimal(str(value["cash_buffers"])) == Decimal(str(deposit)) + Decimal(str(prepaid))
