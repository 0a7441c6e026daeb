"""Facts of an application, its score against the policy's factors, and the tier it falls in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from creditbook.core.conditions import Facts, FactValue, matches, shown
from creditbook.core.models import (
    Application,
    GuaranteeType,
    ScoreLine,
)
from creditbook.core.policy import HardRule, Policy, Tier
from creditbook.core.records import Text, text


def facts_of(
    app: Application, policy: Policy, high_cost_share: Decimal, new_share: Decimal
) -> dict[str, FactValue]:
    profile, history = app.profile, policy.new_customer
    paid = paid_invoices(app)
    is_new = (
        profile.relationship_months < history.min_relationship_months
        or paid < history.min_paid_invoices
    )
    return {
        "entity_type": profile.entity_type.value,
        "years_in_business": profile.years_in_business,
        "procurement": profile.procurement.value,
        "relationship_months": Decimal(profile.relationship_months),
        "is_new_customer": is_new,
        "paid_invoices_12m": Decimal(paid),
        "is_increase": is_increase(app),
        # an on-time ratio over too few invoices says nothing
        "on_time_ratio_12m": (
            None if paid < history.min_paid_invoices else profile.on_time_ratio_12m
        ),
        "max_days_overdue_12m": Decimal(profile.max_days_overdue_12m),
        "overdue_events_12m": Decimal(profile.overdue_events_12m),
        "consecutive_overdue_invoices": Decimal(profile.consecutive_overdue_invoices),
        "current_overdue_amount": policy.to_base(profile.current_overdue_amount, profile.currency),
        "current_days_overdue": Decimal(profile.current_days_overdue),
        "guarantee_type": profile.guarantee_type.value,
        "has_guarantee": profile.guarantee_type is not GuaranteeType.NONE,
        "high_cost_share": high_cost_share,
        "new_scenario_share": new_share,
        "requested_terms_days": Decimal(profile.payment_terms_days),
        "country": profile.country,
    }


def paid_invoices(app: Application) -> int:
    """Invoices paid in 12 months; when not stated, one a month of the relationship (at most 12)."""
    profile = app.profile
    if profile.paid_invoices_12m is not None:
        return profile.paid_invoices_12m
    return min(profile.relationship_months, 12)


def is_increase(app: Application) -> bool:
    profile = app.profile
    return bool(profile.current_limit) and profile.requested_limit > profile.current_limit


def score_of(policy: Policy, facts: Facts) -> tuple[ScoreLine, ...]:
    lines = []
    for factor in policy.score_factors:
        for band in factor.bands:
            hit, _ = matches(band.when, facts)
            if hit:
                lines.append(
                    ScoreLine(
                        factor=factor.id,
                        label=factor.label,
                        value=shown(factor.fact, facts[factor.fact], unit=True),
                        points=band.points,
                        reason=band.reason,
                    )
                )
                break
    return tuple(lines)


@dataclass(frozen=True)
class TierChoice:
    tier: Tier
    trace: tuple[Text, ...]
    fired: tuple[HardRule, ...]


def tier_of(policy: Policy, facts: Facts) -> TierChoice:
    scored = policy.tiers[-1]
    trace: tuple[Text, ...] = (
        text(
            f"评级 {scored.id} {scored.name.zh}（默认档：评分未达到其他档位）",
            f"tier {scored.id} {scored.name.en} (the default: the score meets no other tier)",
        ),
    )
    for tier in policy.tiers:
        hit, why = matches(tier.when, facts)
        if hit:
            scored = tier
            if why:
                trace = (joined(*_tier_title(tier), why),)
            break
    chosen = scored
    fired = []
    for rule in policy.hard_rules:
        hit, why = matches(rule.when, facts)
        if not hit:
            continue
        fired.append(rule)
        effect = [text(rule.reason.zh, rule.reason.en)]
        if rule.max_tier is not None:
            capped = policy.tier(rule.max_tier)
            lowered = policy.tier_rank(capped.id) > policy.tier_rank(chosen.id)
            was = chosen
            if lowered:
                chosen = capped
            effect.append(
                text(
                    f"评级最高 {capped.id} {capped.name.zh}"
                    + (f"，由 {was.id} 下调" if lowered else ""),
                    f"tier at most {capped.id} {capped.name.en}"
                    + (f", lowered from {was.id}" if lowered else ""),
                )
            )
        if rule.max_billing_cycle_days is not None:
            days = rule.max_billing_cycle_days
            effect.append(text(f"账单周期最长 {days} 天", f"billing cycle at most {days} days"))
        if rule.min_deposit_ratio is not None:
            share = f"{(rule.min_deposit_ratio * 100).normalize():f}%"
            effect.append(text(f"保证金不低于额度的 {share}", f"a deposit of at least {share}"))
        trace += (
            text(
                "；".join(e.zh for e in effect) + "（" + "，".join(w.zh for w in why) + "）",
                "; ".join(e.en for e in effect) + " (" + ", ".join(w.en for w in why) + ")",
            ),
        )
    return TierChoice(tier=chosen, trace=trace, fired=tuple(fired))


def _tier_title(tier: Tier) -> tuple[str, str]:
    return f"评级 {tier.id} {tier.name.zh}：", f"tier {tier.id} {tier.name.en}: "


def joined(prefix_zh: str, prefix_en: str, parts: Sequence[Text]) -> Text:
    return text(
        prefix_zh + "，".join(part.zh for part in parts),
        prefix_en + ", ".join(part.en for part in parts),
    )
