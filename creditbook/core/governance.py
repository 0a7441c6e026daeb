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
    """Each rule's threshold for this customer (basis × factor + offset), described in words."""
    items = []
    for rule in rules:
        basis = Decimal(0) if rule.basis == "none" else values[rule.basis]
        threshold = basis * rule.factor + rule.offset
        threshold = min(ratio(threshold), Decimal(1)) if rule.unit == "ratio" else cents(threshold)
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
