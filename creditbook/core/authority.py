"""Who must sign: the policy's approval-authority matrix, by amount and by exception."""

from __future__ import annotations

from decimal import Decimal

from creditbook.core.conditions import Facts, matches
from creditbook.core.models import Approver, Role
from creditbook.core.money import money
from creditbook.core.policy import Policy
from creditbook.core.records import Text, text


def approvals_of(policy: Policy, facts: Facts, limit_base: Decimal) -> tuple[Approver, ...]:
    """The roles of the amount's band, then of every exception that holds; each role once, with
    every reason it is needed, in rising order of authority."""
    authority, base = policy.approval_authority, policy.base_currency
    band = next(b for b in authority.bands if b.up_to is None or limit_base <= b.up_to)
    shown = money(limit_base, base)
    if band.up_to is None:
        below = authority.bands[-2].up_to if len(authority.bands) > 1 else Decimal(0)
        amount = text(
            f"批准额度 {shown} 超过 {money(below or Decimal(0), base)}",
            f"an approved limit of {shown}, above {money(below or Decimal(0), base)}",
        )
    else:
        amount = text(
            f"批准额度 {shown} 不超过 {money(band.up_to, base)}",
            f"an approved limit of {shown}, up to {money(band.up_to, base)}",
        )
    reasons: dict[Role, list[Text]] = {role: [amount] for role in band.roles}
    for rule in authority.exceptions:
        hit, _ = matches(rule.when, facts)
        if hit:
            for role in rule.roles:
                reasons.setdefault(role, []).append(rule.reason)
    return tuple(
        Approver(
            role=role,
            reason=text(
                "；".join(r.zh for r in reasons[role]), "; ".join(r.en for r in reasons[role])
            ),
        )
        for role in Role
        if role in reasons
    )
