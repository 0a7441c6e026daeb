"""The engine as column arithmetic: many applications evaluated under one policy at once.

The per-application inputs that no policy changes are read once into two frames: one row per
application (`facts_frame`) and one row per consumption line (its cost in the price currency, so a
draft fx rate is applied per line, as the engine does). `evaluate_frame` then runs the engine's
stages for one policy as column arithmetic: score bands, tiers and hard rules through the condition
language (`creditbook.core.conditions`), terms, cycle, need, caps, the approved limit, structure, decision kind
and unsecured exposure. Money is held in integer cents (line costs in millionths) and every rounding
is done on exact integer quotients, so each figure equals `creditbook.core.engine.evaluate`'s; at an exact
half-cent tie after an inexact currency or day-count division the row is recomputed with the
engine's own Decimal expression. Inputs or policies outside what this covers raise `Unsupported`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from creditbook.core.conditions import FACT_LABELS, Condition
from creditbook.core.engine import HARD_SECURITY
from creditbook.core.models import (
    Application,
    CostClass,
    Currency,
    Decision,
    DecisionKind,
    GuaranteeType,
    Scenario,
    Structure,
)
from creditbook.core.money import cents, round_down
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.spend import DAYS_PER_MONTH

Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

LINE_SCALE = 10**6  # line costs in millionths of the price currency
YEARS_SCALE = 10**4
RATIO_SCALE = 10**6
SHARE_SCALE = 10**4  # the engine's ratios have four decimals
LIMIT = 2**62  # every intermediate product stays below this (checked)
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
DIFF_COLUMNS = ("tier", "score", "decision", "approved_limit", "structure", "unsecured_exposure")


def decision_figures(decision: Decision) -> tuple[str, int, str, int, str, int]:
    """A decision's DIFF_COLUMNS as this vectorised path gives them (money in integer cents)."""
    return (
        decision.tier,
        decision.score,
        decision.decision.value,
        int(decision.approved_limit * 100),
        decision.structure.value,
        int(decision.exposure.unsecured_exposure * 100),
    )


class Unsupported(ValueError):
    """An input or a policy this vectorised path cannot evaluate exactly: never guessed."""


# ------------------------------------------------------------------ the frames


def _scaled(value: Decimal, scale: int, what: str) -> int:
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise Unsupported(f"{what} = {value} has more decimal places than simulate supports")
    return int(scaled)


def facts_frame(
    apps: Sequence[tuple[Application, PriceTable]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per application, one row per consumption line): what no policy changes."""
    rows, lines = [], []
    for index, (app, prices) in enumerate(apps):
        profile, buffers = app.profile, app.buffers
        custom = [_scaled(step.limit, 100, "ramp limit") for step in buffers.ramp]
        rows.append(
            {
                "customer": profile.customer_name,
                "credit_code": profile.credit_code or "",
                "currency": profile.currency.value,
                "country": profile.country,
                "entity_type": profile.entity_type.value,
                "procurement": profile.procurement.value,
                "guarantee_type": profile.guarantee_type.value,
                "years_in_business": _scaled(
                    profile.years_in_business, YEARS_SCALE, "years_in_business"
                ),
                "relationship_months": profile.relationship_months,
                "on_time_ratio_12m": _scaled(
                    profile.on_time_ratio_12m or Decimal(0), RATIO_SCALE, "on_time_ratio_12m"
                ),
                "max_days_overdue_12m": profile.max_days_overdue_12m,
                "overdue_events_12m": profile.overdue_events_12m,
                "consecutive_overdue_invoices": profile.consecutive_overdue_invoices,
                "current_days_overdue": profile.current_days_overdue,
                "current_overdue_amount": _scaled(
                    profile.current_overdue_amount, 100, "current_overdue_amount"
                ),
                "requested_terms_days": profile.payment_terms_days,
                "billing_cycle_days": buffers.billing_cycle_days,
                "requested_limit": _scaled(profile.requested_limit, 100, "requested_limit"),
                "deposit": _scaled(buffers.deposit, 100, "deposit"),
                "prepaid_balance": _scaled(buffers.prepaid_balance, 100, "prepaid_balance"),
                "hard_guarantee": _scaled(
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
            row = prices.find(line.provider, line.model)
            if line.monthly_spend is not None:
                amount, source = line.monthly_spend, profile.currency
            elif row is not None:
                amount, source = row.monthly_cost(line), row.currency
            else:
                raise Unsupported(f"unpriced line {line.provider}/{line.model}")
            cost_class = line.cost_class or (row.cost_class if row else CostClass.HIGH)
            lines.append(
                {
                    "app": index,
                    "amount": _scaled(amount, LINE_SCALE, "line cost"),
                    "source_currency": source.value,
                    "peak_factor": _scaled(line.peak_factor, YEARS_SCALE, "peak_factor"),
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
LINE_COLUMNS = ("app", "amount", "source_currency", "peak_factor", "high_cost", "new_scenario")


# ------------------------------------------------------- exact integer helpers


def _ints(values: Any) -> Ints:
    return np.asarray(values, dtype=np.int64)


def _check(*products: tuple[Any, Any]) -> None:
    for left, right in products:
        if np.size(left) and np.size(right) and int(np.max(left)) * int(np.max(right)) >= LIMIT:
            raise Unsupported("amounts too large for exact integer arithmetic")


def _muldiv(a: Ints, b: Any, d: Any) -> tuple[Ints, Ints]:
    """floor(a·b/d) and its remainder, for a, b ≥ 0 and d > 0, without overflowing int64."""
    high, low = np.divmod(a, d)
    _check((d, b), (high, b))
    quotient, remainder = np.divmod(low * b, d)
    return _ints(high * b + quotient), _ints(remainder)


def _half_up(quotient: Ints, remainder: Ints, d: Any) -> tuple[Ints, Flags]:
    """ROUND_HALF_UP of a non-negative quotient, and where it sat exactly on the half."""
    twice = 2 * remainder
    return quotient + (twice >= d), twice == d


def _ratio(value: Decimal) -> tuple[int, int]:
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator


# --------------------------------------------------------- the condition language


@dataclass(frozen=True)
class Num:
    """A numeric fact as integer numerators over one denominator; `missing` rows are None."""

    values: Ints
    scale: int
    missing: Flags | None = None


Column = Num | pd.Series | np.ndarray  # numbers; labels (category Series); yes/no flags


def _none(size: int) -> Flags:
    return np.zeros(size, dtype=bool)


def _equal(column: Column, item: Any, size: int) -> Flags:
    """Python `actual == item` for every row, as the engine's `_holds` compares."""
    if isinstance(column, Num):
        if item is None:
            return _none(size) if column.missing is None else column.missing.copy()
        if isinstance(item, bool):
            item = Decimal(int(item))
        if not isinstance(item, Decimal):
            return _none(size)
        target = item * column.scale
        if target != target.to_integral_value() or abs(target) >= LIMIT:
            return _none(size)
        hit: Flags = column.values == int(target)
        return hit if column.missing is None else hit & ~column.missing
    if isinstance(column, pd.Series):
        return (column == item).to_numpy(dtype=bool) if isinstance(item, str) else _none(size)
    if isinstance(item, bool):
        return np.equal(column, item)
    if isinstance(item, Decimal) and item in (0, 1):
        return column if item == 1 else ~column
    return _none(size)


def _compare(op: str, column: Column, expected: Any, size: int) -> Flags:
    if isinstance(expected, bool):
        expected = Decimal(int(expected))
    if not isinstance(expected, Decimal):
        raise Unsupported(f"{op} needs a number, got {expected!r}")
    if not isinstance(column, Num):
        return _none(size)  # text and yes/no facts never satisfy an order comparison
    target = expected * column.scale
    whole = target.to_integral_value()
    if target != whole:
        whole = target.to_integral_value("ROUND_CEILING" if op in ("gte", "gt") else "ROUND_FLOOR")
        op = {"gt": "gte", "lt": "lte"}.get(op, op)
    bound = max(min(int(whole), LIMIT), -LIMIT)
    values = column.values
    hit: Flags = {
        "gte": values >= bound,
        "gt": values > bound,
        "lte": values <= bound,
        "lt": values < bound,
    }[op]
    return hit if column.missing is None else hit & ~column.missing


def holds(when: Condition, facts: dict[str, Column], size: int) -> Flags:
    """Rows where every comparison of the condition holds (an empty condition holds everywhere)."""
    hit = np.ones(size, dtype=bool)
    for fact, comparisons in when.items():
        if fact not in facts:
            raise Unsupported(f"fact {fact!r} is not covered by simulate")
        column = facts[fact]
        for op, expected in comparisons.items():
            if op in ("eq", "ne"):
                if isinstance(expected, tuple):
                    raise Unsupported(f"{fact}: {op} with a list; use `in`")
                equal = _equal(column, expected, size)
                hit &= equal if op == "eq" else ~equal
            elif op == "in":
                if not isinstance(expected, tuple):
                    raise Unsupported(f"{fact}: `in` needs a list, got {expected!r}")
                found = _none(size)
                for item in expected:
                    found |= _equal(column, item, size)
                hit &= found
            else:
                hit &= _compare(op, column, expected, size)
    return hit


# ------------------------------------------------------------ the policy stages


def fx_rate(policy: Policy, currency: str) -> tuple[int, int]:
    """(numerator, denominator) of the base-currency units per unit of `currency`."""
    if currency == policy.base_currency.value:
        return 1, 1
    return _ratio(policy.fx.rates[Currency(currency)])


CURRENCIES = [currency.value for currency in Currency]


def currency_codes(currencies: pd.Series) -> Ints:
    """Each row's position in `Currency` (through the category codes: no string compares)."""
    column = currencies.astype("category")
    lookup = _ints([CURRENCIES.index(str(value)) for value in column.cat.categories])
    return _ints(lookup[column.cat.codes.to_numpy()])


def _per_currency(codes: Ints, table: dict[str, int]) -> Ints:
    return _ints([table[code] for code in CURRENCIES])[codes]


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
    monthly, _ = _half_up(*_muldiv(amount, numerator, denominator * scale), denominator * scale)
    scaled = _muldiv(amount, numerator, 1)[0]
    peak, peak_ties = _half_up(
        *_muldiv(scaled, peak_factor, denominator * scale * YEARS_SCALE),
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
        value, _ = _half_up(*_muldiv(part, SHARE_SCALE, safe), safe)
        return np.where(expected > 0, value, 0)

    return Spend(expected, total(peak), share(high), share(new))


def fact_columns(facts: pd.DataFrame, policy: Policy, spend: Spend) -> dict[str, Column]:
    """The engine's facts (`creditbook.core.engine.facts_of`) as columns, without the score."""

    def ints(name: str) -> Ints:
        return facts[name].to_numpy(dtype=np.int64)

    months = ints("relationship_months")
    is_new = months == 0
    rates = {currency.value: fx_rate(policy, currency.value) for currency in Currency}
    common = int(np.lcm.reduce([d for _, d in rates.values()]))
    to_base = {currency: n * (common // d) for currency, (n, d) in rates.items()}
    overdue = ints("current_overdue_amount")
    _check((overdue, max(to_base.values())))
    columns: dict[str, Column] = {
        "entity_type": facts["entity_type"],
        "years_in_business": Num(ints("years_in_business"), YEARS_SCALE),
        "procurement": facts["procurement"],
        "relationship_months": Num(months, 1),
        "is_new_customer": is_new,
        "on_time_ratio_12m": Num(ints("on_time_ratio_12m"), RATIO_SCALE, is_new),
        "max_days_overdue_12m": Num(ints("max_days_overdue_12m"), 1),
        "overdue_events_12m": Num(ints("overdue_events_12m"), 1),
        "consecutive_overdue_invoices": Num(ints("consecutive_overdue_invoices"), 1),
        "current_overdue_amount": Num(
            overdue * _per_currency(currency_codes(facts["currency"]), to_base), 100 * common
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


def _units(policy: Policy) -> dict[str, int]:
    """The limit rounding unit per currency, in cents."""
    fallback = policy.rounding.limit_unit[policy.base_currency]
    return {
        currency.value: _scaled(policy.rounding.limit_unit.get(currency, fallback), 100, "unit")
        for currency in Currency
    }


def _units_of(policy: Policy, amount: Decimal, code: str, unit: int) -> int:
    """Whole rounding units in a base-currency amount shown in `code`, as the engine rounds it."""
    step = Decimal(unit) / 100
    return int(round_down(policy.from_base(amount, Currency(code)), step) / step)


def _labels(codes: Ints, names: list[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(names))


def differs(before: pd.DataFrame, after: pd.DataFrame, name: str) -> Flags:
    """Rows where a figure changed; labels compare through codes over both policies' labels."""
    old, new = before[name], after[name]
    if isinstance(old.dtype, pd.CategoricalDtype) and isinstance(new.dtype, pd.CategoricalDtype):
        joint = list(dict.fromkeys([*old.cat.categories, *new.cat.categories]))
        old, new = old.cat.set_categories(joint).cat.codes, new.cat.set_categories(joint).cat.codes
    return (old != new).to_numpy(dtype=bool)


def evaluate_frame(facts: pd.DataFrame, lines: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """tier, score, decision, approved_limit and unsecured_exposure (cents), structure, per row."""
    size = len(facts)
    spend = spend_frame(facts, lines, policy)
    known = fact_columns(facts, policy, spend)

    score = np.zeros(size, dtype=np.int64)
    for factor in policy.score_factors:
        bands = [holds(band.when, known, size) for band in factor.bands]
        score += np.select(bands, [band.points for band in factor.bands], 0)
    known["score"] = Num(score, 1)

    tiers = policy.tiers
    rank = np.select(
        [holds(tier.when, known, size) for tier in tiers], list(range(len(tiers))), len(tiers) - 1
    )
    rule_condition = _none(size)
    for rule in policy.hard_rules:
        fired = holds(rule.when, known, size)
        rank = np.where(fired, np.maximum(rank, policy.tier_rank(rule.max_tier)), rank)
        if rule.condition:
            rule_condition |= fired

    def per_tier(values: Iterable[Any]) -> npt.NDArray[Any]:
        picked: npt.NDArray[Any] = np.asarray(list(values))[rank]
        return picked

    codes = currency_codes(facts["currency"])
    unit = _per_currency(codes, _units(policy))
    requested_terms = facts["requested_terms_days"].to_numpy(dtype=np.int64)
    requested_cycle = facts["billing_cycle_days"].to_numpy(dtype=np.int64)
    terms = np.minimum(requested_terms, per_tier(t.max_payment_terms_days for t in tiers))
    cycle = np.minimum(requested_cycle, per_tier(t.max_billing_cycle_days for t in tiers))

    # need = cents(weighted · days / 30), weighted = expected + w·(peak − expected), w = wn/wd
    wn, wd = _ratio(policy.need_limit.peak_weight)
    weighted = spend.expected * wd + wn * (spend.peak - spend.expected)
    days = cycle + terms + policy.need_limit.grace_days
    need, ties = _half_up(*_muldiv(weighted, days, wd * 30), wd * 30)
    for row in np.flatnonzero(ties & (days % 3 != 0)):  # days / 30 is inexact: the engine's way
        expected = Decimal(int(spend.expected[row])) / 100
        amount = expected + policy.need_limit.peak_weight * (
            Decimal(int(spend.peak[row])) / 100 - expected
        )
        need[row] = int(cents(amount * (Decimal(int(days[row])) / DAYS_PER_MONTH)) * 100)

    # every cap in whole rounding units, rounded down: the smallest is the approved limit
    requested = facts["requested_limit"].to_numpy(dtype=np.int64)
    secured = (
        facts["deposit"].to_numpy(dtype=np.int64)
        + facts["prepaid_balance"].to_numpy(dtype=np.int64)
        + facts["hard_guarantee"].to_numpy(dtype=np.int64)
    )
    multiple = [_ratio(t.limit_multiple) for t in tiers]
    by_multiple = _muldiv(
        spend.expected, per_tier(n for n, _ in multiple), per_tier(d for _, d in multiple) * unit
    )[0]
    units = _units(policy)
    tier_max = {
        code: [_units_of(policy, t.max_limit, code, cap) for t in tiers]
        for code, cap in units.items()
    }
    by_max = np.zeros(size, dtype=np.int64)
    for code, caps in tier_max.items():
        here = codes == CURRENCIES.index(code)
        by_max[here] = np.asarray(caps, dtype=np.int64)[rank[here]]
    appetite = np.zeros(size, dtype=np.int64)
    ceiling = _scaled(policy.appetite.max_unsecured_exposure, 100, "appetite")
    for code in units:
        here = codes == CURRENCIES.index(code)
        n, d = fx_rate(policy, code)  # from_base(x) = x · d / n
        _check((secured, n))
        appetite[here] = _muldiv(_ints(ceiling * d + secured[here] * n), 1, n * units[code])[0]
    approved_units = np.maximum(
        np.minimum.reduce(
            [requested // unit, need // unit, np.minimum(by_multiple, by_max), appetite]
        ),
        0,
    )
    approved = approved_units * unit
    structures = list(Structure)
    prepaid_code = structures.index(Structure.PREPAID)
    structure = np.where(
        approved > 0, per_tier(structures.index(t.structure) for t in tiers), prepaid_code
    )
    prepaid = structure == prepaid_code
    approved = np.where(prepaid, 0, approved)
    terms = np.where(prepaid, 0, terms)
    deposit_ratio = [_ratio(t.deposit_ratio) for t in tiers]
    dn, dd = per_tier(n for n, _ in deposit_ratio), per_tier(d for _, d in deposit_ratio)
    quotient, remainder = _muldiv(approved, dn, dd * unit)
    required_deposit = (quotient + (remainder > 0)) * unit
    deposit = facts["deposit"].to_numpy(dtype=np.int64)

    first, rest = facts["ramp_first"].to_numpy(np.int64), facts["ramp_rest_max"].to_numpy(np.int64)
    custom = first >= 0
    staged = custom & (first < approved) & (rest > first)
    steps = [
        np.maximum(_muldiv(approved, _ratio(step.share)[0], _ratio(step.share)[1] * unit)[0], 1)
        for step in policy.new_customer_ramp
    ]
    if len(steps) > 1:
        rising = np.maximum.reduce(steps[1:]) > steps[0]
        staged |= ~custom & (facts["relationship_months"].to_numpy() == 0) & (approved > 0) & rising

    conditions = (
        rule_condition
        | (required_deposit > deposit)
        | (terms < requested_terms)
        | (cycle < requested_cycle)
        | staged
        | (facts["guarantee_type"] != GuaranteeType.NONE.value).to_numpy(dtype=bool)
    )
    cn, cd = _ratio(policy.counter_offer_below)
    _check((approved, cd), (requested, cn))
    kinds = list(DecisionKind)
    decision = np.select(
        [
            prepaid,
            approved * cd < requested * cn,
            conditions | (structure != structures.index(Structure.MONTHLY_SETTLEMENT)),
        ],
        [
            kinds.index(DecisionKind.PREPAID_ONLY),
            kinds.index(DecisionKind.COUNTER_OFFER),
            kinds.index(DecisionKind.APPROVE_WITH_CONDITIONS),
        ],
        kinds.index(DecisionKind.APPROVE),
    )
    held = np.maximum(deposit, required_deposit) + facts["prepaid_balance"].to_numpy(np.int64)
    unsecured = np.maximum(approved - held - facts["hard_guarantee"].to_numpy(dtype=np.int64), 0)
    return pd.DataFrame(
        {
            "tier": _labels(rank, [t.id for t in tiers]),
            "score": score,
            "decision": _labels(decision, [k.value for k in kinds]),
            "approved_limit": approved,
            "structure": _labels(structure, [s.value for s in structures]),
            "unsecured_exposure": unsecured,
        }
    )
