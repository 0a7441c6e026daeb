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


CURRENCY_NAMES_ZH = {Currency.CNY: "人民币", Currency.USD: "美元"}
UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
UPPER_PLACES = ("", "拾", "佰", "仟")
UPPER_GROUPS = ("", "万", "亿", "万亿")


def _upper_whole(number: int) -> str:
    """123450 → 壹拾贰万叁仟肆佰伍拾: one 零 for each run of zeros between two digits."""
    digits = str(number)
    out: list[str] = []
    zero = False
    for index, char in enumerate(digits):
        place = len(digits) - 1 - index
        if char == "0":
            zero = True
        else:
            if zero and out:
                out.append("零")
            zero = False
            out.append(UPPER_DIGITS[int(char)] + UPPER_PLACES[place % 4])
        if place % 4 == 0 and place and int(digits[max(0, index - 3) : index + 1]):
            out.append(UPPER_GROUPS[place // 4])
    return "".join(out) or "零"


def upper_amount(amount: Decimal, currency: Currency) -> str:
    """An amount in Chinese capital numerals, as a contract writes it: 人民币捌拾万元整."""
    whole, fraction = divmod(int(cents(amount) * 100), 100)
    jiao, fen = divmod(fraction, 10)
    name = CURRENCY_NAMES_ZH[currency]
    if not fraction:
        return f"{name}{_upper_whole(whole)}元整"
    shown = f"{name}{_upper_whole(whole)}元" if whole else name
    if jiao:
        shown += f"{UPPER_DIGITS[jiao]}角"
    elif whole:
        shown += "零"
    return f"{shown}{UPPER_DIGITS[fen]}分" if fen else f"{shown}整"
