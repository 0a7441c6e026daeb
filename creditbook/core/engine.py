"""The evaluation: application + policy + prices → Decision. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from creditbook.core.authority import approvals_of
from creditbook.core.conditions import show
from creditbook.core.fingerprint import audit_hashes
from creditbook.core.governance import governance
from creditbook.core.labels import label
from creditbook.core.line import (
    Line,
    deposit_for,
    fit_amount,
    line_at,
    line_of,
    security_of,
    structures_of,
    with_deposit,
)
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
    Trigger,
)
from creditbook.core.money import cents, money, percent, ratio, round_down, round_up
from creditbook.core.playbook import hard_stop_threshold, with_escalation
from creditbook.core.policy import Policy, Tier
from creditbook.core.prices import PriceTable
from creditbook.core.records import Issue, Text, text
from creditbook.core.scoring import TierChoice, facts_of, score_of, tier_of
from creditbook.core.spend import DAYS_PER_MONTH, Spend, spend_of
from creditbook.version import __version__


def ramp_of(
    app: Application, policy: Policy, line: Line, spend: Spend, is_new: bool, unit: Decimal
) -> tuple[RampStep, ...]:
    """The customer's own ramp capped at the line; else the policy's ramp for a new customer, or
    for the new-scenario part of the spend when it is large. A policy step never falls below
    expected spend to the first due day; a line carried by cash needs no ramp; only steps that
    raise the line are kept."""
    approved = line.approved
    if not approved or line.by_cash:
        return ()
    floor = min(round_up(fit_amount(spend, line.due_day), unit), approved)
    if app.buffers.ramp:
        steps = [(step.from_day, min(step.limit, approved)) for step in app.buffers.ramp]
    elif is_new:
        steps = [
            (step.from_day, max(round_down(approved * step.share, unit), floor, unit))
            for step in policy.new_customer_ramp
        ]
    elif spend.new_scenario_share > policy.new_scenario_ramp.above_share:
        new_part = approved * spend.new_scenario_share
        steps = [
            (
                step.from_day,
                max(round_down(approved - new_part * (1 - step.share), unit), floor, unit),
            )
            for step in policy.new_scenario_ramp.steps
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
    line: Line,
    ramp: Sequence[RampStep],
    recharge: Recharge,
) -> tuple[Text, ...]:
    """Conditions precedent: what must be true before the line opens."""
    profile, buffers = app.profile, app.buffers

    def fmt(amount: Decimal) -> str:
        return money(amount, profile.currency)

    conditions = [rule.condition for rule in choice.fired if rule.condition]
    if line.prepaid:
        return (*conditions, recharge.text)
    if line.shortfall:
        conditions.append(
            text(
                f"开通前缴纳保证金 {fmt(line.shortfall)}（合同保证金共 {fmt(line.required_deposit)}，"
                f"已收 {fmt(buffers.deposit)}）",
                f"a deposit of {fmt(line.shortfall)} paid before the line opens (the contract's "
                f"deposit {fmt(line.required_deposit)} in all, {fmt(buffers.deposit)} held)",
            )
        )
    if line.terms < profile.payment_terms_days:
        conditions.append(
            text(
                f"账期由申请的 {profile.payment_terms_days} 天缩短为 {line.terms} 天",
                f"payment terms shortened from the requested {profile.payment_terms_days} "
                f"to {line.terms} days",
            )
        )
    if line.cycle < buffers.billing_cycle_days:
        conditions.append(
            text(
                f"账单周期由 {buffers.billing_cycle_days} 天缩短为 {line.cycle} 天",
                f"billing cycle shortened from {buffers.billing_cycle_days} to {line.cycle} days",
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
        kind = label(profile.guarantee_type)
        amount = fmt(profile.guarantee_amount)
        conditions.append(
            text(
                f"开通前归档担保文件原件（{kind.zh}，{amount}）",
                f"original guarantee documents on file before the line opens ({kind.en.lower()}, "
                f"{amount})",
            )
        )
    return tuple(conditions)


def kind_of(app: Application, line: Line, conditions: Sequence[Text]) -> DecisionKind:
    """As asked; reduced; with conditions precedent; a different structure; or prepaid only."""
    if line.prepaid:
        return DecisionKind.PREPAID_ONLY
    if line.added_deposit or line.structure is not Structure.MONTHLY_SETTLEMENT:
        return DecisionKind.COUNTER_OFFER
    if conditions:
        return DecisionKind.APPROVE_WITH_CONDITIONS
    if line.approved < app.profile.requested_limit:
        return DecisionKind.APPROVE_REDUCED
    return DecisionKind.APPROVE


def alternatives_of(
    app: Application,
    policy: Policy,
    choice: TierChoice,
    spend: Spend,
    line: Line,
    recharge: Recharge,
    unit: Decimal,
) -> tuple[Alternative, ...]:
    """What the customer could take instead: prepaid with auto-recharge (when no credit is given
    as asked), and the deposit that would carry the line it needs, as the engine would decide it
    with that deposit posted."""
    currency = app.profile.currency
    alternatives = []
    if line.prepaid or line.structure is not Structure.MONTHLY_SETTLEMENT:
        alternatives.append(
            Alternative(
                structure=Structure.PREPAID,
                limit=Decimal(0),
                required_deposit=Decimal(0),
                auto_recharge_threshold=recharge.threshold,
                auto_recharge_amount=recharge.amount,
                description=recharge.text,
            )
        )
    first = structures_of(app, policy, choice)[0]
    wanted = round_down(
        min(app.profile.requested_limit, line_at(app, policy, choice, spend, unit, first).need),
        unit,
    )
    if wanted <= line.approved:
        return tuple(alternatives)
    lever = deposit_for(app, policy, choice, spend, unit, first, wanted)
    if lever is None:
        return tuple(alternatives)
    deposit = lever[0]
    offered = with_deposit(app, policy, choice, spend, unit, deposit)
    if offered.approved <= line.approved:
        return tuple(alternatives)
    added, amount = money(deposit, currency), money(offered.approved, currency)
    kind = label(offered.structure)
    alternatives.append(
        Alternative(
            structure=offered.structure,
            limit=offered.approved,
            required_deposit=offered.required_deposit,
            billing_cycle_days=offered.cycle,
            payment_terms_days=offered.terms,
            description=text(
                f"追加保证金 {added}，可获 {amount} 额度（{kind.zh}，账单周期 {offered.cycle} 天，"
                f"账期 {offered.terms} 天）",
                f"a further deposit of {added} carries a line of {amount} ({kind.en.lower()}, "
                f"{offered.cycle}-day billing cycle, {offered.terms}-day terms)",
            ),
        )
    )
    return tuple(alternatives)


def upstream_ratio(policy: Policy, spend: Spend) -> Decimal:
    """What we pay upstream per unit billed, weighted by each line's expected spend."""
    rates = policy.upstream_cost_ratio
    if not spend.expected:
        return max(rates.values())
    weighted = sum((rates[ln.cost_class] * ln.monthly_spend for ln in spend.lines), Decimal(0))
    return ratio(weighted / spend.expected)


def exposure_of(
    app: Application, policy: Policy, spend: Spend, line: Line, stop: Decimal | None
) -> Exposure:
    """The window, how long the line lasts, and the provider cost of what the customer can draw
    before the hard stop, less the security held once the conditions precedent are met."""
    currency = app.profile.currency
    window = line.cycle + line.terms + policy.need_limit.grace_days
    daily, daily_peak = spend.expected / DAYS_PER_MONTH, spend.peak / DAYS_PER_MONTH
    held = security_of(app)
    security = (
        max(app.buffers.deposit, line.required_deposit)
        + app.buffers.prepaid_balance
        + held.hard_guarantee
    )
    window_peak = cents(daily_peak * window)
    stop_draw = line.approved * stop if stop is not None else window_peak
    draw = cents(min(window_peak, stop_draw)) if line.approved else Decimal(0)
    rate = upstream_ratio(policy, spend)
    at_risk = max(cents(draw * rate) - security, Decimal(0))

    def fmt(amount: Decimal) -> str:
        return money(amount, currency)

    stop_zh = f"额度 × {percent(stop)}" if stop is not None else "无硬性停止"
    stop_en = f"limit × {percent(stop)}" if stop is not None else "no hard stop"
    return Exposure(
        expected_monthly_spend=cents(spend.expected),
        peak_monthly_spend=cents(spend.peak),
        high_cost_share=spend.high_cost_share,
        new_scenario_share=spend.new_scenario_share,
        need_based_limit=line.need,
        secured_buffers=cents(held.total),
        unsecured_exposure=cents(max(line.approved - security, Decimal(0))),
        window_days=window,
        first_invoice_due_day=line.due_day,
        days_to_exhaust=_days(line.approved, daily),
        days_to_exhaust_peak=_days(line.approved, daily_peak),
        window_spend=cents(daily * window),
        window_spend_peak=window_peak,
        hard_stop_draw=draw,
        upstream_cost_ratio=rate,
        security_held=cents(security),
        provider_cost_at_risk=at_risk,
        provider_cost_basis=text(
            f"垫付上游成本 {fmt(at_risk)} = 取较小者（窗口期峰值消耗 {fmt(window_peak)}，{stop_zh}）"
            f"{fmt(draw)} × 上游成本率 {percent(rate)} − 已收保证金 / 保函 {fmt(cents(security))}",
            f"provider cost at risk {fmt(at_risk)} = min(peak spend over the window "
            f"{fmt(window_peak)}, {stop_en}) {fmt(draw)} × upstream cost ratio {percent(rate)} "
            f"− security held {fmt(cents(security))}",
        ),
        lines=spend.lines,
    )


def _days(limit: Decimal, daily: Decimal) -> int | None:
    return int(limit / daily) if limit and daily else None


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
    spend: Spend,
    line: Line,
    exposure: Exposure,
    renewal_first: bool,
) -> tuple[Text, ...]:
    profile, tier = app.profile, choice.tier
    currency = profile.currency

    def fmt(amount: Decimal) -> str:
        return money(amount, currency)

    structure = label(line.structure)
    grace = policy.need_limit.grace_days
    reasons = [
        text(
            f"评分 {score}/100，评级 {tier.id} {tier.name.zh}档，授信结构：{structure.zh}",
            f"score {score}/100, tier {tier.id} {tier.name.en}, structure: {structure.en}",
        ),
        text(
            f"需求测算 {fmt(line.need)} = 加权月消耗 {fmt(line.weighted_spend)} ×（账单周期 "
            f"{line.cycle} 天 + 账期 {line.terms} 天 + 宽限 {grace} 天）÷ 30",
            f"need-based limit {fmt(line.need)} = weighted monthly spend "
            f"{fmt(line.weighted_spend)} × (billing cycle {line.cycle} + terms {line.terms} + "
            f"grace {grace} days) / 30",
        ),
    ]
    if line.prepaid:
        reasons.append(
            text(
                "不授予信用额度：改为预付加自动充值，付款记录良好后可申请月结",
                "no credit line: prepaid with auto-recharge; monthly settlement can be requested "
                "once a payment record exists",
            )
        )
    else:
        cap = next(cap for cap in line.caps if cap.binding)
        reasons.append(
            text(
                f"批准额度 {fmt(line.approved)} 受限于{cap.label.zh}（{fmt(cap.amount)}）",
                f"approved limit {fmt(line.approved)} is bound by {cap.label.en} "
                f"({fmt(cap.amount)})",
            )
        )
        reasons.append(_window_reason(exposure, fmt))
        reasons.append(exposure.provider_cost_basis)
    first = structures_of(app, policy, choice)[0]
    if not line.prepaid and (line.cycle, line.terms) != first:
        reasons.append(
            text(
                f"为使额度覆盖首张账单到期前的预计消耗，结构由账单周期 {first[0]} 天 + 账期 "
                f"{first[1]} 天调整为 {line.cycle} 天 + {line.terms} 天",
                f"so that the line covers expected spend until the first invoice is due, the "
                f"structure moves from a {first[0]}-day cycle + {first[1]}-day terms to "
                f"{line.cycle} + {line.terms} days",
            )
        )
    if line.added_deposit:
        reasons.append(
            text(
                f"任何可选结构下额度都不足以覆盖首张账单到期前的预计消耗（"
                f"{fmt(cents(fit_amount(spend, line.due_day)))}）：须追加保证金 "
                f"{fmt(line.added_deposit)}",
                f"under no structure does the line cover expected spend until the first invoice "
                f"is due ({fmt(cents(fit_amount(spend, line.due_day)))}): a further deposit of "
                f"{fmt(line.added_deposit)} is required",
            )
        )
    if line.by_cash:
        reasons.append(
            text(
                "额度由客户已交现金（保证金与预付余额）全额担保",
                "the line is fully secured by cash the customer has posted (deposit and prepaid)",
            )
        )
    if any(cap.id == "current" and cap.binding for cap in line.caps):
        needed = "、".join(label(m).zh for m in policy.increase.materials)
        needed_en = ", ".join(label(m).en.lower() for m in policy.increase.materials)
        reasons.append(
            text(
                f"提额以现有额度为上限：须提交新材料（{needed}）方可提高",
                f"the increase is capped at the current limit: new materials ({needed_en}) "
                f"are needed for more",
            )
        )
    if currency is not policy.base_currency or profile.country != "CN":
        rate = (
            f"1 {currency.value} = {show(policy.fx.rates[currency])} {policy.base_currency.value}"
            if currency is not policy.base_currency
            else f"{currency.value}"
        )
        reasons.append(
            text(
                f"额度以 {currency.value} 计，按政策汇率 {rate}（{policy.fx.as_of}）折算本位币",
                f"the limit is in {currency.value}; the base currency at the policy rate {rate} "
                f"(as of {policy.fx.as_of})",
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


def _window_reason(exposure: Exposure, fmt: Callable[[Decimal], str]) -> Text:
    lasting, window = exposure.lasting(), exposure.window_days
    spend, peak = fmt(exposure.window_spend), fmt(exposure.window_spend_peak)
    return text(
        f"{lasting.zh}；敞口窗口 {window} 天，窗口期消耗 {spend}（峰值 {peak}）",
        f"{lasting.en}; the exposure window is {window} days, with {spend} of spend "
        f"({peak} at peak)",
    )


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
    line = line_of(app, policy, choice, spend, unit)
    ramp = ramp_of(app, policy, line, spend, bool(facts["is_new_customer"]), unit)
    recharge = recharge_of(policy, spend, currency)
    conditions = conditions_of(app, choice, line, ramp, recharge)
    kind = kind_of(app, line, conditions)
    interval, next_review, renewal_first = review_of(app, choice.tier, choice)
    steps = app.stop_loss or policy.stop_loss
    exposure = exposure_of(app, policy, spend, line, hard_stop_threshold(steps, Trigger.OVER_LIMIT))
    values = {
        "expected_monthly_spend": spend.expected,
        "peak_monthly_spend": spend.peak,
        "high_cost_share": spend.high_cost_share,
        "approved_limit": line.approved,
        "increase_headroom": max(profile.requested_limit - line.approved, line.approved),
    }
    decided = {
        **facts,
        "approved_limit_base": policy.to_base(line.approved, currency),
        "unsecured_exposure_base": policy.to_base(exposure.unsecured_exposure, currency),
        "secured_by_cash": line.by_cash and choice.tier.structure is Structure.PREPAID,
        "structure": line.structure.value,
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
        approved_limit=line.approved,
        requested_limit=profile.requested_limit,
        current_limit=profile.current_limit,
        limit_caps=line.caps,
        currency=currency,
        structure=line.structure,
        payment_terms_days=line.terms,
        billing_cycle_days=line.cycle,
        required_deposit=line.required_deposit,
        deposit_shortfall=line.shortfall,
        conditions=conditions,
        alternatives=(
            ()
            if kind is DecisionKind.APPROVE
            else alternatives_of(app, policy, choice, spend, line, recharge, unit)
        ),
        ramp=ramp,
        exposure=exposure,
        review_interval_days=interval,
        next_review_date=next_review,
        downgrade_triggers=(
            () if line.prepaid else governance(policy.downgrade_triggers, values, currency)
        ),
        upgrade_conditions=governance(policy.upgrade_conditions, values, currency),
        stop_loss=with_escalation(steps, policy.final_escalation),
        approvals_required=approvals_of(
            policy,
            decided,
            decided["approved_limit_base"],  # type: ignore[arg-type]
        ),
        reasons=reasons_of(app, policy, score, choice, spend, line, exposure, renewal_first),
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
