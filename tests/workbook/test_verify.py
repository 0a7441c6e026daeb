"""`creditbook verify`: an evaluated workbook stays unchanged until an input changes; every kind of
input edit is named with its contract path and cell; re-saving the file is never a change."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from cli_run import run_creditbook
from lo import convert, needs_soffice
from openpyxl_reader import read_inputs
from tamper import another_value, evaluate, input_cells, with_playbook

from creditbook.core.labels import display
from creditbook.core.models import Procurement
from creditbook.core.prices import PRICE_COLUMNS, TIER_COLUMNS, UNTIERED_COLUMNS
from creditbook.data import default_prices
from creditbook.portfolio.register import build_register
from creditbook.workbook.cells import CellValue
from creditbook.workbook.decide import application_of
from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    FLAG_MARK,
    INPUT_SHEETS,
    PRICES_HEADER_ROW,
    PRICES_SHEET,
    PRICES_TABLE,
    column_letter,
)
from creditbook.workbook.session import officials
from creditbook.workbook.verify import Verification, verify_file
from creditbook.workbook.xlsm.opc import Package

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "workbook" / "examples").glob("*.xlsm"))
LISTED = ROOT / "workbook" / "examples" / "listed_company.xlsm"
OFFICIALS = officials([])
STEP_TWO = ("notify", "pause_new_quota", "disable_high_cost_models")  # StopLoss row 7 actions


def edited(source: Path, target: Path, cells: Mapping[str, CellValue]) -> Path:
    """A copy of `source` with `cells` ({"Profile!C21": 900000}) typed in, saved by openpyxl."""
    wb = openpyxl.load_workbook(source, keep_vba=True)
    for address, value in cells.items():
        sheet, _, coordinate = address.partition("!")
        wb[sheet][coordinate] = value
    wb.save(target)
    return target


def changes(result: Verification) -> dict[str, tuple[tuple[str, ...], object, object]]:
    return {change.path: (change.cells, change.old, change.new) for change in result.changes}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every example workbook evaluated, plus the listed company with a stop-loss step."""
    folder = tmp_path_factory.mktemp("evaluated")
    paths = {source.stem: evaluate(source, folder / source.name) for source in EXAMPLES}
    paths["stop_loss"] = evaluate(with_playbook(folder / "filled.xlsm"), folder / "stop_loss.xlsm")
    return paths


@pytest.fixture(scope="module")
def libreoffice_saved(
    evaluated: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Each evaluated workbook opened and saved by LibreOffice (as .xlsx), in parallel."""
    folder = tmp_path_factory.mktemp("libreoffice")
    with ThreadPoolExecutor() as pool:
        saved = pool.map(lambda name: convert(evaluated[name], "xlsx", folder / name), evaluated)
        return dict(zip(evaluated, saved, strict=True))


# ------------------------------------------------------------------------------ statuses


def test_unchanged_right_after_evaluation(evaluated: dict[str, Path]) -> None:
    for path in evaluated.values():
        result = verify_file(path, OFFICIALS)
        assert (result.status, result.changes, result.ok) == ("unchanged", (), True), path.name
        assert result.policy is not None and result.policy.kind == "official"


def test_a_never_evaluated_workbook() -> None:
    result = verify_file(LISTED, OFFICIALS)
    assert (result.status, result.ok) == ("never_evaluated", False)
    assert result.policy is not None and result.policy.kind == "official"


def test_an_error_value_now_is_unreadable_with_its_cell(
    evaluated: dict[str, Path], tmp_path: Path
) -> None:
    path = edited(evaluated["listed_company"], tmp_path / "ref.xlsm", {"Profile!C21": "#REF!"})
    result = verify_file(path, OFFICIALS)
    assert result.status == "unreadable"
    assert [issue.cell for issue in result.issues] == ["Profile!C21"]
    assert "#REF!" in result.issues[0].message.en


def test_a_file_that_is_not_a_workbook_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsm"
    path.write_bytes(b"not a zip")
    result = verify_file(path, OFFICIALS)
    assert (result.status, result.policy) == ("unreadable", None)
    assert result.issues[0].location == str(path)


def test_a_damaged_approval_sheet_is_unreadable(evaluated: dict[str, Path], tmp_path: Path) -> None:
    """The snapshot is read before the inputs (the register's row comes from it): an Approval
    sheet that is not XML is the file's fault, unreadable, for verify and for the register."""
    source = evaluated["listed_company"]
    package = Package(source.read_bytes())
    part = next(sheet.part for sheet in package.sheets() if sheet.name == APPROVAL_SHEET)
    assert part is not None
    package.write(part, package.read(part)[:-200])  # cut off inside the sheet's closing tags
    damaged = tmp_path / "damaged.xlsm"
    damaged.write_bytes(package.to_bytes())
    result = verify_file(damaged, OFFICIALS)
    assert (result.status, result.policy) == ("unreadable", None)
    assert "not a readable Excel workbook" in result.issues[0].message.en
    row = build_register([damaged], OFFICIALS, default_prices(), date(2026, 12, 20), verify=True)
    assert row[["status", "verify_status", "verify_failing"]].values.tolist() == [
        ["unreadable", "unreadable", True]
    ]


# ------------------------------------------------------------------------- single edits


@pytest.mark.parametrize(
    ("base", "cells", "expected"),
    [
        pytest.param(
            "listed_company",
            {"Profile!C21": 900000},
            {"profile.requested_limit": (("Profile!C21",), 800000, 900000)},
            id="form value",
        ),
        pytest.param(
            "listed_company",
            {"Profile!C10": display(Procurement.CONTRACT_ONLY)},
            {"profile.procurement": (("Profile!C10",), "formal_po_contract", "contract_only")},
            id="dropdown",
        ),
        pytest.param(
            "listed_company",
            {"Profile!C23": datetime(2026, 11, 23)},
            {"profile.application_date": (("Profile!C23",), "2026-11-20", "2026-11-23")},
            id="date",
        ),
        pytest.param(
            "listed_company",
            {"Profile!C25": " 王伟 "},
            {"profile.sales_owner": (("Profile!C25",), "李娜", "王伟")},
            id="text",
        ),
        pytest.param(
            "listed_company",
            {"Consumption!H7": 1.25},
            {"consumption[1].peak_factor": (("Consumption!H7",), Decimal("1.2"), Decimal("1.25"))},
            id="consumption cell",
        ),
        pytest.param(
            "stop_loss",
            {"StopLoss!G7": FLAG_MARK},
            {"stop_loss[1].actions": (("StopLoss!G7",), STEP_TWO, (*STEP_TWO, "rate_limit"))},
            id="stop-loss tick",
        ),
        pytest.param(
            "stop_loss",
            {"StopLoss!L6": None, "StopLoss!M6": FLAG_MARK},
            {
                "stop_loss[0].recovery": (
                    ("StopLoss!L6", "StopLoss!M6"),
                    ("payment_received", "usage_normalized"),
                    ("deposit_topped_up", "usage_normalized"),
                )
            },
            id="stop-loss tick moved",
        ),
    ],
)
def test_a_single_input_edit_is_named_with_its_cell(
    evaluated: dict[str, Path],
    tmp_path: Path,
    base: str,
    cells: dict[str, CellValue],
    expected: dict[str, tuple[tuple[str, ...], object, object]],
) -> None:
    result = verify_file(edited(evaluated[base], tmp_path / "edited.xlsm", cells), OFFICIALS)
    assert (result.status, result.ok) == ("changed", False)
    assert changes(result) == expected
    assert not result.policy_changed and not result.prices_changed


def test_an_added_consumption_row_is_named_row_by_row(
    evaluated: dict[str, Path], tmp_path: Path
) -> None:
    row: dict[str, CellValue] = {
        "Consumption!B9": "deepseek",
        "Consumption!C9": "deepseek-flash",
        "Consumption!D9": 500,
    }
    result = verify_file(
        edited(evaluated["listed_company"], tmp_path / "added.xlsm", row), OFFICIALS
    )
    found = changes(result)
    assert result.status == "changed"
    assert found["consumption[3].provider"] == (("Consumption!B9",), None, "deepseek")
    assert found["consumption[3].model"] == (("Consumption!C9",), None, "deepseek-flash")
    assert found["consumption[3].input_mtok_month"] == (("Consumption!D9",), None, 500)
    assert all(path.startswith("consumption[3].") for path in found)
    assert all(cells[0].endswith("9") for cells, _, _ in found.values())


def test_a_deleted_row_shifts_the_rows_below_and_removes_the_last(
    evaluated: dict[str, Path], tmp_path: Path
) -> None:
    """Excel's Delete Row: row 8 moves up to row 7; the third item is gone (no cell: its table)."""
    wb = openpyxl.load_workbook(evaluated["listed_company"], keep_vba=True)
    wb["Consumption"].delete_rows(7)
    wb.save(tmp_path / "deleted.xlsm")
    result = verify_file(tmp_path / "deleted.xlsm", OFFICIALS)
    found = changes(result)
    assert result.status == "changed"
    assert found["consumption[1].model"] == (
        ("Consumption!C7",),
        "claude-sonnet-5.5",
        "qwen3-max",
    )
    assert found["consumption[2].model"] == (("Consumption!B5",), "qwen3-max", None)
    assert {path.partition(".")[0] for path in found} == {"consumption[1]", "consumption[2]"}


def test_a_prices_edit_is_a_change_of_the_prices_sheet(
    evaluated: dict[str, Path], tmp_path: Path
) -> None:
    path = edited(evaluated["listed_company"], tmp_path / "prices.xlsm", {"Prices!J6": 12})
    result = verify_file(path, OFFICIALS)
    assert (result.status, result.changes) == ("changed", ())
    assert result.prices_changed and not result.policy_changed
    assert result.policy is not None and result.policy.kind == "official"


def test_a_workbook_with_the_prices_sheet_before_tiers_is_read_and_verifies(
    tmp_path: Path,
) -> None:
    """Workbooks built before the tier columns: their Prices sheet reads as untiered peak rows."""
    wb = openpyxl.load_workbook(LISTED, keep_vba=True)
    ws = wb[PRICES_SHEET]
    table = ws.tables[PRICES_TABLE]
    ws.delete_cols(PRICE_COLUMNS.index("tier") + 2, len(TIER_COLUMNS))  # the table starts in B
    last_row = table.ref.rpartition(":")[2].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    table.ref = f"B{PRICES_HEADER_ROW}:{column_letter(len(UNTIERED_COLUMNS) + 1)}{last_row}"
    table.tableColumns = []  # named again from the header row when saved
    wb.save(tmp_path / "old.xlsm")
    header = [ws.cell(PRICES_HEADER_ROW, 2 + index).value for index in range(len(PRICE_COLUMNS))]
    assert header == [*UNTIERED_COLUMNS, None, None, None]

    prices = read_inputs(openpyxl.load_workbook(tmp_path / "old.xlsm")).prices
    assert prices is not None
    assert {(row.tier, row.min_context_ktok, row.peak) for row in prices.rows} == {
        ("standard", 0, True)
    }
    qwen = [row.output_per_mtok for row in prices.rows if row.model == "qwen3-max"]
    assert qwen == [10, 16, 28]  # the rows stay, the dearest prices a line
    path = evaluate(tmp_path / "old.xlsm", tmp_path / "old-evaluated.xlsm")
    result = verify_file(path, OFFICIALS)
    assert result.status == "unchanged" and result.ok


@pytest.mark.parametrize(
    ("cell", "value", "kind"),
    [("Policy!C23", 0.9, "edited"), ("Policy!C7", "2099.1", "unknown")],
    ids=["value", "version"],
)
def test_a_policy_edit_is_a_change_and_the_policy_is_not_official(
    evaluated: dict[str, Path], tmp_path: Path, cell: str, value: CellValue, kind: str
) -> None:
    path = edited(evaluated["listed_company"], tmp_path / "policy.xlsm", {cell: value})
    result = verify_file(path, OFFICIALS)
    assert (result.status, result.changes, result.ok) == ("changed", (), False)
    assert result.policy_changed and not result.prices_changed
    assert result.policy is not None and result.policy.kind == kind


def test_a_policy_edited_before_evaluation_is_reported_although_unchanged(
    tmp_path: Path,
) -> None:
    source = edited(LISTED, tmp_path / "source.xlsm", {"Policy!C23": 0.9})
    result = verify_file(evaluate(source, tmp_path / "evaluated.xlsm"), OFFICIALS)
    assert (result.status, result.ok) == ("unchanged", False)
    assert result.policy is not None and result.policy.kind == "edited"
    assert "edited" in result.policy.note.en


# --------------------------------------------------------------- round trips, no alarm


def test_openpyxl_load_and_save_is_not_a_change(evaluated: dict[str, Path], tmp_path: Path) -> None:
    for name, path in evaluated.items():
        resaved = edited(path, tmp_path / f"{name}.xlsm", {})
        assert verify_file(resaved, OFFICIALS).status == "unchanged", name


@needs_soffice
def test_libreoffice_resaving_is_not_a_change(libreoffice_saved: dict[str, Path]) -> None:
    for name, path in libreoffice_saved.items():
        result = verify_file(path, OFFICIALS)
        assert (result.status, result.ok) == ("unchanged", True), name


@needs_soffice
def test_after_libreoffice_only_the_real_edit_is_named(
    libreoffice_saved: dict[str, Path], tmp_path: Path
) -> None:
    """The field comparison itself, on LibreOffice's floats and dates: exactly the edited cells."""
    path = edited(
        libreoffice_saved["stop_loss"],
        tmp_path / "edited.xlsx",
        {"Profile!C21": 900000, "StopLoss!G7": FLAG_MARK, "Policy!C23": 0.9},
    )
    result = verify_file(path, OFFICIALS)
    assert changes(result) == {
        "profile.requested_limit": (("Profile!C21",), 800000, 900000),
        "stop_loss[1].actions": (("StopLoss!G7",), STEP_TWO, (*STEP_TWO, "rate_limit")),
    }
    assert result.policy_changed and not result.prices_changed


def test_snapshot_values_retyped_as_excel_would_are_not_changes(
    evaluated: dict[str, Path], tmp_path: Path
) -> None:
    """ISO date texts turned into dates, whole numbers into floats, numbers into Decimal-like
    text precision (1.20): only the real edit is named."""
    wb = openpyxl.load_workbook(evaluated["listed_company"], keep_vba=True)
    retyped = 0
    for key, value in wb[APPROVAL_SHEET].iter_rows(min_col=10, max_col=11):
        if not str(key.value).startswith("application."):
            continue
        if isinstance(value.value, str) and len(value.value) == 10 and value.value[4] == "-":
            value.value = datetime.fromisoformat(value.value)
        elif isinstance(value.value, int | float) and not isinstance(value.value, bool):
            value.value = float(value.value)
        else:
            continue
        retyped += 1
    wb["Profile"]["C21"] = 900000
    wb.save(tmp_path / "retyped.xlsm")
    result = verify_file(tmp_path / "retyped.xlsm", OFFICIALS)
    assert retyped > 20
    assert changes(result) == {"profile.requested_limit": (("Profile!C21",), 800000, 900000)}


# ------------------------------------------------------------------------------- CLI


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_creditbook("verify", *args)


def test_cli_exit_codes_and_the_changed_cell(evaluated: dict[str, Path], tmp_path: Path) -> None:
    clean = evaluated["listed_company"]
    changed = edited(clean, tmp_path / "changed.xlsm", {"Profile!C21": 900000})

    ok = run_cli(clean, "--lang", "en")
    assert ok.returncode == 0, ok.stderr
    assert "unchanged" in ok.stdout and "(the current official version)" in ok.stdout

    flagged = run_cli(clean, changed, "--lang", "en")
    assert flagged.returncode == 2, flagged.stderr
    line = flagged.stdout.splitlines()[1]
    assert "changed" in line and "profile.requested_limit @ Profile!C21: 800000 → 900000" in line

    as_json = run_cli(clean, changed, LISTED, "--json")
    assert as_json.returncode == 2
    results = json.loads(as_json.stdout)
    assert [r["status"] for r in results] == ["unchanged", "changed", "never_evaluated"]
    assert results[1]["changes"] == [
        {"path": "profile.requested_limit", "cells": ["Profile!C21"], "old": 800000, "new": 900000}
    ]


def test_cli_an_edited_policy_fails_although_unchanged(tmp_path: Path) -> None:
    source = edited(LISTED, tmp_path / "source.xlsm", {"Policy!C23": 0.9})
    run = run_cli(evaluate(source, tmp_path / "evaluated.xlsm"), "--lang", "en")
    assert run.returncode == 2
    assert "unchanged" in run.stdout and "was edited in this workbook" in run.stdout


# ------------------------------------------------------------------------------ property


def test_any_valid_single_cell_edit_is_flagged_at_its_cell(
    evaluated: dict[str, Path], tmp_path: Path
) -> None:
    source = evaluated["stop_loss"]
    wb = openpyxl.load_workbook(source, keep_vba=True)
    original, _ = application_of(read_inputs(wb), OFFICIALS[0])
    cells, rng = input_cells(wb), random.Random(20261201)
    flagged: list[str] = []
    tries = 0
    while len(flagged) < 50 and tries < 1000:
        tries += 1
        address, field = rng.choice(rng.choice(cells))  # a sheet, then one of its cells
        sheet, _, coordinate = address.partition("!")
        before = wb[sheet][coordinate].value
        wb[sheet][coordinate] = another_value(field, before, rng)
        app, _ = application_of(read_inputs(wb), OFFICIALS[0])
        if app is not None and app != original:  # a different, valid application
            wb.save(tmp_path / "edited.xlsm")
            result = verify_file(tmp_path / "edited.xlsm", OFFICIALS)
            assert result.status == "changed", address
            assert [address in change.cells for change in result.changes] == [True], address
            flagged.append(address)
        wb[sheet][coordinate] = before
    assert len(flagged) == 50
    assert {address.partition("!")[0] for address in flagged} == {s.name for s in INPUT_SHEETS}
