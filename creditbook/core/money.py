"""How figures read in user-facing text: one place for money, ratios and thresholds."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from creditbook.core.models import Currency

CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")
SYMBOLS = {Currency.CNY: "¥", Currency.USD: "$"}


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(value: Decimal) -> Decimal:
    return value.quantize(BASIS_POINT, rounding=ROUND_HALF_UP)


def round_down(amount: Decimal, unit: Decimal) -> Decimal:
    return (amount / unit).to_integral_value(rounding=ROUND_DOWN) * unit


def round_up(amount: Decimal, unit: Decimal) -> Decimal:
    return (amount / unit).to_integral_value(rounding=ROUND_UP) * unit


def money(amount: Decimal, currency: Currency) -> str:
    places = 0 if amount == amount.to_integral_value() else 2
    return f"{SYMBOLS[currency]}{amount:,.{places}f}"


def percent(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def quantity(value: Decimal, unit: str, currency: Currency) -> str:
    """A threshold in its unit: amount, ratio, count or days."""
    if unit == "amount":
        return money(value, currency)
    if unit == "ratio":
        return percent(value)
    return f"{value.normalize():f}"
