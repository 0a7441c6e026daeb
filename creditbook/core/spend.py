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
from creditbook.core.prices import PriceTable
from creditbook.core.records import text

DAYS_PER_MONTH = Decimal(30)


def spend_line(
    line: ConsumptionLine, currency: Currency, policy: Policy, prices: PriceTable
) -> SpendLine:
    row = prices.find(line.provider, line.model)
    cost_class = line.cost_class or (row.cost_class if row else CostClass.HIGH)
    if line.monthly_spend is not None:
        monthly = line.monthly_spend
        basis = text("申报月消耗金额", "stated monthly spend")
    elif row is not None:
        base = policy.to_base(row.monthly_cost(line), row.currency)
        monthly = policy.from_base(base, currency)
        prices_text = (
            f"{show(row.input_per_mtok)}/{show(row.output_per_mtok)} {row.currency.value}/Mtok"
        )
        basis = text(
            f"按价格表 {row.model} {prices_text}（{row.as_of}，{row.source}）",
            f"price table {row.model} {prices_text} (as of {row.as_of}, {row.source})",
        )
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
