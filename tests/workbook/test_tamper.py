"""Tamper evidence at CI size (tests/tamper.py runs the full counts for docs/reliability.md):
random single-cell edits of evaluated workbooks are all flagged, re-saves never are."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from lo import convert, needs_soffice
from openpyxl_reader import read_inputs
from tamper import (
    EDIT_WEIGHTS,
    LISTED,
    OFFICIALS,
    PIPELINES,
    EditStats,
    edit_trials,
    evaluate,
    round_trips,
)

from creditbook.core.models import CostClass
from creditbook.workbook.evaluate import export_application
from creditbook.workbook.layout import INPUT_SHEETS, POLICY_SHEET, PRICES_SHEET
from creditbook.workbook.verify import verify_file

# What a formula or paste-values leaves: 17 significant digits, the last ones binary noise.
COMPUTED = {
    "Profile!C13": 11 / 12,  # on-time ratio 0.9166666666666666
    "Profile!C21": 800000 * 1.1,  # requested limit 880000.0000000001
    "Consumption!H7": 1.2 * 1.1,  # peak factor 1.3200000000000003
    "Policy!C24": 0.9 + 0.05,  # upstream cost ratio (standard) 0.9500000000000001
    "Prices!J6": 10 * 1.1,  # output price 11.000000000000002
}


def on_an_input_sheet(address: str) -> bool:
    return address.partition("!")[0] in {sheet.name for sheet in INPUT_SHEETS}


@pytest.fixture(scope="module")
def edits(tmp_path_factory: pytest.TempPathFactory) -> EditStats:
    return edit_trials(tmp_path_factory.mktemp("edits"), 200)


def test_every_edit_that_changes_the_inputs_is_flagged(edits: EditStats) -> None:
    assert edits.missed == []
    assert edits.false_alarms == []
    assert [edit for edit in edits.edits if not edit.as_expected] == []


def test_every_edit_kind_and_every_editable_sheet_is_exercised(edits: EditStats) -> None:
    table = edits.by_kind()
    assert all(table[kind]["tried"] >= 5 for kind in EDIT_WEIGHTS), table
    sheets = {sheet.name for sheet in INPUT_SHEETS} | {POLICY_SHEET, PRICES_SHEET}
    assert set(edits.by_sheet()) == sheets


def test_edits_do_what_their_kind_says(edits: EditStats) -> None:
    """Reformats keep the application; other edits change it; invalid values are input errors."""
    on_input_sheets = [e for e in edits.edits if on_an_input_sheet(e.cell)]
    expected = {
        "reformat": {"same"},
        "valid": {"changed", "rejected"},
        "computed": {"changed", "rejected"},
        "not_a_value": {"rejected"},
        "error_value": {"rejected"},
        "blank_required": {"rejected"},
        "added_row": {"changed", "rejected"},
    }
    odd = [e for e in on_input_sheets if e.expected not in expected[e.kind]]
    assert odd == []


def test_a_changed_input_cell_is_named(edits: EditStats) -> None:
    changed = [e for e in edits.edits if e.expected == "changed" and on_an_input_sheet(e.cell)]
    assert changed and [edit for edit in changed if edit.pointer != "cell"] == []


def with_computed_numbers(target: Path) -> Path:
    wb = openpyxl.load_workbook(LISTED, keep_vba=True)
    for address, value in COMPUTED.items():
        sheet, _, coordinate = address.partition("!")
        wb[sheet][coordinate] = value
    wb.save(target)
    return target


def test_a_computed_number_is_read_at_excel_precision(tmp_path: Path) -> None:
    """15 significant digits, as Excel shows the cell; the binary noise is not an input."""
    path = with_computed_numbers(tmp_path / "computed.xlsm")
    app, issues = export_application(path)
    assert app is not None, issues
    assert app.profile.on_time_ratio_12m == Decimal("0.916666666666667")
    assert app.profile.requested_limit == Decimal("880000")
    assert app.consumption[1].peak_factor == Decimal("1.32")
    inputs = read_inputs(openpyxl.load_workbook(path))
    assert inputs.policy is not None
    assert inputs.policy.upstream_cost_ratio[CostClass.STANDARD] == Decimal("0.95")
    assert inputs.prices is not None
    assert inputs.prices.rows[1].output_per_mtok == Decimal("11")


@needs_soffice
def test_computed_numbers_saved_by_libreoffice_are_not_a_change(tmp_path: Path) -> None:
    """LibreOffice writes 15 significant digits; before reading at that precision, its save of a
    computed number was a changed fingerprint ("the audit snapshot was altered")."""
    evaluated = evaluate(with_computed_numbers(tmp_path / "computed.xlsm"), tmp_path / "ev.xlsm")
    resaved = convert(evaluated, "xlsx", tmp_path / "libreoffice")
    result = verify_file(resaved, OFFICIALS)
    assert (result.status, result.changes) == ("unchanged", ())


@needs_soffice
def test_round_trips_raise_no_false_alarm(tmp_path: Path) -> None:
    """Every pipeline, the chained one included: LibreOffice saves TRUE as the formula =TRUE()
    and openpyxl drops formula results, which once read the Policy sheet's booleans as empty."""
    trips = round_trips(tmp_path, 40)
    assert trips.false_alarms == []
    assert set(trips.by_kind()) == set(PIPELINES)


@needs_soffice
def test_a_workbook_saved_by_libreoffice_evaluates_to_an_unchanged_official_approval(
    tmp_path: Path,
) -> None:
    saved = convert(LISTED, "xlsm", tmp_path / "libreoffice")
    result = verify_file(evaluate(saved, tmp_path / "evaluated.xlsm"), OFFICIALS)
    assert (result.status, result.ok) == ("unchanged", True)
