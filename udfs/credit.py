"""Live-check worksheet functions (xlwings UDFs): thin wrappers over the creditbook core.

They read the input blocks passed as ranges, never write to the workbook, and are for feedback
while typing only: the approval is always recomputed from the raw cells by the Evaluate button (`creditbook.excel`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import xlwings as xw

from creditbook.core.engine import evaluate
from creditbook.core.models import ConsumptionLine, Currency, Decision, Provider
from creditbook.core.records import Issue
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import CellValue, SheetValues, assemble
from creditbook.workbook.decide import parse_cells
from creditbook.workbook.layout import Form, udf_blocks

OK = "OK"
Rows = list[list[CellValue]]


def _sheet_values(blocks: tuple[Rows, ...]) -> dict[str, SheetValues]:
    values: dict[str, SheetValues] = {}
    for (sheet, block, _), rows in zip(udf_blocks(), blocks, strict=True):
        into = values.setdefault(sheet.name, SheetValues())
        if isinstance(block, Form):
            into.form = [row[0] if row else None for row in rows]
        else:
            into.tables[block.name] = [
                (block.first_data_row + index, row) for index, row in enumerate(rows)
            ]
    return values


def _assess(blocks: tuple[Rows, ...]) -> tuple[Decision | None, list[Issue]]:
    policy, prices = default_policy(), default_prices()
    app, issues = parse_cells(assemble(_sheet_values(blocks)), policy, prices)
    if app is None:
        return None, issues
    return evaluate(app, policy, prices, evaluated_at=datetime.now(UTC)), issues


def _decided(blocks: tuple[Rows, ...], pick: Any) -> Any:
    decision, issues = _assess(blocks)
    if decision is None:
        return issues[0].render() if issues else OK
    return pick(decision)


def _blocks(func: Any) -> Any:
    """Declare the five input ranges (Profile, Consumption, Buffers, Ramp, StopLoss) as 2-D."""
    for name in ("profile", "consumption", "buffers", "ramp", "stop_loss"):
        func = xw.arg(name, ndim=2)(func)
    return xw.func(func)


@xw.func
def cb_spend(
    provider: str, model: str, input_mtok: float, output_mtok: float, currency: str = "CNY"
) -> Any:
    """Monthly spend of one consumption line from the shipped price table (月消耗估算)."""
    line = ConsumptionLine(
        provider=Provider(provider),
        model=model,
        input_mtok_month=Decimal(repr(input_mtok or 0)),
        output_mtok_month=Decimal(repr(output_mtok or 0)),
    )
    policy, prices = default_policy(), default_prices()
    row = prices.row_for(line, peak_only=policy.pricing.peak_only)
    if row is None:
        return f"{provider}/{model}: 不在价格表中 / not in the price table"
    monthly = policy.from_base(
        policy.to_base(row.monthly_cost(line), row.currency), Currency(currency)
    )
    return float(round(monthly, 2))


@_blocks
def cb_status(profile: Rows, consumption: Rows, buffers: Rows, ramp: Rows, stop_loss: Rows) -> str:
    """The first problem in the inputs, with its cell, or OK (输入检查)."""
    _, issues = _assess((profile, consumption, buffers, ramp, stop_loss))
    return issues[0].render() if issues else OK


@_blocks
def cb_score(profile: Rows, consumption: Rows, buffers: Rows, ramp: Rows, stop_loss: Rows) -> Any:
    """Credit score 0–100 under the shipped policy (评分)."""
    return _decided((profile, consumption, buffers, ramp, stop_loss), lambda d: d.score)


@_blocks
def cb_tier(profile: Rows, consumption: Rows, buffers: Rows, ramp: Rows, stop_loss: Rows) -> Any:
    """Tier and structure (评级)."""
    return _decided(
        (profile, consumption, buffers, ramp, stop_loss),
        lambda d: f"{d.tier} {d.tier_name.render()}",
    )


@_blocks
def cb_limit(profile: Rows, consumption: Rows, buffers: Rows, ramp: Rows, stop_loss: Rows) -> Any:
    """Approved limit in the application currency (批准额度)."""
    return _decided(
        (profile, consumption, buffers, ramp, stop_loss), lambda d: float(d.approved_limit)
    )


@_blocks
def cb_next_review(
    profile: Rows, consumption: Rows, buffers: Rows, ramp: Rows, stop_loss: Rows
) -> Any:
    """Next review date (下次复核日)."""
    return _decided(
        (profile, consumption, buffers, ramp, stop_loss),
        lambda d: datetime(
            d.next_review_date.year, d.next_review_date.month, d.next_review_date.day
        ),
    )
