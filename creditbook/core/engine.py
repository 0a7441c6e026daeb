"""The evaluation: application + policy + prices → Decision. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from creditbook import __version__
from creditbook.core.conditions import show
from creditbook.core.fingerprint import audit_hashes
from creditbook.core.governance import governance
from creditbook.core.labels import label
from creditbook.core.models import (
    Alternative,
    Application,
    Audit,
    Currency,
    Decision,
    DecisionKind,
    Exposure,
    GuaranteeType,
    RampStep,
    Structure,
)
from creditbook.core.money import cents, money, round_down, round_up
from creditbook.core.playbook import with_escalation
from creditbook.core.policy import Policy, Tier
from creditbook.core.prices import PriceTable
from creditbook.core.records import Issue, Text, text
from creditbook.core.scoring import TierChoice, facts_of, score_of, tier_of
from creditbook.core.spend import DAYS_PER_MONTH, Spend, spend_of

HARD_SECURITY = (GuaranteeType.BANK_GUARANTEE, GuaranteeType.LETTER_OF_CREDIT)


@dataclass(frozen=True)
class Limit:
    """The approved limit and how it was reached: every cap, and the one that binds."""

    terms: int
    cycle: int
    weighted_spend: Decimal
    need: Decimal
    secured: Decimal
    hard_guarantee: Decimal
    caps: dict[str, tuple[Decimal, Text]]
    binding: str
    approved: Decimal
    structure: Structure
    required_deposit: Decimal
    shortfall: Decimal

    @property
    def prepaid(self) -> bool:
        return self.structure is Structure.PREPAID


def limit_of(app: Application, policy: Policy, tier: Tier, spend: Spend, unit: Decimal) -> Limit:
    """Smallest of request, need, tier cap, and appetite plus secured buffers; rounded down."""
    profile, buffers = app.profile, app.buffers
    currency = profile.currency
    terms = min(profile.payment_terms_days, tier.max_payment_terms_days)
    cycle = min(buffers.billing_cycle_days, tier.max_billing_cycle_days)
    weighted = spend.expected + policy.need_limit.peak_weight * (spend.peak - spend.expected)
    months = Decimal(cycle + terms + policy.need_limit.grace_days) / DAYS_PER_MONTH
    need = cents(weighted * months)
    hard_guarantee = (
        profile.guarantee_amount if profile.guarantee_type in HARD_SECURITY else Decimal(0)
    )
    secured = buffers.deposit + buffers.prepaid_balance + hard_guarantee
    caps = {
        "requested": (profile.requested_limit, text("申请额度", "the requested limit")),
        "need": (need, text("需求测算额度", "the need-based limit")),
        "tier": (
            min(tier.limit_multiple * spend.expected, policy.from_base(tier.max_limit, currency)),
            text(f"评级 {tier.id} 上限", f"the tier {tier.id} cap"),
        ),
        "appetite": (
            policy.from_base(policy.appetite.max_unsecured_exposure, currency) + secured,
            text("风险偏好上限加已有担保缓冲", "the risk appetite plus secured buffers"),
        ),
    }
    binding = min(caps, key=lambda key: caps[key][0])
    approved = max(round_down(caps[binding][0], unit), Decimal(0))
    structure = tier.structure if approved > 0 else Structure.PREPAID
    if structure is Structure.PREPAID:
        approved, terms = Decimal(0), 0
    required_deposit = round_up(approved * tier.deposit_ratio, unit)
    return Limit(
        terms=terms,
        cycle=cycle,
        weighted_spend=cents(weighted),
        need=need,
        secured=secured,
        hard_guarantee=hard_guarantee,
        caps=caps,
        binding=binding,
        approved=approved,
        structure=structure,
        required_deposit=required_deposit,
        shortfall=max(required_deposit - buffers.deposit, Decimal(0)),
    )


def ramp_of(
    app: Application, policy: Policy, limit: Limit, is_new: bool, unit: Decimal
) -> tuple[RampStep, ...]:
    """The customer's own ramp capped at the approved limit, or the policy's new-customer ramp;
    only steps that raise the line are kept."""
    if not limit.approved:
        return ()
    if app.buffers.ramp:
        steps = [(step.from_day, min(step.limit, limit.approved)) for step in app.buffers.ramp]
    elif is_new:
        steps = [
            (step.from_day, max(round_down(limit.approved * step.share, unit), unit))
            for step in policy.new_customer_ramp
        ]
    else:
        return ()
    rising: list[RampStep] = []
    for from_day, amount in steps:
        if not rising or amount > rising[-1].limit:
            rising.append(RampStep(from_day=from_day, limit=amount))
    return tuple(rising)


@dataclass(frozen=True)
class Recharge:
    """Prepaid auto-recharge advice from expected spend."""

    threshold: Decimal
    amount: Decimal
    text: Text


def recharge_of(policy: Policy, spend: Spend, currency: Currency) -> Recharge:
    advice = policy.prepaid_advice
    threshold = round_up(spend.expected * advice.threshold_days / DAYS_PER_MONTH, Decimal(100))
    amount = round_up(spend.expected * advice.recharge_days / DAYS_PER_MONTH, Decimal(100))
    below, top_up = money(threshold, currency), money(amount, currency)
    return Recharge(
        threshold=threshold,
        amount=amount,
        text=text(
            f"预付加自动充值：余额低于 {below} 时充值 {top_up}"
            f"（约 {advice.threshold_days} 天 / {advice.recharge_days} 天的预计消耗）",
            f"prepaid with auto-recharge: top up {top_up} when the balance falls below {below} "
            f"(about {advice.threshold_days} / {advice.recharge_days} days of expected spend)",
        ),
    )


def conditions_of(
    app: Application,
    choice: TierChoice,
    limit: Limit,
    ramp: Sequence[RampStep],
    recharge: Recharge,
) -> tuple[Text, ...]:
    profile, buffers = app.profile, app.buffers

    def fmt(amount: Decimal) -> str:
        return money(amount, profile.currency)

    conditions = [rule.condition for rule in choice.fired if rule.condition]
    if limit.prepaid:
        return (*conditions, recharge.text)
    if limit.shortfall:
        conditions.append(
            text(
                f"开通前补足保证金 {fmt(limit.shortfall)}（应收 {fmt(limit.required_deposit)}，"
                f"已收 {fmt(buffers.deposit)}）",
                f"deposit shortfall of {fmt(limit.shortfall)} paid before the line opens "
                f"(required {fmt(limit.required_deposit)}, held {fmt(buffers.deposit)})",
            )
        )
    if limit.terms < profile.payment_terms_days:
        conditions.append(
            text(
                f"账期由申请的 {profile.payment_terms_days} 天缩短为 {limit.terms} 天",
                f"payment terms shortened from the requested {profile.payment_terms_days} "
                f"to {limit.terms} days",
            )
        )
    if limit.cycle < buffers.billing_cycle_days:
        conditions.append(
            text(
                f"账单周期由 {buffers.billing_cycle_days} 天缩短为 {limit.cycle} 天",
                f"billing cycle shortened from {buffers.billing_cycle_days} to {limit.cycle} days",
            )
        )
    if len(ramp) > 1:
        steps_zh = "，".join(f"第 {step.from_day} 天起 {fmt(step.limit)}" for step in ramp)
        steps_en = ", ".join(f"{fmt(step.limit)} from day {step.from_day}" for step in ramp)
        conditions.append(
            text(
                f"分阶段开放额度：{steps_zh}；每一阶段以前期按时付款为前提",
                f"staged ramp-up: {steps_en}; each step requires the previous invoices paid on time",
            )
        )
    if profile.guarantee_type is not GuaranteeType.NONE:
        held = f"{profile.guarantee_type.value}, {fmt(profile.guarantee_amount)}"
        conditions.append(
            text(
                f"开通前归档担保文件原件（{held}）",
                f"original guarantee documents on file before the line opens ({held})",
            )
        )
    return tuple(conditions)


def kind_of(
    app: Application, policy: Policy, limit: Limit, conditions: Sequence[Text]
) -> DecisionKind:
    if limit.prepaid:
        return DecisionKind.PREPAID_ONLY
    if limit.approved < app.profile.requested_limit * policy.counter_offer_below:
        return DecisionKind.COUNTER_OFFER
    if conditions or limit.structure is not Structure.MONTHLY_SETTLEMENT:
        return DecisionKind.APPROVE_WITH_CONDITIONS
    return DecisionKind.APPROVE


def alternatives_of(
    app: Application, tier: Tier, limit: Limit, recharge: Recharge, unit: Decimal
) -> tuple[Alternative, ...]:
    """A refusal or a counter-offer always comes with structures the customer can take instead."""
    currency = app.profile.currency
    alternatives = [
        Alternative(
            structure=Structure.PREPAID,
            limit=Decimal(0),
            required_deposit=Decimal(0),
            auto_recharge_threshold=recharge.threshold,
            auto_recharge_amount=recharge.amount,
            description=recharge.text,
        )
    ]
    secured_limit = round_down(min(app.profile.requested_limit, limit.need), unit)
    if secured_limit > limit.approved:
        amount, cycle = money(secured_limit, currency), tier.max_billing_cycle_days
        alternatives.append(
            Alternative(
                structure=Structure.DEPOSIT_BACKED,
                limit=secured_limit,
                required_deposit=secured_limit,
                description=text(
                    f"保证金担保：缴纳 {amount} 保证金，可获 {amount} 额度（{cycle} 天账单周期）",
                    f"deposit-backed: a deposit of {amount} secures a line of {amount} "
                    f"({cycle}-day billing cycle)",
                ),
            )
        )
    return tuple(alternatives)


def exposure_of(app: Application, policy: Policy, spend: Spend, limit: Limit) -> Exposure:
    """Unsecured exposure once the conditions precedent (required deposit) are met."""
    buffers = app.buffers
    held = max(buffers.deposit, limit.required_deposit) + buffers.prepaid_balance
    unsecured = max(limit.approved - held - limit.hard_guarantee, Decimal(0))
    return Exposure(
        expected_monthly_spend=cents(spend.expected),
        peak_monthly_spend=cents(spend.peak),
        high_cost_share=spend.high_cost_share,
        new_scenario_share=spend.new_scenario_share,
        need_based_limit=limit.need,
        secured_buffers=cents(limit.secured),
        unsecured_exposure=cents(unsecured),
        provider_cost_at_risk=cents(unsecured * policy.cost_to_serve_ratio),
        lines=spend.lines,
    )


def review_of(app: Application, tier: Tier, choice: TierChoice) -> tuple[int, date, bool]:
    """(interval, next review date, whether the contract renewal set it): whichever comes first."""
    profile = app.profile
    capped = [rule.review_interval_days for rule in choice.fired if rule.review_interval_days]
    interval = min([tier.review_interval_days, *capped])
    scheduled = profile.application_date + timedelta(days=interval)
    renewal = profile.contract_renewal_date
    if renewal is not None and renewal < scheduled:
        return interval, renewal, True
    return interval, scheduled, False


def reasons_of(
    app: Application,
    policy: Policy,
    score: int,
    choice: TierChoice,
    limit: Limit,
    renewal_first: bool,
) -> tuple[Text, ...]:
    currency, tier = app.profile.currency, choice.tier

    def fmt(amount: Decimal) -> str:
        return money(amount, currency)

    structure = label(limit.structure)
    grace = policy.need_limit.grace_days
    reasons = [
        text(
            f"评分 {score}/100，评级 {tier.id} {tier.name.zh}，结构：{structure.zh}",
            f"score {score}/100, tier {tier.id} {tier.name.en}, structure: {structure.en}",
        ),
        *(rule.reason for rule in choice.fired),
        text(
            f"需求测算 {fmt(limit.need)} = 加权月消耗 {fmt(limit.weighted_spend)} ×（账单周期 "
            f"{limit.cycle} + 账期 {limit.terms} + 宽限 {grace} 天）/ 30",
            f"need-based limit {fmt(limit.need)} = weighted monthly spend "
            f"{fmt(limit.weighted_spend)} × (cycle {limit.cycle} + terms {limit.terms} + grace "
            f"{grace} days) / 30",
        ),
    ]
    if limit.prepaid:
        reasons.append(
            text(
                "不授予信用额度：改为预付加自动充值，付款记录良好后可申请月结",
                "no credit line: prepaid with auto-recharge; monthly settlement can be requested "
                "once a payment record exists",
            )
        )
    else:
        bound, cap = limit.caps[limit.binding]
        reasons.append(
            text(
                f"批准额度 {fmt(limit.approved)} 受限于{cap.zh}（{fmt(cents(bound))}）",
                f"approved limit {fmt(limit.approved)} is bound by {cap.en} ({fmt(cents(bound))})",
            )
        )
    if currency is not policy.base_currency:
        rate = (
            f"1 {currency.value} = {show(policy.fx.rates[currency])} {policy.base_currency.value}"
        )
        reasons.append(
            text(
                f"币种换算按政策汇率 {rate}（{policy.fx.as_of}）",
                f"currency converted at the policy rate {rate} (as of {policy.fx.as_of})",
            )
        )
    if renewal_first:
        reasons.append(
            text(
                "合同续约日早于常规复核日，以续约日为复核日",
                "the contract renewal comes first and sets the review date",
            )
        )
    return tuple(reasons)


# --------------------------------------------------------------- evaluate


def evaluate(
    app: Application,
    policy: Policy,
    prices: PriceTable,
    *,
    evaluated_at: datetime,
    issues: Sequence[Issue] = (),
) -> Decision:
    profile = app.profile
    currency = profile.currency
    unit = policy.rounding.limit_unit.get(
        currency, policy.rounding.limit_unit[policy.base_currency]
    )

    spend = spend_of(app, policy, prices)
    facts = facts_of(app, policy, spend.high_cost_share, spend.new_scenario_share)
    breakdown = score_of(policy, facts)
    score = sum(line.points for line in breakdown)
    choice = tier_of(policy, {**facts, "score": Decimal(score)})
    limit = limit_of(app, policy, choice.tier, spend, unit)
    ramp = ramp_of(app, policy, limit, bool(facts["is_new_customer"]), unit)
    recharge = recharge_of(policy, spend, currency)
    conditions = conditions_of(app, choice, limit, ramp, recharge)
    kind = kind_of(app, policy, limit, conditions)
    offers_alternatives = kind in (DecisionKind.PREPAID_ONLY, DecisionKind.COUNTER_OFFER)
    interval, next_review, renewal_first = review_of(app, choice.tier, choice)
    values = {
        "expected_monthly_spend": spend.expected,
        "peak_monthly_spend": spend.peak,
        "high_cost_share": spend.high_cost_share,
        "approved_limit": limit.approved,
        "increase_headroom": max(profile.requested_limit - limit.approved, limit.approved),
    }
    application_hash, fingerprint = audit_hashes(app, policy, prices)
    return Decision(
        customer_name=profile.customer_name,
        credit_code=profile.credit_code,
        decision=kind,
        tier=choice.tier.id,
        tier_name=choice.tier.name,
        score=score,
        score_breakdown=breakdown,
        tier_trace=choice.trace,
        approved_limit=limit.approved,
        requested_limit=profile.requested_limit,
        currency=currency,
        structure=limit.structure,
        payment_terms_days=limit.terms,
        billing_cycle_days=limit.cycle,
        required_deposit=limit.required_deposit,
        deposit_shortfall=limit.shortfall,
        conditions=conditions,
        alternatives=(
            alternatives_of(app, choice.tier, limit, recharge, unit) if offers_alternatives else ()
        ),
        ramp=ramp,
        exposure=exposure_of(app, policy, spend, limit),
        review_interval_days=interval,
        next_review_date=next_review,
        downgrade_triggers=(
            () if limit.prepaid else governance(policy.downgrade_triggers, values, currency)
        ),
        upgrade_conditions=governance(policy.upgrade_conditions, values, currency),
        stop_loss=with_escalation(app.stop_loss or policy.stop_loss, policy.final_escalation),
        reasons=reasons_of(app, policy, score, choice, limit, renewal_first),
        issues=tuple(issues),
        audit=Audit(
            fingerprint=fingerprint,
            application_hash=application_hash,
            policy_id=policy.id,
            policy_version=policy.version,
            policy_hash=policy.content_hash(),
            prices_hash=prices.content_hash(),
            engine_version=__version__,
            evaluated_at=evaluated_at,
        ),
    )
