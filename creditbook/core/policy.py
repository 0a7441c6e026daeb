"""Credit policy as data: a versioned YAML file, validated on load, hashed into every decision."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, model_validator

from creditbook.core.conditions import Condition, unknown_facts
from creditbook.core.hashing import content_hash
from creditbook.core.models import (
    Action,
    BillingCycleDays,
    CostClass,
    Currency,
    Material,
    PaymentTermsDays,
    Role,
    StopLossStep,
    Structure,
    Trigger,
)
from creditbook.core.playbook import PlaybookLimit, playbook_problems
from creditbook.core.records import Frozen, Money, Number, Ratio, Text

PositiveNumber = Annotated[Number, Field(gt=0)]


class Row(Frozen):
    when: Condition = Field(default_factory=dict)


class FactorBand(Row):
    points: int
    reason: Text


class ScoreFactor(Frozen):
    id: str
    label: Text
    fact: str
    bands: Annotated[tuple[FactorBand, ...], Field(min_length=1)]


class Tier(Row):
    id: str
    name: Text
    structure: Structure
    max_payment_terms_days: PaymentTermsDays
    max_billing_cycle_days: Literal[7, 15, 30]
    limit_multiple: Annotated[Number, Field(ge=0)]
    max_limit: Annotated[Money, Field(ge=0)]
    deposit_ratio: Annotated[Ratio, Field(le=1)]
    review_interval_days: Annotated[int, Field(gt=0)]


class HardRule(Row):
    """Every rule that holds applies: it caps the tier, and may shorten the billing cycle and the
    review interval, raise the deposit ratio, and add a condition precedent."""

    id: str
    max_tier: str | None = None
    max_billing_cycle_days: BillingCycleDays | None = None
    min_deposit_ratio: Annotated[Ratio, Field(le=1)] | None = None
    review_interval_days: Annotated[int, Field(gt=0)] | None = None
    reason: Text
    condition: Text | None = None


class Appetite(Frozen):
    max_unsecured_exposure: Annotated[Money, Field(ge=0)]
    portfolio_appetite: Annotated[Money, Field(ge=0)]


class Fx(Frozen):
    """Units of the base currency per unit of each other currency."""

    as_of: date
    source: str
    rates: dict[Currency, PositiveNumber]


class NeedLimit(Frozen):
    """Need-based limit = weighted monthly spend × (billing cycle + payment terms + grace) / 30."""

    grace_days: Annotated[int, Field(ge=0)]
    peak_weight: Annotated[Ratio, Field(le=1)]


class NewCustomer(Frozen):
    """Too little history to judge: fewer months with us, or fewer paid invoices, than these. The
    on-time ratio counts only from `min_paid_invoices` invoices on."""

    min_relationship_months: Annotated[int, Field(ge=1)]
    min_paid_invoices: Annotated[int, Field(ge=1)]


class Structures(Frozen):
    """The billing cycles and payment terms the engine may offer when it fits the structure to
    the line (never longer than the customer asked or the tier allows)."""

    billing_cycles: Annotated[tuple[BillingCycleDays, ...], Field(min_length=1)]
    payment_terms: Annotated[tuple[PaymentTermsDays, ...], Field(min_length=1)]


class Increase(Frozen):
    """How far above the current limit each new material lets the line grow (× current limit);
    without any, an increase is capped at the current limit."""

    materials: dict[Material, Annotated[Number, Field(ge=1)]]


class ScenarioRamp(Frozen):
    """Spend from unproven new scenarios above `above_share` of the total opens in steps: each
    step's share applies to the new-scenario part of the line."""

    above_share: Annotated[Ratio, Field(lt=1)]
    steps: Annotated[tuple[RampShare, ...], Field(min_length=1)]


class AuthorityBand(Frozen):
    """Who signs a line up to this amount (base currency); the last band has no upper end."""

    up_to: Annotated[Money, Field(gt=0)] | None = None
    roles: Annotated[tuple[Role, ...], Field(min_length=1)]


class AuthorityException(Row):
    """Who else signs when `when` holds (over the application's and the decision's facts)."""

    id: str
    roles: Annotated[tuple[Role, ...], Field(min_length=1)]
    reason: Text


class Authority(Frozen):
    bands: Annotated[tuple[AuthorityBand, ...], Field(min_length=1)]
    exceptions: tuple[AuthorityException, ...] = ()


class Rounding(Frozen):
    limit_unit: dict[Currency, PositiveNumber]


Basis = Literal[
    "none",
    "expected_monthly_spend",
    "peak_monthly_spend",
    "high_cost_share",
    "approved_limit",
    "increase_headroom",  # the larger of (requested − approved) and the approved limit itself
]
Requirement = Literal["new_materials", "added_guarantee", "purchase_commitment"]


class GovernanceRule(Frozen):
    """Threshold = basis value × factor + offset, at most `cap_basis` × `cap_factor` (so a trigger
    fires before the line it protects runs out); `{threshold}` in the text. A ratio trigger that
    could only fire above 100 % is left out."""

    id: str
    basis: Basis = "none"
    factor: Number = Decimal(1)
    offset: Number = Decimal(0)
    cap_basis: Basis | None = None
    cap_factor: Number = Decimal(1)
    unit: Literal["amount", "ratio", "count", "days"]
    description: Text


class UpgradeRule(GovernanceRule):
    requires: Requirement


class RampShare(Frozen):
    from_day: Annotated[int, Field(ge=0)]
    share: Annotated[Ratio, Field(gt=0, le=1)]


class PrepaidAdvice(Frozen):
    """Auto-recharge advice: threshold and amount as days of expected spend."""

    threshold_days: Annotated[int, Field(gt=0)]
    recharge_days: Annotated[int, Field(gt=0)]


DEFAULT_ANNEX_VALIDITY_MONTHS = 12


class Lender(Frozen):
    """Our company as the contract annex names it: 乙方, the provider of the service, and how long
    a signed annex holds (the review date comes first; a review that changes the terms issues a
    new annex)."""

    name: Text
    credit_code: str | None = None
    address: Text | None = None
    annex_validity_months: Annotated[int, Field(ge=1, le=60)] = DEFAULT_ANNEX_VALIDITY_MONTHS


class Pricing(Frozen):
    """How consumption lines are priced. The defaults are the rules of policies written before
    this block existed, whose hashes therefore do not change (`Policy.content_hash`)."""

    peak_only: bool = True  # off-peak price rows never price credit
    # Stated and token-priced spend more than this far apart, relative to the higher: a warning,
    # and the higher figure is used.
    spend_tolerance: Annotated[Ratio, Field(le=1)] = Decimal("0.25")


UTC_OFFSET_PATTERN = r"^[+-](0[0-9]|1[0-4]):[0-5][0-9]$"  # ±HH:MM, UTC−14:00 to UTC+14:00


class Monitoring(Frozen):
    """How `creditbook monitor` reads usage. The defaults are the rules of policies written
    before this block existed (days in UTC), whose hashes therefore do not change."""

    # Where the reseller's day starts, as an offset from UTC: a usage row belongs to the local
    # date of its time (gateways store Unix seconds or UTC timestamps).
    utc_offset: Annotated[str, Field(pattern=UTC_OFFSET_PATTERN)] = "+00:00"


def _every_trigger(limits: dict[Trigger, PlaybookLimit]) -> dict[Trigger, PlaybookLimit]:
    missing = [trigger.value for trigger in Trigger if trigger not in limits]
    if missing:
        raise ValueError(f"playbook_limits is missing {', '.join(missing)}")
    return limits


class Example(Frozen):
    name: str
    override: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any]


class Examples(Frozen):
    base: dict[str, Any]
    cases: Annotated[tuple[Example, ...], Field(min_length=8)]


class Policy(Frozen):
    id: str
    version: str
    as_of: date
    description: Text
    base_currency: Currency
    fx: Fx
    appetite: Appetite
    upstream_cost_ratio: dict[CostClass, Annotated[Ratio, Field(gt=0, le=1)]]
    rounding: Rounding
    need_limit: NeedLimit
    pricing: Pricing = Pricing()
    monitoring: Monitoring = Monitoring()
    new_customer: NewCustomer
    structures: Structures
    increase: Increase
    score_factors: Annotated[tuple[ScoreFactor, ...], Field(min_length=1)]
    tiers: Annotated[tuple[Tier, ...], Field(min_length=2)]
    hard_rules: tuple[HardRule, ...]
    new_customer_ramp: tuple[RampShare, ...]
    new_scenario_ramp: ScenarioRamp
    prepaid_advice: PrepaidAdvice
    downgrade_triggers: tuple[GovernanceRule, ...]
    upgrade_conditions: Annotated[tuple[UpgradeRule, ...], Field(min_length=1)]
    stop_loss: tuple[StopLossStep, ...]
    playbook_limits: Annotated[dict[Trigger, PlaybookLimit], AfterValidator(_every_trigger)]
    final_escalation: dict[Trigger, tuple[Action, ...]]
    approval_authority: Authority
    lender: Lender | None = None  # None: the annex leaves our company's name to be filled in
    examples: Examples | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = policy_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def tier(self, tier_id: str) -> Tier:
        return next(tier for tier in self.tiers if tier.id == tier_id)

    def tier_rank(self, tier_id: str) -> int:
        """0 is the best tier; a larger rank is a worse tier."""
        return [tier.id for tier in self.tiers].index(tier_id)

    def to_base(self, amount: Decimal, currency: Currency) -> Decimal:
        return amount if currency == self.base_currency else amount * self.fx.rates[currency]

    def from_base(self, amount: Decimal, currency: Currency) -> Decimal:
        return amount if currency == self.base_currency else amount / self.fx.rates[currency]

    def content_hash(self) -> str:
        """sha256 of the canonical rules; worked examples are documentation, not rules. Pricing and
        monitoring at their defaults and a missing lender are left out, so a policy hashed before
        those blocks existed keeps its hash. The lender is hashed: the annex a customer signs names it."""
        absent = {"pricing"} if self.pricing == Pricing() else set()
        absent |= {"monitoring"} if self.monitoring == Monitoring() else set()
        absent |= {"lender"} if self.lender is None else set()
        return content_hash(self, exclude={"examples", *absent})


def policy_problems(policy: Policy) -> list[str]:
    """Consistency rules a policy must meet beyond field types (English: for policy authors)."""
    problems: list[str] = []
    tier_ids = [tier.id for tier in policy.tiers]
    if len(set(tier_ids)) != len(tier_ids):
        problems.append("tier ids must be unique")
    if policy.tiers[-1].when:
        problems.append("the last tier must be the default row (empty `when`)")
    if any(not tier.when for tier in policy.tiers[:-1]):
        problems.append("only the last tier may be a default row")
    for earlier, later in zip(policy.tiers, policy.tiers[1:], strict=False):
        if (
            later.limit_multiple > earlier.limit_multiple
            or later.max_payment_terms_days > earlier.max_payment_terms_days
            or later.max_billing_cycle_days > earlier.max_billing_cycle_days
            or later.max_limit > earlier.max_limit
        ):
            problems.append(f"tier {later.id} must not be more generous than {earlier.id}")
    if policy.tiers[-1].structure is not Structure.PREPAID:
        problems.append("the default (last) tier must be prepaid: a refusal always has a structure")
    for factor in policy.score_factors:
        if factor.bands[-1].when:
            problems.append(f"score factor {factor.id}: the last band must be the default row")
    rows: list[tuple[str, Condition]] = [(f"tier {tier.id}", tier.when) for tier in policy.tiers]
    rows += [(f"hard rule {rule.id}", rule.when) for rule in policy.hard_rules]
    rows += [
        (f"score factor {factor.id}", band.when)
        for factor in policy.score_factors
        for band in factor.bands
    ]
    for where, when in rows:
        problems += [f"{where}: unknown fact {fact!r}" for fact in unknown_facts(when)]
    problems += [
        f"score factor {factor.id}: a band cannot use the score it adds up to"
        for factor in policy.score_factors
        if any("score" in band.when for band in factor.bands)
    ]
    problems += [
        f"score factor {factor.id}: unknown fact {factor.fact!r}"
        for factor in policy.score_factors
        if unknown_facts({factor.fact: {"eq": None}})
    ]
    problems += [
        f"hard rule {rule.id}: unknown tier {rule.max_tier!r}"
        for rule in policy.hard_rules
        if rule.max_tier is not None and rule.max_tier not in tier_ids
    ]
    if policy.base_currency not in policy.rounding.limit_unit:
        problems.append("rounding.limit_unit needs the base currency")
    missing_fx = set(Currency) - {policy.base_currency} - set(policy.fx.rates)
    if missing_fx:
        problems.append(f"fx.rates is missing {', '.join(sorted(missing_fx))}")
    for name, ramp in (
        ("new_customer_ramp", policy.new_customer_ramp),
        ("new_scenario_ramp", policy.new_scenario_ramp.steps),
    ):
        shares = [step.share for step in ramp]
        if shares and (shares != sorted(shares) or shares[-1] != 1):
            problems.append(f"{name} shares must rise to 1")
    missing_cost = set(CostClass) - set(policy.upstream_cost_ratio)
    if missing_cost:
        problems.append(f"upstream_cost_ratio is missing {', '.join(sorted(missing_cost))}")
    problems += _authority_problems(policy.approval_authority)
    problems += [
        f"approval_authority exception {rule.id}: unknown fact {fact!r}"
        for rule in policy.approval_authority.exceptions
        for fact in unknown_facts(rule.when, decided=True)
    ]
    problems += [
        f"stop_loss: {message.en}"
        for _, message in playbook_problems(policy.stop_loss, policy.playbook_limits)
    ]
    return problems


def _authority_problems(authority: Authority) -> list[str]:
    """A larger line never needs fewer approvers: bands rise, each keeps the roles below it."""
    problems = []
    bands = authority.bands
    if bands[-1].up_to is not None or any(band.up_to is None for band in bands[:-1]):
        problems.append("approval_authority: only the last band is open-ended")
    ends = [band.up_to for band in bands[:-1] if band.up_to is not None]
    if ends != sorted(set(ends)):
        problems.append("approval_authority: band amounts must rise")
    for lower, higher in itertools.pairwise(bands):
        if not set(lower.roles) <= set(higher.roles):
            problems.append("approval_authority: a larger band must keep every role of the smaller")
    return problems


# libyaml's parser when PyYAML has it (its wheels do): the same safe loading, without the pure-Python
# parser's quarter of a second on the shipped policy, paid by every `creditbook evaluate`.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_policy(text: str) -> Policy:
    return Policy.model_validate(yaml.load(text, Loader=SAFE_LOADER))
