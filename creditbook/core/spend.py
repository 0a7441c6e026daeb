"""What the customer will spend a month: each consumption line priced, in the application's currency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from creditbook.core.conditions import show
from creditbook.core.models import (
    Application,
    ConsumptionLine,
    CostClass,
    Currency,
    Scenario,
    SpendLine,
)
from creditbook.core.money import cents, ratio
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceRow, PriceTable
from creditbook.core.records import text

DAYS_PER_MONTH = Decimal(30)
# Price-table tier labels in Chinese; context tiers (0-32k, 272k+) read the same in both.
TIER_NAMES = {
    "standard": "标准",
    "peak": "高峰时段",
    "off_peak": "闲时",
    "thinking": "思考模式",
    "non_thinking": "非思考模式",
}


def token_spend(
    line: ConsumptionLine, currency: Currency, policy: Policy, prices: PriceTable
) -> tuple[PriceRow, Decimal] | None:
    """A line's price row and its token volumes at that row in `currency`; None when the price
    table has no row for it or the line gives no volumes."""
    row = prices.row_for(line, peak_only=policy.pricing.peak_only)
    if row is None or not (
        line.input_mtok_month or line.cached_input_mtok_month or line.output_mtok_month
    ):
        return None
    return row, policy.from_base(policy.to_base(row.monthly_cost(line), row.currency), currency)


def spend_gap(
    line: ConsumptionLine, currency: Currency, policy: Policy, prices: PriceTable
) -> tuple[Decimal, Decimal] | None:
    """(stated, priced to the cent) when a line's stated monthly spend and its tokens at list price
    differ by more than the policy's tolerance of the higher figure; None when they agree or
    the line does not give both."""
    priced = token_spend(line, currency, policy, prices)
    stated = line.monthly_spend
    if stated is None or priced is None:
        return None
    tokens = cents(priced[1])
    if abs(stated - tokens) <= policy.pricing.spend_tolerance * max(stated, tokens):
        return None
    return stated, tokens


def priced_row(
    line: ConsumptionLine, currency: Currency, policy: Policy, prices: PriceTable
) -> PriceRow | None:
    """The price row a line's monthly spend is computed from; None when its stated spend is used.
    A stated spend is used unless its tokens at list price cost more, beyond the tolerance."""
    if line.monthly_spend is not None:
        gap = spend_gap(line, currency, policy, prices)
        if gap is None or gap[0] > gap[1]:
            return None
    return prices.row_for(line, peak_only=policy.pricing.peak_only)


def spend_line(
    line: ConsumptionLine, currency: Currency, policy: Policy, prices: PriceTable
) -> SpendLine:
    row = prices.row_for(line, peak_only=policy.pricing.peak_only)
    cost_class = line.cost_class or (row.cost_class if row else CostClass.HIGH)
    priced = priced_row(line, currency, policy, prices)
    if priced is not None:
        base = policy.to_base(priced.monthly_cost(line), priced.currency)
        monthly = policy.from_base(base, currency)
        prices_text = (
            f"{show(priced.input_per_mtok)}/{show(priced.output_per_mtok)} "
            f"{priced.currency.value}/Mtok"
        )
        tier = TIER_NAMES.get(priced.tier, priced.tier)
        basis = text(
            f"按价格表 {priced.model} {tier} 档 {prices_text}（{priced.as_of}，{priced.source}）",
            f"price table {priced.model} {priced.tier} tier {prices_text} "
            f"(as of {priced.as_of}, {priced.source})",
        )
    elif line.monthly_spend is not None:
        monthly = line.monthly_spend
        basis = text("申报月消耗金额", "stated monthly spend")
    else:
        raise ValueError(f"unpriced line {line.provider}/{line.model} passed validation")
    return SpendLine(
        provider=line.provider,
        model=line.model,
        monthly_spend=cents(monthly),
        peak_monthly_spend=cents(monthly * line.peak_factor),
        cost_class=cost_class,
        basis=basis,
    )


def _share(lines: Sequence[SpendLine], picked: Sequence[bool], total: Decimal) -> Decimal:
    part = sum(
        (line.monthly_spend for line, keep in zip(lines, picked, strict=True) if keep), Decimal(0)
    )
    return ratio(part / total) if total else Decimal(0)


@dataclass(frozen=True)
class Spend:
    lines: tuple[SpendLine, ...]
    expected: Decimal
    peak: Decimal
    high_cost_share: Decimal
    new_scenario_share: Decimal


def spend_of(app: Application, policy: Policy, prices: PriceTable) -> Spend:
    currency = app.profile.currency
    lines = tuple(spend_line(line, currency, policy, prices) for line in app.consumption)
    expected = sum((line.monthly_spend for line in lines), Decimal(0))
    return Spend(
        lines=lines,
        expected=expected,
        peak=sum((line.peak_monthly_spend for line in lines), Decimal(0)),
        high_cost_share=_share(
            lines, [line.cost_class is CostClass.HIGH for line in lines], expected
        ),
        new_scenario_share=_share(
            lines, [line.scenario is Scenario.NEW for line in app.consumption], expected
        ),
    )
