"""A portfolio as frames: one row per application, one per consumption line, in exact integers.

`facts_frame` reads what the engine reads from each application (money in cents, line costs in
millionths of their price currency, ratios scaled to integers); `spend_frame` and `fact_columns`
give the engine's spend and facts for one policy, ready for the condition language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from creditbook.core.conditions import FACT_LABELS
from creditbook.core.line import HARD_SECURITY
from creditbook.core.models import (
    Application,
    CostClass,
    Currency,
    GuaranteeType,
    Material,
    Scenario,
)
from creditbook.core.money import cents, round_down
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.scoring import paid_invoices
from creditbook.core.spend import priced_row
from creditbook.portfolio.columns import (
    Column,
    Ints,
    Num,
    Unsupported,
    as_ints,
    check_products,
    half_up,
    muldiv,
    ratio_of,
)

LINE_SCALE = 10**6  # line costs in millionths of the price currency
YEARS_SCALE = 10**4
RATIO_SCALE = 10**6
SHARE_SCALE = 10**4  # the engine's ratios have four decimals


def scaled(value: Decimal, scale: int, what: str) -> int:
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise Unsupported(f"{what} = {value} has more decimal places than simulate supports")
    return int(scaled)


def facts_frame(
    apps: Sequence[tuple[Application, PriceTable]], policy: Policy
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per application, one row per consumption line). Each line's cost is the one the
    engine takes under `policy` (`creditbook.core.spend.priced_row`): the price row and the
    reconciliation of a stated spend with tokens follow its `pricing` and fx rates, so frames are
    read under the policy they are evaluated with."""
    rows, lines = [], []
    for index, (app, prices) in enumerate(apps):
        profile, buffers = app.profile, app.buffers
        custom = [scaled(step.limit, 100, "ramp limit") for step in buffers.ramp]
        rows.append(
            {
                "customer": profile.customer_name,
                "credit_code": profile.credit_code or "",
                "currency": profile.currency.value,
                "country": profile.country,
                "entity_type": profile.entity_type.value,
                "procurement": profile.procurement.value,
                "guarantee_type": profile.guarantee_type.value,
                "years_in_business": scaled(
                    profile.years_in_business, YEARS_SCALE, "years_in_business"
                ),
                "relationship_months": profile.relationship_months,
                "paid_invoices_12m": paid_invoices(app),
                "current_limit": scaled(profile.current_limit, 100, "current_limit"),
                "materials": sum(1 << MATERIALS.index(m) for m in profile.new_materials),
                "on_time_ratio_12m": scaled(
                    profile.on_time_ratio_12m or Decimal(0), RATIO_SCALE, "on_time_ratio_12m"
                ),
                "max_days_overdue_12m": profile.max_days_overdue_12m,
                "overdue_events_12m": profile.overdue_events_12m,
                "consecutive_overdue_invoices": profile.consecutive_overdue_invoices,
                "current_days_overdue": profile.current_days_overdue,
                "current_overdue_amount": scaled(
                    profile.current_overdue_amount, 100, "current_overdue_amount"
                ),
                "requested_terms_days": profile.payment_terms_days,
                "billing_cycle_days": buffers.billing_cycle_days,
                "requested_limit": scaled(profile.requested_limit, 100, "requested_limit"),
                "deposit": scaled(buffers.deposit, 100, "deposit"),
                "prepaid_balance": scaled(buffers.prepaid_balance, 100, "prepaid_balance"),
                "hard_guarantee": scaled(
                    profile.guarantee_amount
                    if profile.guarantee_type in HARD_SECURITY
                    else Decimal(0),
                    100,
                    "guarantee_amount",
                ),
                "ramp_first": custom[0] if custom else -1,
                "ramp_rest_max": max(custom[1:], default=-1),
            }
        )
        for line in app.consumption:
            priced = priced_row(line, profile.currency, policy, prices)
            if priced is not None:
                amount, source = priced.monthly_cost(line), priced.currency
            elif line.monthly_spend is not None:
                amount, source = line.monthly_spend, profile.currency
            else:
                raise Unsupported(f"unpriced line {line.provider}/{line.model}")
            row = prices.row_for(line, peak_only=policy.pricing.peak_only)
            cost_class = line.cost_class or (row.cost_class if row else CostClass.HIGH)
            lines.append(
                {
                    "app": index,
                    "amount": scaled(amount, LINE_SCALE, "line cost"),
                    "source_currency": source.value,
                    "peak_factor": scaled(line.peak_factor, YEARS_SCALE, "peak_factor"),
                    "high_cost": cost_class is CostClass.HIGH,
                    "new_scenario": line.scenario is Scenario.NEW,
                }
            )
    facts = pd.DataFrame(rows, columns=[*FACT_COLUMNS])
    for name in CATEGORIES:
        facts[name] = facts[name].astype("category")
    consumption = pd.DataFrame(lines, columns=[*LINE_COLUMNS])
    consumption["source_currency"] = consumption["source_currency"].astype("category")
    return facts, consumption


FACT_COLUMNS = (
    "customer",
    "credit_code",
    "currency",
    "country",
    "entity_type",
    "procurement",
    "guarantee_type",
    "years_in_business",
    "relationship_months",
    "paid_invoices_12m",
    "current_limit",
    "materials",
    "on_time_ratio_12m",
    "max_days_overdue_12m",
    "overdue_events_12m",
    "consecutive_overdue_invoices",
    "current_days_overdue",
    "current_overdue_amount",
    "requested_terms_days",
    "billing_cycle_days",
    "requested_limit",
    "deposit",
    "prepaid_balance",
    "hard_guarantee",
    "ramp_first",
    "ramp_rest_max",
)
CATEGORIES = ("currency", "country", "entity_type", "procurement", "guarantee_type")
MATERIALS = list(Material)  # bit i of `materials` is MATERIALS[i]
LINE_COLUMNS = ("app", "amount", "source_currency", "peak_factor", "high_cost", "new_scenario")


def fx_rate(policy: Policy, currency: str) -> tuple[int, int]:
    """(numerator, denominator) of the base-currency units per unit of `currency`."""
    if currency == policy.base_currency.value:
        return 1, 1
    return ratio_of(policy.fx.rates[Currency(currency)])


CURRENCIES = [currency.value for currency in Currency]


def currency_codes(currencies: pd.Series) -> Ints:
    """Each row's position in `Currency` (through the category codes: no string compares)."""
    column = currencies.astype("category")
    lookup = as_ints([CURRENCIES.index(str(value)) for value in column.cat.categories])
    return as_ints(lookup[column.cat.codes.to_numpy()])


def per_currency(codes: Ints, table: dict[str, int]) -> Ints:
    return as_ints([table[code] for code in CURRENCIES])[codes]


@dataclass(frozen=True)
class Spend:
    expected: Ints  # cents
    peak: Ints
    high_cost_share: Ints  # in SHARE_SCALE units
    new_scenario_share: Ints


def spend_frame(facts: pd.DataFrame, lines: pd.DataFrame, policy: Policy) -> Spend:
    """Each line converted into the application currency and rounded to the cent, then summed."""
    base = CURRENCIES.index(policy.base_currency.value)
    app = lines["app"].to_numpy(dtype=np.int64)
    target = currency_codes(facts["currency"])[app]
    source = currency_codes(lines["source_currency"])
    numerator, denominator = np.ones(len(lines), np.int64), np.ones(len(lines), np.int64)
    divided = (source == base) & (target != base)
    for code, currency in enumerate(CURRENCIES):
        n, d = fx_rate(policy, currency)
        into_base = (source == code) & (target == base) & (source != base)
        out_of_base = (target == code) & divided
        numerator[into_base], denominator[into_base] = n, d
        numerator[out_of_base], denominator[out_of_base] = d, n
    if np.any((source != target) & (source != base) & (target != base)):
        raise Unsupported("a conversion between two non-base currencies")
    amount = lines["amount"].to_numpy(dtype=np.int64)
    peak_factor = lines["peak_factor"].to_numpy(dtype=np.int64)
    # value in cents = amount · n / (d · 10⁴); at the peak also · peak_factor / 10⁴
    scale = LINE_SCALE // 100
    monthly, _ = half_up(*muldiv(amount, numerator, denominator * scale), denominator * scale)
    scaled = muldiv(amount, numerator, 1)[0]
    peak, peak_ties = half_up(
        *muldiv(scaled, peak_factor, denominator * scale * YEARS_SCALE),
        denominator * scale * YEARS_SCALE,
    )
    # a division by the rate may leave the engine a rounded monthly figure; its peak is
    # recomputed the engine's way where the exact peak sits on a half cent
    for row in np.flatnonzero(peak_ties & divided):
        value = policy.from_base(
            Decimal(int(amount[row])) / LINE_SCALE, Currency(CURRENCIES[target[row]])
        )
        peak[row] = int(cents(value * Decimal(int(peak_factor[row])) / YEARS_SCALE) * 100)
    size = len(facts)

    def total(values: Ints) -> Ints:
        sums = np.zeros(size, dtype=np.int64)
        np.add.at(sums, app, values)
        return sums

    expected = total(monthly)
    high = total(np.where(lines["high_cost"].to_numpy(dtype=bool), monthly, 0))
    new = total(np.where(lines["new_scenario"].to_numpy(dtype=bool), monthly, 0))
    safe = np.maximum(expected, 1)

    def share(part: Ints) -> Ints:
        value, _ = half_up(*muldiv(part, SHARE_SCALE, safe), safe)
        return np.where(expected > 0, value, 0)

    return Spend(expected, total(peak), share(high), share(new))


def fact_columns(facts: pd.DataFrame, policy: Policy, spend: Spend) -> dict[str, Column]:
    """The engine's facts (`creditbook.core.engine.facts_of`) as columns, without the score."""

    def ints(name: str) -> Ints:
        return facts[name].to_numpy(dtype=np.int64)

    months, paid = ints("relationship_months"), ints("paid_invoices_12m")
    history = policy.new_customer
    is_new = (months < history.min_relationship_months) | (paid < history.min_paid_invoices)
    current, requested = ints("current_limit"), ints("requested_limit")
    rates = {currency.value: fx_rate(policy, currency.value) for currency in Currency}
    common = int(np.lcm.reduce([d for _, d in rates.values()]))
    to_base = {currency: n * (common // d) for currency, (n, d) in rates.items()}
    overdue = ints("current_overdue_amount")
    check_products((overdue, max(to_base.values())))
    columns: dict[str, Column] = {
        "entity_type": facts["entity_type"],
        "years_in_business": Num(ints("years_in_business"), YEARS_SCALE),
        "procurement": facts["procurement"],
        "relationship_months": Num(months, 1),
        "is_new_customer": is_new,
        "paid_invoices_12m": Num(paid, 1),
        "is_increase": (current > 0) & (requested > current),
        "on_time_ratio_12m": Num(
            ints("on_time_ratio_12m"), RATIO_SCALE, paid < history.min_paid_invoices
        ),
        "max_days_overdue_12m": Num(ints("max_days_overdue_12m"), 1),
        "overdue_events_12m": Num(ints("overdue_events_12m"), 1),
        "consecutive_overdue_invoices": Num(ints("consecutive_overdue_invoices"), 1),
        "current_overdue_amount": Num(
            overdue * per_currency(currency_codes(facts["currency"]), to_base), 100 * common
        ),
        "current_days_overdue": Num(ints("current_days_overdue"), 1),
        "guarantee_type": facts["guarantee_type"],
        "has_guarantee": (facts["guarantee_type"] != GuaranteeType.NONE.value).to_numpy(dtype=bool),
        "high_cost_share": Num(spend.high_cost_share, SHARE_SCALE),
        "new_scenario_share": Num(spend.new_scenario_share, SHARE_SCALE),
        "requested_terms_days": Num(ints("requested_terms_days"), 1),
        "country": facts["country"],
    }
    if set(columns) != set(FACT_LABELS) - {"score"}:
        raise Unsupported("the condition language has facts simulate does not cover")
    return columns


def rounding_units(policy: Policy) -> dict[str, int]:
    """The limit rounding unit per currency, in cents."""
    fallback = policy.rounding.limit_unit[policy.base_currency]
    return {
        currency.value: scaled(policy.rounding.limit_unit.get(currency, fallback), 100, "unit")
        for currency in Currency
    }


def units_of(policy: Policy, amount: Decimal, code: str, unit: int) -> int:
    """Whole rounding units in a base-currency amount shown in `code`, as the engine rounds it."""
    step = Decimal(unit) / 100
    return int(round_down(policy.from_base(amount, Currency(code)), step) / step)
