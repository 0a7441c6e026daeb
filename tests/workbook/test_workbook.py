"""The built workbook: reproducible, laid out as declared, and JSON → workbook → JSON identical."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook
from openpyxl_reader import read_inputs, read_policy_rows

from creditbook.core.models import Application
from creditbook.core.policy import Policy
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import sheet_values_of
from creditbook.workbook.evaluate import export_application
from creditbook.workbook.flatten import unflatten
from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    AUDIT_SHEET,
    CONF_SHEET,
    INPUT_SHEETS,
    LISTS_SHEET,
    PROFILE,
    SHEETS,
    UDF_MODULE,
)
from creditbook.workbook.new import new_workbook
from creditbook.workbook.openpyxl_adapter import write_sheet_values
from creditbook.workbook.xlsm.build import build_workbook, reproducible

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "workbook" / "CreditReview.xlsm"
EXAMPLES = sorted((ROOT / "examples" / "applications").glob("*.json"))


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope="module")
def built() -> bytes:
    return build_workbook(default_policy(), default_prices())


@pytest.fixture(scope="module")
def wb(built: bytes) -> Workbook:
    return openpyxl.load_workbook(io.BytesIO(built), keep_vba=True)


def application(path: Path) -> Application:
    return Application.model_validate(json.loads(path.read_text("utf-8"), parse_float=Decimal))


def test_building_twice_gives_identical_parts(built: bytes) -> None:
    assert parts(build_workbook(default_policy(), default_prices())) == parts(built)


def test_committed_workbook_equals_a_fresh_build(built: bytes) -> None:
    assert parts(COMMITTED.read_bytes()) == parts(built), "run: creditbook build-workbook"


def test_sheets_code_names_and_hidden_helpers(wb: Workbook) -> None:
    assert wb.sheetnames == [name for name, _ in SHEETS]
    assert {ws.title: ws.sheet_properties.codeName for ws in wb.worksheets} == dict(SHEETS)
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    assert wb[CONF_SHEET].sheet_state == "hidden"
    assert (wb[CONF_SHEET]["A1"].value, wb[CONF_SHEET]["B1"].value) == ("UDF Modules", UDF_MODULE)
    assert wb[APPROVAL_SHEET].protection.sheet and wb[AUDIT_SHEET].protection.sheet


def test_every_input_cell_is_marked_formatted_and_validated(wb: Workbook) -> None:
    for sheet in INPUT_SHEETS:
        ws = wb[sheet.name]
        validated = {
            str(cell): dv for dv in ws.data_validations.dataValidation for cell in dv.sqref.ranges
        }
        if sheet.form:
            for field in sheet.form.fields:
                cell = ws[sheet.form.cell(field)]
                assert cell.style == "cb_input" and cell.protection.locked is False, field.key
                assert cell.number_format == field.number_format
                label = ws[f"{sheet.form.label_column}{sheet.form.row(field)}"].value
                assert label == field.heading and ("*" in label) == field.required
                if field.options:
                    assert validated[sheet.form.cell(field)].formula1 == f"={field.list_name}"
        for table in sheet.tables:
            assert ws.tables[table.name].ref == table.ref
            for index, column in enumerate(table.columns):
                assert ws.cell(table.header_row, table.first_column + index).value == column.heading


def test_dropdown_lists_hold_the_bilingual_options(wb: Workbook) -> None:
    for sheet in INPUT_SHEETS:
        for field in sheet.fields():
            if not field.options:
                continue
            defined = wb.defined_names[field.list_name]
            [(title, cells)] = list(defined.destinations)
            values = [row[0].value for row in wb[title][cells.replace("$", "")]]
            assert values == list(field.options)


def test_the_policy_sheet_reads_back_to_the_official_policy(wb: Workbook) -> None:
    rows = read_policy_rows(wb)
    assert rows is not None
    policy = Policy.model_validate(unflatten((path, value) for _, path, value in rows))
    assert policy.content_hash() == default_policy().content_hash()


def test_the_template_reads_back_with_the_default_playbook(wb: Workbook) -> None:
    inputs = read_inputs(wb)
    assert (
        inputs.prices is not None
        and inputs.prices.content_hash() == default_prices().content_hash()
    )
    steps = inputs.assembled.raw["stop_loss"]
    assert [(s["trigger"], s["threshold"]) for s in steps] == [
        (step.trigger.value, step.threshold) for step in default_policy().stop_loss
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_json_to_workbook_to_json_is_identical(example: Path, tmp_path: Path) -> None:
    made = tmp_path / "filled.xlsm"
    run = subprocess.run(
        [sys.executable, "-m", "creditbook", "new", "--input", str(example), "-o", str(made)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    exported = subprocess.run(
        [sys.executable, "-m", "creditbook", "export", str(made), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == json.loads(application(example).model_dump_json())
    assert "xl/vbaProject.bin" in parts(made.read_bytes())


def test_a_workbook_with_bad_cells_reports_them_by_cell(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(new_workbook(application(EXAMPLES[0]))), keep_vba=True)
    assert PROFILE.form is not None
    ws = wb[PROFILE.name]
    ws[PROFILE.form.cell("requested_limit")] = "#REF!"
    ws[PROFILE.form.cell("credit_code")] = "91310000MA1FL7JF8X"
    path = tmp_path / "bad.xlsm"
    wb.save(path)
    before = path.read_bytes()
    app, issues = export_application(path)
    assert app is None
    assert {issue.location for issue in issues} == {
        f"Profile!{PROFILE.form.cell('requested_limit')}"
    }
    assert "#REF!" in issues[0].message.en
    assert path.read_bytes() == before
    ws[PROFILE.form.cell("requested_limit")] = "¥1,200,000"
    wb.save(path)
    app, issues = export_application(path)
    assert app is None
    assert [issue.location for issue in issues] == [f"Profile!{PROFILE.form.cell('credit_code')}"]


def test_formula_text_in_user_fields_stays_text(tmp_path: Path) -> None:
    app = application(EXAMPLES[0])
    hostile = app.model_copy(
        update={
            "profile": app.profile.model_copy(update={"customer_name": '=HYPERLINK("http://x")'})
        }
    )
    wb = openpyxl.load_workbook(io.BytesIO(new_workbook(None)), keep_vba=True)
    write_sheet_values(wb, sheet_values_of(hostile))
    path = tmp_path / "hostile.xlsm"
    wb.save(path)
    assert PROFILE.form is not None
    cell = openpyxl.load_workbook(path)[PROFILE.name][PROFILE.form.cell("customer_name")]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x")'
    exported, issues = export_application(path)
    assert exported is not None and exported.profile.customer_name == '=HYPERLINK("http://x")', (
        issues
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_committed_example_workbooks_equal_a_fresh_build(example: Path, built: bytes) -> None:
    fresh = reproducible(new_workbook(application(example), template=built), default_policy())
    committed = ROOT / "workbook" / "examples" / f"{example.stem}.xlsm"
    assert parts(committed.read_bytes()) == parts(fresh), "run: creditbook build-workbook"


def test_a_workbook_without_our_sheets_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(path)
    app, issues = export_application(path)
    assert app is None
    assert len(issues) == 1
    assert "not a credit review workbook" in issues[0].message.en
    assert "creditbook new" in issues[0].message.en and "creditbook new" in issues[0].message.zh


def test_a_workbook_missing_some_of_our_sheets_names_each_once(tmp_path: Path) -> None:
    path = tmp_path / "partial.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = INPUT_SHEETS[0].name
    wb.save(path)
    app, issues = export_application(path)
    assert app is None
    assert [issue.location for issue in issues if "the sheet" in issue.message.en] == [
        sheet.name for sheet in INPUT_SHEETS[1:]
    ]
