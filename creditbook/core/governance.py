"""Downgrade triggers and upgrade conditions: each policy rule's threshold for one customer."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from creditbook.core.models import (
    Currency,
    Governance,
)
from creditbook.core.money import cents, quantity, ratio
from creditbook.core.policy import GovernanceRule
from creditbook.core.records import text


def governance(
    rules: Sequence[GovernanceRule], values: dict[str, Decimal], currency: Currency
) -> tuple[Governance, ...]:
    """Each rule's threshold for this customer (basis × factor + offset, at most its cap), in
    words. A ratio that would reach 100 % is set halfway there instead, so the trigger can fire;
    one for a share already at 100 % is left out."""
    items = []
    for rule in rules:
        basis = Decimal(0) if rule.basis == "none" else values[rule.basis]
        threshold = basis * rule.factor + rule.offset
        if rule.cap_basis is not None:
            cap = Decimal(0) if rule.cap_basis == "none" else values[rule.cap_basis]
            threshold = min(threshold, cap * rule.cap_factor)
        if rule.unit == "ratio":
            if threshold >= 1:  # could never fire: halfway from where it stands to 100 %
                if basis >= 1:
                    continue
                threshold = (basis + 1) / 2
            threshold = ratio(threshold)
        else:
            threshold = cents(threshold)
        shown = quantity(threshold, rule.unit, currency)
        items.append(
            Governance(
                id=rule.id,
                description=text(
                    rule.description.zh.format(threshold=shown),
                    rule.description.en.format(threshold=shown),
                ),
                threshold=threshold,
                unit=rule.unit,
            )
        )
    return tuple(items)
