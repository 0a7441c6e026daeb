"""LibreOffice as the real spreadsheet client: it opens what we build and shows what we declared."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from lo import convert, needs_soffice

from creditbook.core.labels import shown
from creditbook.core.models import Application
from creditbook.workbook.evaluate import evaluate_workbook, export_application
from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    AUDIT_SHEET,
    BUFFERS,
    CONSUMPTION,
    INPUT_SHEETS,
    PROFILE,
    STOP_LOSS,
)
from creditbook.workbook.new import new_workbook
from creditbook.workbook.session import officials
from creditbook.workbook.verify import verify_file
from creditbook.workbook.xlsm.template import LIVE_CHECK_HINT, LIVE_CHECKS

pytestmark = needs_soffice
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "artifacts"
EXAMPLE = ROOT / "examples" / "applications" / "usd_customer.json"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Application]:
    app = Application.model_validate(json.loads(EXAMPLE.read_text("utf-8"), parse_float=Decimal))
    path = tmp_path_factory.mktemp("filled") / "CreditReview_Lumen.xlsm"
    path.write_bytes(new_workbook(app))
    return path, app


def test_libreoffice_keeps_dropdowns_and_protection(
    filled: tuple[Path, Application], tmp_path: Path
) -> None:
    ods = convert(filled[0], "ods", tmp_path)
    content = ET.fromstring(zipfile.ZipFile(ods).read("content.xml"))
    conditions = [
        v.get(f"{{{TABLE}}}condition", "") for v in content.iter(f"{{{TABLE}}}content-validation")
    ]
    listed = [c for c in conditions if "cell-content-is-in-list" in c]
    choice_fields = {f.list_name for sheet in INPUT_SHEETS for f in sheet.fields() if f.options}
    assert len(listed) >= len(choice_fields)
    assert any("list_entity_type" in c or "Lists" in c for c in listed), listed[:3]
    protected = {
        t.get(f"{{{TABLE}}}name"): t.get(f"{{{TABLE}}}protected")
        for t in content.iter(f"{{{TABLE}}}table")
    }
    assert protected[APPROVAL_SHEET] == "true" and protected[AUDIT_SHEET] == "true"
    assert protected[CONSUMPTION.name] != "true", (
        "finance must be able to extend the consumption table"
    )


def _computed(path: Path, tmp_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(convert(path, "xlsx", tmp_path), data_only=True)


def test_native_formulas_compute_in_libreoffice(
    filled: tuple[Path, Application], tmp_path: Path
) -> None:
    path, app = filled
    wb = _computed(path, tmp_path)
    assert PROFILE.form is not None and BUFFERS.form is not None
    profile = wb[PROFILE.name]
    renewal_row = PROFILE.form.first_row  # the summary box sits beside the form's first rows
    assert app.profile.contract_renewal_date is None
    assert profile[f"G{renewal_row}"].value in (None, "")  # no renewal date: the countdown is blank
    guarantee_share = profile[f"G{renewal_row + 1}"].value
    assert guarantee_share == pytest.approx(
        float(app.profile.guarantee_amount / app.profile.requested_limit)
    )
    consumption = wb[CONSUMPTION.name]
    first = CONSUMPTION.tables[0].first_data_row
    assert consumption[f"M{first}"].value == len(app.consumption)
    stated = sum(line.monthly_spend or 0 for line in app.consumption)
    assert consumption[f"M{first + 1}"].value == pytest.approx(float(stated))
    buffers = wb[BUFFERS.name]
    assert buffers[f"G{BUFFERS.form.first_row}"].value == pytest.approx(
        float(app.buffers.deposit + app.buffers.prepaid_balance)
    )


def test_native_formulas_compute_on_the_template(tmp_path: Path) -> None:
    template = tmp_path / "CreditReview.xlsm"
    template.write_bytes(new_workbook(None))
    stop_loss = _computed(template, tmp_path)[STOP_LOSS.name]
    first = STOP_LOSS.tables[0].first_data_row
    counts = [stop_loss[f"R{first + offset}"].value for offset in range(3)]
    assert counts == [4, 2, 4]  # the policy playbook's steps per trigger


def test_renewal_countdown_computes(tmp_path: Path) -> None:
    app = Application.model_validate(
        json.loads(
            (ROOT / "examples" / "applications" / "listed_company.json").read_text("utf-8"),
            parse_float=Decimal,
        )
    )
    path = tmp_path / "listed.xlsm"
    path.write_bytes(new_workbook(app))
    assert PROFILE.form is not None and app.profile.contract_renewal_date is not None
    days = _computed(path, tmp_path)[PROFILE.name][f"G{PROFILE.form.first_row}"].value
    assert days == (app.profile.contract_renewal_date - app.profile.application_date).days


def test_input_sheets_render_with_chinese_labels(
    filled: tuple[Path, Application], tmp_path: Path
) -> None:
    pdf = convert(filled[0], "pdf", tmp_path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for sheet in INPUT_SHEETS:
        assert sheet.title.zh in text and sheet.title.en in text
    assert "统一社会信用代码" in text and "Lumen Analytics" in text
    if shutil.which("pdftoppm"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "70",
                "-png",
                "-f",
                "1",
                "-l",
                str(len(INPUT_SHEETS)),
                str(pdf),
                str(ARTIFACTS / "input-sheet"),
            ],
            check=True,
        )
        assert len(list(ARTIFACTS.glob("input-sheet-*.png"))) >= len(INPUT_SHEETS)


def test_the_filled_workbook_is_still_a_zip_with_our_parts(
    filled: tuple[Path, Application],
) -> None:
    names = zipfile.ZipFile(io.BytesIO(filled[0].read_bytes())).namelist()
    assert "xl/vbaProject.bin" in names and "customUI/customUI.xml" in names


def test_a_formula_typed_into_an_input_cell_is_read_through_its_cached_value(
    filled: tuple[Path, Application], tmp_path: Path
) -> None:
    path, app = filled
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert PROFILE.form is not None
    wb[PROFILE.name][PROFILE.form.cell("requested_limit")] = "=1000*120"
    typed = tmp_path / "typed.xlsx"
    wb.save(typed)
    saved_by_a_client = convert(
        typed, "xlsx", tmp_path / "recalculated"
    )  # LibreOffice caches values
    exported, issues = export_application(saved_by_a_client)
    assert exported is not None, issues
    assert exported.profile.requested_limit == 120000 == app.profile.requested_limit
    evaluated = evaluate_workbook(
        saved_by_a_client,
        officials=officials([]),
        evaluated_by="test",
        evaluated_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert evaluated.workbook is not None
    cell = f"{PROFILE.name}!{PROFILE.form.cell('requested_limit')}"
    assert [issue.location for issue in evaluated.issues if "=1000*120" in issue.message.en] == [
        cell
    ]
    warned = [i.message.en for i in evaluated.issues if "=1000*120" in i.message.en]
    assert warned == [
        "the formula =1000*120 was evaluated as its result 120000; the audit snapshot keeps that value"
    ]
    output = tmp_path / "evaluated.xlsx"
    output.write_bytes(evaluated.workbook)
    # the input sheet is not rewritten: the formula stays, with the result the client saved ...
    kept = openpyxl.load_workbook(output)[PROFILE.name][PROFILE.form.cell("requested_limit")]
    assert (kept.value, kept.data_type) == ("=1000*120", "f")
    cached = openpyxl.load_workbook(output, data_only=True)[PROFILE.name]
    assert cached[PROFILE.form.cell("requested_limit")].value == 120000
    # ... the audit snapshot holds the evaluated value, and verify reads the saved result again
    approval = openpyxl.load_workbook(output)[APPROVAL_SHEET]
    snapshot = {
        row[0]: row[1] for row in approval.iter_rows(min_col=10, max_col=11, values_only=True)
    }
    assert snapshot["application.profile.requested_limit"] == 120000
    assert verify_file(output, officials([])).status == "unchanged"


def test_a_formula_without_a_saved_result_is_an_error_at_its_cell(
    filled: tuple[Path, Application], tmp_path: Path
) -> None:
    """openpyxl writes formulas without results: nothing to evaluate, so the cell is named."""
    wb = openpyxl.load_workbook(filled[0], keep_vba=True)
    assert PROFILE.form is not None
    wb[PROFILE.name][PROFILE.form.cell("requested_limit")] = "=1000*120"
    wb.save(tmp_path / "typed.xlsm")
    exported, issues = export_application(tmp_path / "typed.xlsm")
    assert exported is None
    assert [(i.location, i.severity) for i in issues if "no saved result" in i.message.en] == [
        (f"{PROFILE.name}!{PROFILE.form.cell('requested_limit')}", "error")
    ]


def test_live_checks_show_a_hint_not_an_error_before_functions_are_imported(
    filled: tuple[Path, Application], tmp_path: Path
) -> None:
    """LibreOffice has no xlwings UDFs, exactly like Excel before Import Functions: the live-check
    cells show what to do, never #NAME?."""
    path, _ = filled
    profile = _computed(path, tmp_path)[PROFILE.name]
    hint = shown(LIVE_CHECK_HINT)
    cells = [
        cell.value
        for row in profile.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and ("#NAME" in cell.value or cell.value == hint)
    ]
    assert cells == [hint] * len(LIVE_CHECKS)
