"""The UDFs are the core's answers, given the ranges Excel passes (values as xlwings hands them)."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import udfs.credit as udf
from creditbook.core.engine import evaluate
from creditbook.core.models import Application
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import CellValue, sheet_values_of
from creditbook.workbook.layout import PROFILE, Form, udf_blocks

EXAMPLES = sorted(
    (Path(__file__).resolve().parents[2] / "examples" / "applications").glob("*.json")
)


def ranges(app: Application) -> list[list[list[CellValue]]]:
    """What Excel passes for each block's range: 2-D, full capacity, blanks as None."""
    values = sheet_values_of(app)
    blocks = []
    for sheet, block, _ in udf_blocks():
        if isinstance(block, Form):
            blocks.append([[value] for value in values[sheet.name].form])
        else:
            rows = [row for _, row in values[sheet.name].tables[block.name]]
            blocks.append(rows + [[None] * len(block.columns)] * (block.capacity - len(rows)))
    return blocks


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_udfs_agree_with_the_engine(example: Path) -> None:
    app = Application.model_validate(json.loads(example.read_text("utf-8"), parse_float=Decimal))
    decision = evaluate(app, default_policy(), default_prices(), evaluated_at=datetime.now(UTC))
    blocks = ranges(app)
    assert udf.cb_status(*blocks) == udf.OK
    assert udf.cb_score(*blocks) == decision.score
    assert udf.cb_tier(*blocks).startswith(decision.tier)
    assert udf.cb_limit(*blocks) == float(decision.approved_limit)
    assert udf.cb_next_review(*blocks).date() == decision.next_review_date


def test_status_names_the_cell_of_the_first_problem() -> None:
    app = Application.model_validate(
        json.loads(EXAMPLES[0].read_text("utf-8"), parse_float=Decimal)
    )
    blocks = ranges(app)
    assert PROFILE.form is not None
    blocks[0][
        PROFILE.form.fields.index(next(f for f in PROFILE.form.fields if f.key == "credit_code"))
    ] = ["91310000MA1FL7JF8X"]
    status = udf.cb_status(*blocks)
    assert status.startswith(f"Profile!{PROFILE.form.cell('credit_code')}: ")
    assert udf.cb_score(*blocks) == status


def test_spend_of_one_line_uses_the_price_table() -> None:
    # the conservative row: gpt-6.1-sol's 272k+ long-context tier, $4/$15 per Mtok
    assert udf.cb_spend("openai", "gpt-6.1-sol", 1000, 100) == pytest.approx(
        1000 * 4 * 7.1 + 100 * 15 * 7.1
    )
    assert "not in the price table" in udf.cb_spend("openai", "no-such-model", 1, 1)


def test_every_udf_is_documented_and_takes_the_declared_blocks() -> None:
    names = [
        name for name, _ in inspect.getmembers(udf, inspect.isfunction) if name.startswith("cb_")
    ]
    assert sorted(names) == [
        "cb_limit",
        "cb_next_review",
        "cb_score",
        "cb_spend",
        "cb_status",
        "cb_tier",
    ]
    for name in names:
        function = getattr(udf, name)
        assert function.__doc__, name
        if name != "cb_spend":
            assert len(inspect.signature(function).parameters) == len(list(udf_blocks()))
