"""The engine as column arithmetic: many applications evaluated under one policy at once.

The applications are read into frames (`creditbook.portfolio.frames`); `evaluate_frame` then runs
the engine's stages for one policy as column arithmetic: score bands, tiers and hard rules through
the condition language (`creditbook.portfolio.columns.holds`), the caps, the structure search of
`creditbook.core.line` (every billing cycle and term in the engine's order, as a credit line and
as a line carried by cash), the deposit that makes the most restrictive structure fit, the
required deposit, decision kind and unsecured exposure. Money is held in integer cents and every
rounding is done on exact integer quotients, so each figure equals the engine's; at an exact
half-cent tie after an inexact day-count division the row is recomputed with the engine's own
Decimal expression. Inputs or policies outside what this covers raise `Unsupported`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from creditbook.core.models import (
    Decision,
    DecisionKind,
    GuaranteeType,
    Structure,
)
from creditbook.core.money import cents
from creditbook.core.policy import Policy
from creditbook.core.spend import DAYS_PER_MONTH
from creditbook.portfolio.columns import (
    LIMIT,
    Column,
    Flags,
    Ints,
    Num,
    as_ints,
    check_products,
    half_up,
    holds,
    muldiv,
    no_rows,
    ratio_of,
)
from creditbook.portfolio.frames import (
    CURRENCIES,
    MATERIALS,
    SHARE_SCALE,
    Spend,
    currency_codes,
    fact_columns,
    fx_rate,
    per_currency,
    rounding_units,
    scaled,
    spend_frame,
    units_of,
)

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


def _labels(codes: Ints, names: list[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(names))


def differs(before: pd.DataFrame, after: pd.DataFrame, name: str) -> Flags:
    """Rows where a figure changed; labels compare through codes over both policies' labels."""
    old, new = before[name], after[name]
    if isinstance(old.dtype, pd.CategoricalDtype) and isinstance(new.dtype, pd.CategoricalDtype):
        joint = list(dict.fromkeys([*old.cat.categories, *new.cat.categories]))
        old, new = old.cat.set_categories(joint).cat.codes, new.cat.set_categories(joint).cat.codes
    return (old != new).to_numpy(dtype=bool)


def _grid(policy: Policy) -> list[tuple[int, int]]:
    """Every (billing cycle, terms) a row may take, in the engine's order (least restrictive first)."""
    cycles = {7, 15, 30, *policy.structures.billing_cycles}
    terms = {0, 15, 30, 45, 60, 90, *policy.structures.payment_terms}
    return sorted(
        ((c, t) for c in cycles for t in terms), key=lambda ct: (-sum(ct), -ct[1], -ct[0])
    )


def _allowed(policy: Policy, option: tuple[int, int], cycle: Ints, terms: Ints) -> Flags:
    """Rows for which `option` is one of `structures_of`'s choices under these caps."""
    c, t = option
    offered_c = c in policy.structures.billing_cycles
    offered_t = t in policy.structures.payment_terms
    allowed: Flags = (
        (c <= cycle) & (t <= terms) & (offered_c | (cycle == c)) & (offered_t | (terms == t))
    )
    return allowed


def evaluate_frame(facts: pd.DataFrame, lines: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """tier, score, decision, approved_limit and unsecured_exposure (cents), structure, per row:
    the stages of `creditbook.core.engine.evaluate` and `creditbook.core.line.line_of`."""
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
    rule_condition = no_rows(size)
    cycle_cap = np.full(size, 30, dtype=np.int64)
    ratio_n, ratio_d = np.zeros(size, dtype=np.int64), np.ones(size, dtype=np.int64)
    for rule in policy.hard_rules:
        fired = holds(rule.when, known, size)
        if rule.max_tier is not None:
            rank = np.where(fired, np.maximum(rank, policy.tier_rank(rule.max_tier)), rank)
        if rule.condition:
            rule_condition |= fired
        if rule.max_billing_cycle_days is not None:
            cycle_cap = np.where(
                fired, np.minimum(cycle_cap, rule.max_billing_cycle_days), cycle_cap
            )
        if rule.min_deposit_ratio is not None:
            ratio_n, ratio_d = _larger(fired, ratio_of(rule.min_deposit_ratio), ratio_n, ratio_d)

    def per_tier(values: Iterable[Any]) -> npt.NDArray[Any]:
        picked: npt.NDArray[Any] = np.asarray(list(values))[rank]
        return picked

    for index, tier in enumerate(tiers):
        ratio_n, ratio_d = _larger(rank == index, ratio_of(tier.deposit_ratio), ratio_n, ratio_d)

    codes = currency_codes(facts["currency"])
    unit = per_currency(codes, rounding_units(policy))
    asked_terms = facts["requested_terms_days"].to_numpy(dtype=np.int64)
    asked_cycle = facts["billing_cycle_days"].to_numpy(dtype=np.int64)
    terms_cap = np.minimum(asked_terms, per_tier(t.max_payment_terms_days for t in tiers))
    cycle_cap = np.minimum.reduce(
        [asked_cycle, per_tier(t.max_billing_cycle_days for t in tiers), cycle_cap]
    )

    # the caps no structure changes: tier, appetite + security, the increase cap (in units)
    requested = facts["requested_limit"].to_numpy(dtype=np.int64)
    deposit = facts["deposit"].to_numpy(dtype=np.int64)
    prepaid_balance = facts["prepaid_balance"].to_numpy(dtype=np.int64)
    hard = facts["hard_guarantee"].to_numpy(dtype=np.int64)
    arrears = facts["current_overdue_amount"].to_numpy(dtype=np.int64)
    raw_cash = deposit + prepaid_balance - arrears  # held net of arrears, before the floor at 0
    raw_security = raw_cash + hard
    cash, security = np.maximum(raw_cash, 0), np.maximum(raw_security, 0)
    multiple = [ratio_of(t.limit_multiple) for t in tiers]
    by_multiple = muldiv(
        spend.expected, per_tier(n for n, _ in multiple), per_tier(d for _, d in multiple) * unit
    )[0]
    units = rounding_units(policy)
    by_max = np.zeros(size, dtype=np.int64)
    for code, cap in units.items():
        here = codes == CURRENCIES.index(code)
        caps = [units_of(policy, t.max_limit, code, cap) for t in tiers]
        by_max[here] = np.asarray(caps, dtype=np.int64)[rank[here]]
    tier_cap = np.minimum(by_multiple, by_max)
    appetite_cents = _appetite_cents(policy, codes, units, security)  # × n: exact in every currency
    appetite = _appetite_with(policy, codes, units, appetite_cents, np.zeros(size, np.int64))
    current = facts["current_limit"].to_numpy(dtype=np.int64)
    increase = (current > 0) & (requested > current)
    materials = facts["materials"].to_numpy(dtype=np.int64)
    factor_n, factor_d = np.ones(size, dtype=np.int64), np.ones(size, dtype=np.int64)
    for bit, material in enumerate(MATERIALS):
        if material in policy.increase.materials:
            given = (materials >> bit) & 1 == 1
            grown = ratio_of(policy.increase.materials[material])
            factor_n, factor_d = _larger(given, grown, factor_n, factor_d)
    check_products((current, factor_n))
    current_cap = np.where(increase, muldiv(current, factor_n, factor_d * unit)[0], LIMIT // 4)

    wn, wd = ratio_of(policy.need_limit.peak_weight)
    weighted = spend.expected * wd + wn * (spend.peak - spend.expected)

    def need_at(days: int, rows: Flags) -> Ints:
        """need in cents = cents(weighted · days / 30), the engine's way at inexact ties (in the
        `rows` whose figure is used)."""
        need, ties = half_up(*muldiv(weighted, days, wd * 30), wd * 30)
        for row in np.flatnonzero(ties & rows) if days % 3 else ():
            expected = Decimal(int(spend.expected[row])) / 100
            amount = expected + policy.need_limit.peak_weight * (
                Decimal(int(spend.peak[row])) / 100 - expected
            )
            need[row] = int(cents(amount * (Decimal(days) / DAYS_PER_MONTH)) * 100)
        return need

    allows_credit = per_tier(t.structure is not Structure.PREPAID for t in tiers).astype(bool)
    grace = policy.need_limit.grace_days
    cash_units = muldiv(cash, 1, unit)[0]
    search = {"credit": _Search.empty(size), "cash": _Search.empty(size)}
    floor_c, floor_t = cycle_cap.copy(), terms_cap.copy()
    for option in _grid(policy):
        c, t = option
        capped = _allowed(policy, option, cycle_cap, terms_cap)
        floor_c, floor_t = np.where(capped, c, floor_c), np.where(capped, t, floor_t)
        credit_rows = capped & allows_credit & ~search["credit"].found
        cash_rows = _allowed(policy, option, asked_cycle, asked_terms) & ~search["cash"].found
        if not (credit_rows.any() or cash_rows.any()):
            continue
        need = need_at(c + t + grace, credit_rows | cash_rows)
        base = np.minimum.reduce([requested // unit, need // unit, current_cap])
        lines_at = {
            "credit": (np.maximum(np.minimum.reduce([base, tier_cap, appetite]), 0), credit_rows),
            "cash": (np.maximum(np.minimum(base, cash_units), 0), cash_rows),
        }
        check_products((base, unit * 30), (spend.expected, c + t))
        for kind, (line, allowed) in lines_at.items():
            fits = (line > 0) & (line * unit * 30 >= spend.expected * (c + t))
            search[kind].take(allowed & fits, line, c, t)
    credit_found, cash_found = search["credit"], search["cash"]
    found_credit, credit_units = credit_found.found, credit_found.amount
    credit_c, credit_t = credit_found.cycle, credit_found.terms
    found_cash, cash_line, cash_c, cash_t = (
        cash_found.found,
        cash_found.amount,
        cash_found.cycle,
        cash_found.terms,
    )

    # more credit first, then the longer time to pay, then credit over cash
    use_cash = found_cash & (
        ~found_credit
        | (cash_line > credit_units)
        | ((cash_line == credit_units) & (cash_c + cash_t > credit_c + credit_t))
    )
    approved_units = np.where(use_cash, cash_line, np.where(found_credit, credit_units, 0))
    cycle = np.where(use_cash, cash_c, np.where(found_credit, credit_c, floor_c))
    terms = np.where(use_cash, cash_t, np.where(found_credit, credit_t, floor_t))
    by_cash = use_cash.copy()

    # no structure fits: the smallest deposit that makes the most restrictive one fit
    lever = ~found_credit & ~found_cash & allows_credit
    added = np.zeros(size, dtype=np.int64)  # cents
    if lever.any():
        days = floor_c + floor_t
        target, spare = muldiv(spend.expected, days, 30 * unit)
        target = target + (spare > 0)  # round_up, in units
        need = np.zeros(size, dtype=np.int64)
        for total in np.unique(days[lever]):
            here = lever & (days == total)
            need[here] = (need_at(int(total) + grace, here) // unit)[here]
        base = np.minimum.reduce([requested // unit, need, current_cap])
        x_credit = _deposit_for_appetite(policy, codes, units, raw_security, target * unit)
        x_cash = _round_up(np.maximum(target * unit - raw_cash, 0), unit)
        via_credit = lever & (np.minimum(base, tier_cap) >= target)
        via_cash = lever & (base >= target)
        pick_credit = via_credit & (~via_cash | (x_credit <= x_cash))
        pick_cash = via_cash & ~pick_credit
        added = np.where(pick_credit, x_credit, np.where(pick_cash, x_cash, 0))
        more = _appetite_cents(policy, codes, units, np.maximum(raw_security + added, 0))
        with_credit = np.minimum.reduce(
            [base, tier_cap, _appetite_with(policy, codes, units, more, 0 * added)]
        )
        with_cash = np.minimum(base, muldiv(np.maximum(raw_cash + added, 0), 1, unit)[0])
        approved_units = np.where(pick_credit, with_credit, approved_units)
        approved_units = np.where(pick_cash, with_cash, approved_units)
        by_cash |= pick_cash
    approved = np.maximum(approved_units, 0) * unit

    structures = list(Structure)
    tier_structure = per_tier(structures.index(t.structure) for t in tiers)
    prepaid = approved == 0
    structure = np.where(
        prepaid,
        structures.index(Structure.PREPAID),
        np.where(
            by_cash & ~allows_credit, structures.index(Structure.DEPOSIT_BACKED), tier_structure
        ),
    )
    terms = np.where(prepaid, 0, terms)
    rn, rd = np.where(by_cash, 1, ratio_n), np.where(by_cash, 1, ratio_d)
    check_products((approved, rn))
    owed = _round_up(muldiv(approved, rn, rd)[0] + (muldiv(approved, rn, rd)[1] > 0), unit)
    shortfall = np.where(prepaid, 0, np.maximum.reduce([owed - security, added, 0 * added]))

    staged = _staged(facts, policy, known, spend, approved, by_cash, cycle + terms, unit)
    conditions = (
        rule_condition
        | (shortfall > 0)
        | (terms < asked_terms)
        | (cycle < asked_cycle)
        | staged
        | (facts["guarantee_type"] != GuaranteeType.NONE.value).to_numpy(dtype=bool)
    )
    kinds = list(DecisionKind)
    decision = np.select(
        [
            prepaid,
            (added > 0) | (structure != structures.index(Structure.MONTHLY_SETTLEMENT)),
            conditions,
            approved < requested,
        ],
        [
            kinds.index(DecisionKind.PREPAID_ONLY),
            kinds.index(DecisionKind.COUNTER_OFFER),
            kinds.index(DecisionKind.APPROVE_WITH_CONDITIONS),
            kinds.index(DecisionKind.APPROVE_REDUCED),
        ],
        kinds.index(DecisionKind.APPROVE),
    )
    held = deposit + shortfall + prepaid_balance + hard
    return pd.DataFrame(
        {
            "tier": _labels(rank, [t.id for t in tiers]),
            "score": score,
            "decision": _labels(decision, [k.value for k in kinds]),
            "approved_limit": approved,
            "structure": _labels(structure, [s.value for s in structures]),
            "unsecured_exposure": np.maximum(approved - held, 0),
        }
    )


@dataclass
class _Search:
    """Per row, the first structure (in the engine's order) under which a line fits."""

    found: Flags
    amount: Ints
    cycle: Ints
    terms: Ints

    @classmethod
    def empty(cls, size: int) -> _Search:
        return cls(no_rows(size), *(np.zeros(size, dtype=np.int64) for _ in range(3)))

    def take(self, fits: Flags, line: Ints, cycle: int, terms: int) -> None:
        take = fits & ~self.found
        self.amount[take], self.cycle[take], self.terms[take] = line[take], cycle, terms
        self.found |= take


def _larger(
    where: Flags, ratio: tuple[int, int], numerators: Ints, denominators: Ints
) -> tuple[Ints, Ints]:
    """Per row, the larger of the held ratio and `ratio` where `where` holds."""
    n, d = ratio
    bigger = where & (n * denominators > numerators * d)
    return np.where(bigger, n, numerators), np.where(bigger, d, denominators)


def _round_up(cents_: Ints, unit: Ints) -> Ints:
    """Cents rounded up to whole rounding units (still in cents)."""
    quotient, remainder = np.divmod(cents_, unit)
    return as_ints((quotient + (remainder > 0)) * unit)


def _appetite_cents(policy: Policy, codes: Ints, units: dict[str, int], security: Ints) -> Ints:
    """(appetite in the row's currency + security) × n, in cents, where from_base(x) = x·d/n."""
    ceiling = scaled(policy.appetite.max_unsecured_exposure, 100, "appetite")
    out = np.zeros(len(codes), dtype=np.int64)
    for code in units:
        here = codes == CURRENCIES.index(code)
        n, d = fx_rate(policy, code)
        check_products((security, n), (np.asarray([ceiling]), d))
        out[here] = as_ints(ceiling * d + security[here] * n)
    return out


def _appetite_with(
    policy: Policy, codes: Ints, units: dict[str, int], appetite_cents: Ints, added: Ints
) -> Ints:
    """The appetite cap in whole units with `added` cents more deposit held."""
    out = np.zeros(len(codes), dtype=np.int64)
    for code in units:
        here = codes == CURRENCIES.index(code)
        n, _ = fx_rate(policy, code)
        check_products((added, n))
        out[here] = muldiv(appetite_cents[here] + added[here] * n, 1, n * units[code])[0]
    return out


def _deposit_for_appetite(
    policy: Policy, codes: Ints, units: dict[str, int], raw_security: Ints, target: Ints
) -> Ints:
    """The smallest deposit (cents, whole units) that lifts the appetite cap to `target` cents:
    the security it needs beyond the appetite, less what is held (which may be below zero)."""
    ceiling = scaled(policy.appetite.max_unsecured_exposure, 100, "appetite")
    out = np.zeros(len(codes), dtype=np.int64)
    for code in units:
        here = codes == CURRENCIES.index(code)
        n, d = fx_rate(policy, code)
        quotient, remainder = np.divmod(np.maximum(target[here] * n - ceiling * d, 0), n)
        wanted = quotient + (remainder > 0)
        step = np.full(len(wanted), units[code])
        out[here] = np.where(
            wanted > 0, _round_up(np.maximum(wanted - raw_security[here], 0), step), 0
        )
    return out


def _staged(
    facts: pd.DataFrame,
    policy: Policy,
    known: dict[str, Column],
    spend: Spend,
    approved: Ints,
    by_cash: Flags,
    due: Ints,
    unit: Ints,
) -> Flags:
    """Rows whose ramp (`creditbook.core.engine.ramp_of`) has more than one step."""
    size = len(facts)
    first = facts["ramp_first"].to_numpy(np.int64)
    rest = facts["ramp_rest_max"].to_numpy(np.int64)
    custom = first >= 0
    live = (approved > 0) & ~by_cash
    staged = live & custom & (first < approved) & (rest > first)
    fit, spare = muldiv(spend.expected, due, 30 * unit)
    floor = np.minimum((fit + (spare > 0)) * unit, approved)

    def steps(shares: Iterable[tuple[int, int]]) -> list[Ints]:
        """max(round_down(approved · p/q, unit), floor, unit) for each share p/q of the line."""
        return [
            np.maximum.reduce([muldiv(approved, p, q * unit)[0] * unit, floor, unit])
            for p, q in shares
        ]

    def rising(values: list[Ints]) -> Flags:
        return np.maximum.reduce(values[1:]) > values[0] if len(values) > 1 else no_rows(size)

    is_new = np.asarray(known["is_new_customer"], dtype=bool)
    new = steps(ratio_of(step.share) for step in policy.new_customer_ramp)
    staged |= live & ~custom & is_new & rising(new)
    ramp = policy.new_scenario_ramp
    above = scaled(ramp.above_share, SHARE_SCALE, "new_scenario_ramp.above_share")
    # the line less the not-yet-open part of the new-scenario share k/10⁴: 1 − k(q − p)/(10⁴ q)
    shares = []
    for step in ramp.steps:
        p, q = ratio_of(step.share)
        shares.append((p, q))
    scenario = []
    for p, q in shares:
        numerator = SHARE_SCALE * q - spend.new_scenario_share * (q - p)
        check_products((approved, SHARE_SCALE * q))
        scenario.append(
            np.maximum.reduce(
                [muldiv(approved, numerator, SHARE_SCALE * q * unit)[0] * unit, floor, unit]
            )
        )
    staged |= live & ~custom & ~is_new & (spend.new_scenario_share > above) & rising(scenario)
    return staged
