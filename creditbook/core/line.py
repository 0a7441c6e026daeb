"""The line and its structure, decided together.

A credit line is a window of exposure: the customer uses the service for a billing cycle, then has
the payment terms to pay. The line must cover expected usage until that first invoice is due, or it
runs out before the customer has ever been asked to pay. So the engine tries the structures the
tier and policy allow, least restrictive first (the longest time to the first due day, the
requested terms kept longest), and takes the first under which the line the caps allow covers that
usage. When even the most restrictive does not, a deposit is added to it (the smallest that makes
it fit), and the decision becomes a counter-offer.

The caps: the request; the need (weighted monthly spend over the whole window); the tier's cap; the
risk appetite plus the security held (net of arrears); for an increase, the current limit times
what the new materials allow. Cash held can also carry a line by itself, fully secured (on the
tier's structure, or deposit-backed when the tier gives no credit), so holding more cash never
leaves a customer worse off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from creditbook.core.labels import label
from creditbook.core.models import (
    Application,
    Cap,
    GuaranteeType,
    Structure,
)
from creditbook.core.money import cents, money, round_down, round_up
from creditbook.core.policy import Policy
from creditbook.core.records import Text, text
from creditbook.core.scoring import TierChoice, is_increase
from creditbook.core.spend import DAYS_PER_MONTH, Spend

HARD_SECURITY = (GuaranteeType.BANK_GUARANTEE, GuaranteeType.LETTER_OF_CREDIT)


@dataclass(frozen=True)
class Security:
    """What we hold against the line: cash (deposit, prepaid balance), a bank guarantee or letter
    of credit; net of what the customer owes us now, which we would set off first."""

    net_cash: Decimal  # deposit + prepaid balance − arrears: below zero when arrears exceed it
    hard_guarantee: Decimal

    @property
    def cash(self) -> Decimal:
        return max(self.net_cash, Decimal(0))

    @property
    def total(self) -> Decimal:
        return max(self.net_cash + self.hard_guarantee, Decimal(0))


def security_of(app: Application, extra_deposit: Decimal = Decimal(0)) -> Security:
    profile, buffers = app.profile, app.buffers
    hard = profile.guarantee_amount if profile.guarantee_type in HARD_SECURITY else Decimal(0)
    cash = buffers.deposit + extra_deposit + buffers.prepaid_balance
    return Security(net_cash=cash - profile.current_overdue_amount, hard_guarantee=hard)


@dataclass(frozen=True)
class Line:
    cycle: int
    terms: int
    weighted_spend: Decimal
    need: Decimal
    caps: tuple[Cap, ...]
    approved: Decimal
    structure: Structure
    by_cash: bool  # carried by cash held alone: more than the tier's credit would give
    deposit_ratio: Decimal
    required_deposit: Decimal  # the deposit the contract requires in all
    shortfall: Decimal  # what is still to be posted before the line opens
    fits: bool  # covers expected spend to the first due day without an added deposit
    added_deposit: Decimal  # the deposit that makes it fit when no structure does (counter-offer)

    @property
    def prepaid(self) -> bool:
        return self.structure is Structure.PREPAID

    @property
    def due_day(self) -> int:
        return self.cycle + self.terms


def structures_of(
    app: Application, policy: Policy, choice: TierChoice, *, capped: bool = True
) -> list[tuple[int, int]]:
    """(billing cycle, terms) the line may take, least restrictive first: never longer than the
    customer asked, nor (when `capped`: a credit line) than the tier and its hard rules allow. A
    line carried by cash is capped by the request alone: every unit it can draw is secured."""
    cycle, terms = app.buffers.billing_cycle_days, app.profile.payment_terms_days
    if capped:
        tier = choice.tier
        cycle_caps = [r.max_billing_cycle_days for r in choice.fired if r.max_billing_cycle_days]
        cycle = min([cycle, tier.max_billing_cycle_days, *cycle_caps])
        terms = min(terms, tier.max_payment_terms_days)
    options = {
        (c, t)
        for c in (cycle, *policy.structures.billing_cycles)
        for t in (terms, *policy.structures.payment_terms)
        if c <= cycle and t <= terms
    }
    return sorted(options, key=lambda ct: (-(ct[0] + ct[1]), -ct[1], -ct[0]))


def fit_amount(spend: Spend, due_day: int) -> Decimal:
    """Expected spend from the first day of use to the first invoice's due day."""
    return spend.expected * due_day / DAYS_PER_MONTH


def _increase_cap(app: Application, policy: Policy) -> tuple[Decimal, Text] | None:
    profile = app.profile
    if not is_increase(app):
        return None
    current, cur = profile.current_limit, profile.currency
    factors = {
        m: policy.increase.materials[m]
        for m in profile.new_materials
        if m in policy.increase.materials
    }
    if not factors:
        return current, text(
            f"现有额度 {money(current, cur)}（提额未提交新材料）",
            f"the current limit {money(current, cur)} (an increase without new materials)",
        )
    best = max(factors, key=lambda m: factors[m])
    factor = factors[best]
    shown = f"{factor.normalize():f}"
    name = label(best)
    return current * factor, text(
        f"现有额度 {money(current, cur)} × {shown}（已提交{name.zh}）",
        f"the current limit {money(current, cur)} × {shown} ({name.en.lower()} submitted)",
    )


@dataclass(frozen=True)
class Caps:
    """The caps under one structure: a credit line's, and a line carried by cash alone."""

    credit: tuple[tuple[str, Decimal, Text], ...]
    cash: tuple[tuple[str, Decimal, Text], ...]
    need: Decimal
    weighted: Decimal


def caps_at(
    app: Application,
    policy: Policy,
    choice: TierChoice,
    spend: Spend,
    structure: tuple[int, int],
    added_deposit: Decimal,
) -> Caps:
    profile, tier = app.profile, choice.tier
    currency = profile.currency
    cycle, terms = structure
    held = security_of(app, added_deposit)
    weighted = spend.expected + policy.need_limit.peak_weight * (spend.peak - spend.expected)
    window = cycle + terms + policy.need_limit.grace_days
    need = cents(weighted * window / DAYS_PER_MONTH)
    appetite = policy.from_base(policy.appetite.max_unsecured_exposure, currency)
    requested = ("requested", profile.requested_limit, text("申请额度", "the requested limit"))
    needed = ("need", need, text("需求测算额度", "the need-based limit"))
    credit = [
        requested,
        needed,
        (
            "tier",
            min(tier.limit_multiple * spend.expected, policy.from_base(tier.max_limit, currency)),
            text(f"评级 {tier.id} {tier.name.zh}档上限", f"the tier {tier.id} {tier.name.en} cap"),
        ),
        (
            "appetite",
            appetite + held.total,
            text(
                f"风险偏好上限 {money(appetite, currency)} 加已收保证金 / 保函 "
                f"{money(cents(held.total), currency)}",
                f"the risk appetite {money(appetite, currency)} plus security held "
                f"{money(cents(held.total), currency)}",
            ),
        ),
    ]
    cash = [
        requested,
        needed,
        (
            "cash",
            held.cash,
            text("已收现金（保证金与预付余额）", "cash held (deposit and prepaid)"),
        ),
    ]
    increase = _increase_cap(app, policy)
    if increase is not None:
        credit.append(("current", *increase))
        cash.append(("current", *increase))
    return Caps(credit=tuple(credit), cash=tuple(cash), need=need, weighted=cents(weighted))


def line_at(
    app: Application,
    policy: Policy,
    choice: TierChoice,
    spend: Spend,
    unit: Decimal,
    structure: tuple[int, int],
    *,
    by_cash: bool = False,
    added_deposit: Decimal = Decimal(0),
) -> Line:
    """The line the caps allow under one (billing cycle, terms): a credit line, or one carried by
    cash held (`by_cash`); `added_deposit` counts as held (the deposit a counter-offer asks for)."""
    tier = choice.tier
    cycle, terms = structure
    caps = caps_at(app, policy, choice, spend, structure, added_deposit)
    allows_credit = tier.structure is not Structure.PREPAID
    shown = caps.cash if by_cash else caps.credit
    approved = _rounded(shown, unit) if by_cash or allows_credit else Decimal(0)
    binding = min(shown, key=lambda cap: cap[1])[0]
    if not approved:
        kind, ratio = Structure.PREPAID, Decimal(0)
    elif by_cash:  # fully secured by cash; the tier's structure when it gives credit at all
        kind = tier.structure if allows_credit else Structure.DEPOSIT_BACKED
        ratio = Decimal(1)
    else:
        kind = tier.structure
        ratio = max(
            [
                tier.deposit_ratio,
                *(r.min_deposit_ratio for r in choice.fired if r.min_deposit_ratio),
            ]
        )
    owed = round_up(approved * ratio, unit) - security_of(app).total
    shortfall = max(owed, added_deposit, Decimal(0))
    return Line(
        cycle=cycle,
        terms=0 if kind is Structure.PREPAID else terms,
        weighted_spend=caps.weighted,
        need=caps.need,
        caps=tuple(
            Cap(id=key, label=name, amount=cents(amount), binding=key == binding)
            for key, amount, name in shown
        ),
        approved=approved,
        structure=kind,
        by_cash=by_cash and bool(approved),
        deposit_ratio=ratio,
        required_deposit=app.buffers.deposit + shortfall,
        shortfall=shortfall,
        fits=approved > 0 and approved >= fit_amount(spend, cycle + terms),
        added_deposit=added_deposit,
    )


def _rounded(caps: tuple[tuple[str, Decimal, Text], ...], unit: Decimal) -> Decimal:
    return max(round_down(min(amount for _, amount, _ in caps), unit), Decimal(0))


def line_of(
    app: Application, policy: Policy, choice: TierChoice, spend: Spend, unit: Decimal
) -> Line:
    """The least restrictive structure under which the line fits, as a credit line or carried by
    cash held, whichever gives more; when even the most restrictive does not fit, the smallest
    deposit that makes it fit (a counter-offer); else prepaid only."""
    options = structures_of(app, policy, choice)
    searches = [(True, structures_of(app, policy, choice, capped=False))]
    if choice.tier.structure is not Structure.PREPAID:
        searches.insert(0, (False, options))
    fitting = [
        line
        for by_cash, candidates in searches
        if (line := _first_fit(app, policy, choice, spend, unit, candidates, by_cash)) is not None
    ]
    if fitting:  # more credit first; then the longer time to pay; then credit over cash
        return max(fitting, key=lambda line: (line.approved, line.due_day, not line.by_cash))
    floor = options[-1]  # the most restrictive structure: what a deposit is added to
    last = line_at(app, policy, choice, spend, unit, floor)
    prepaid = replace(
        last,
        structure=Structure.PREPAID,
        terms=0,
        approved=Decimal(0),
        by_cash=False,
        required_deposit=app.buffers.deposit,
        shortfall=Decimal(0),
    )
    if choice.tier.structure is Structure.PREPAID:  # no credit; cash held did not carry a line
        return prepaid
    target = round_up(fit_amount(spend, last.due_day), unit)
    lever = deposit_for(app, policy, choice, spend, unit, floor, target)
    if lever is None:  # the request itself is too small to last until the first invoice
        return prepaid
    deposit, by_cash = lever
    return line_at(app, policy, choice, spend, unit, floor, by_cash=by_cash, added_deposit=deposit)


def _first_fit(
    app: Application,
    policy: Policy,
    choice: TierChoice,
    spend: Spend,
    unit: Decimal,
    candidates: list[tuple[int, int]],
    by_cash: bool,
) -> Line | None:
    for candidate in candidates:
        line = line_at(app, policy, choice, spend, unit, candidate, by_cash=by_cash)
        if line.fits:
            return line
    return None


def deposit_for(
    app: Application,
    policy: Policy,
    choice: TierChoice,
    spend: Spend,
    unit: Decimal,
    structure: tuple[int, int],
    target: Decimal,
) -> tuple[Decimal, bool] | None:
    """The smallest added deposit, in whole rounding units, that lifts the line to `target` (a
    whole number of units), and whether the line is then carried by cash: through the appetite
    cap of a credit line when the other caps allow it, or as a line carried by cash; None when
    neither can reach it."""
    caps = caps_at(app, policy, choice, spend, structure, Decimal(0))
    amounts = {key: amount for key, amount, _ in caps.credit}
    held = security_of(app)  # net of arrears, before the floor at zero: what a deposit adds to
    appetite = policy.from_base(policy.appetite.max_unsecured_exposure, app.profile.currency)
    options = []
    others = [amount for key, amount in amounts.items() if key != "appetite"]
    if choice.tier.structure is not Structure.PREPAID and min(others) >= target:
        wanted = max(target - appetite, Decimal(0))
        short = wanted - held.net_cash - held.hard_guarantee
        deposit = round_up(max(short, Decimal(0)), unit) if wanted else Decimal(0)
        options.append((deposit, False))
    if min(amount for key, amount, _ in caps.cash if key != "cash") >= target:
        options.append((round_up(max(target - held.net_cash, Decimal(0)), unit), True))
    return min(options) if options else None


def with_deposit(
    app: Application,
    policy: Policy,
    choice: TierChoice,
    spend: Spend,
    unit: Decimal,
    deposit: Decimal,
) -> Line:
    """Exactly the line the engine decides for this application with `deposit` more posted."""
    buffers = app.buffers.model_copy(update={"deposit": app.buffers.deposit + deposit})
    return line_of(app.model_copy(update={"buffers": buffers}), policy, choice, spend, unit)
