"""Facts of an application, its score against the policy's factors, and the tier it falls in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from creditbook.core.conditions import Facts, FactValue, matches, show
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
    profile = app.profile
    is_new = profile.relationship_months == 0
    return {
        "entity_type": profile.entity_type.value,
        "years_in_business": profile.years_in_business,
        "procurement": profile.procurement.value,
        "relationship_months": Decimal(profile.relationship_months),
        "is_new_customer": is_new,
        "on_time_ratio_12m": None if is_new else profile.on_time_ratio_12m,
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
                        value=show(facts[factor.fact]),
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
    trace: tuple[Text, ...] = (text(f"评级 {scored.id}：默认行", f"tier {scored.id}: default row"),)
    for tier in policy.tiers:
        hit, why = matches(tier.when, facts)
        if hit:
            scored = tier
            if why:
                trace = (joined(f"评级 {tier.id}：", f"tier {tier.id}: ", why),)
            break
    chosen = scored
    fired = []
    for rule in policy.hard_rules:
        hit, why = matches(rule.when, facts)
        if not hit:
            continue
        fired.append(rule)
        lowered = policy.tier_rank(rule.max_tier) > policy.tier_rank(chosen.id)
        if lowered:
            chosen = policy.tier(rule.max_tier)
        effect = text(f"最高 {rule.max_tier}", f"at most {rule.max_tier}")
        trace += (
            joined(
                f"硬性规则 {rule.id}（{effect.zh}{'，已降级' if lowered else ''}）：",
                f"hard rule {rule.id} ({effect.en}{', lowered' if lowered else ''}): ",
                why,
            ),
        )
    return TierChoice(tier=chosen, trace=trace, fired=tuple(fired))


def joined(prefix_zh: str, prefix_en: str, parts: Sequence[Text]) -> Text:
    return text(
        prefix_zh + "，".join(part.zh for part in parts),
        prefix_en + ", ".join(part.en for part in parts),
    )
