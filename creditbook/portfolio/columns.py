"""Exact integer arithmetic over columns, and the condition language evaluated on them.

Money is held in integer cents and ratios as (numerator, denominator); every product is checked
against `LIMIT` so no int64 ever overflows. `holds` evaluates a policy row's `when` condition for
every row at once, exactly as `creditbook.core.conditions.matches` does for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from creditbook.core.conditions import Condition

Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]
LIMIT = 2**62  # every intermediate product stays below this (checked)


class Unsupported(ValueError):
    """An input or a policy this vectorised path cannot evaluate exactly: never guessed."""


def as_ints(values: Any) -> Ints:
    return np.asarray(values, dtype=np.int64)


def check_products(*products: tuple[Any, Any]) -> None:
    for left, right in products:
        if np.size(left) and np.size(right) and int(np.max(left)) * int(np.max(right)) >= LIMIT:
            raise Unsupported("amounts too large for exact integer arithmetic")


def muldiv(a: Ints, b: Any, d: Any) -> tuple[Ints, Ints]:
    """floor(a·b/d) and its remainder, for a, b ≥ 0 and d > 0, without overflowing int64."""
    high, low = np.divmod(a, d)
    check_products((d, b), (high, b))
    quotient, remainder = np.divmod(low * b, d)
    return as_ints(high * b + quotient), as_ints(remainder)


def half_up(quotient: Ints, remainder: Ints, d: Any) -> tuple[Ints, Flags]:
    """ROUND_HALF_UP of a non-negative quotient, and where it sat exactly on the half."""
    twice = 2 * remainder
    return quotient + (twice >= d), twice == d


def ratio_of(value: Decimal) -> tuple[int, int]:
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator


@dataclass(frozen=True)
class Num:
    """A numeric fact as integer numerators over one denominator; `missing` rows are None."""

    values: Ints
    scale: int
    missing: Flags | None = None


Column = Num | pd.Series | np.ndarray  # numbers; labels (category Series); yes/no flags


def no_rows(size: int) -> Flags:
    return np.zeros(size, dtype=bool)


def _equal(column: Column, item: Any, size: int) -> Flags:
    """Python `actual == item` for every row, as the engine's `_holds` compares."""
    if isinstance(column, Num):
        if item is None:
            return no_rows(size) if column.missing is None else column.missing.copy()
        if isinstance(item, bool):
            item = Decimal(int(item))
        if not isinstance(item, Decimal):
            return no_rows(size)
        target = item * column.scale
        if target != target.to_integral_value() or abs(target) >= LIMIT:
            return no_rows(size)
        hit: Flags = column.values == int(target)
        return hit if column.missing is None else hit & ~column.missing
    if isinstance(column, pd.Series):
        return (column == item).to_numpy(dtype=bool) if isinstance(item, str) else no_rows(size)
    if isinstance(item, bool):
        return np.equal(column, item)
    if isinstance(item, Decimal) and item in (0, 1):
        return column if item == 1 else ~column
    return no_rows(size)


def _compare(op: str, column: Column, expected: Any, size: int) -> Flags:
    if isinstance(expected, bool):
        expected = Decimal(int(expected))
    if not isinstance(expected, Decimal):
        raise Unsupported(f"{op} needs a number, got {expected!r}")
    if not isinstance(column, Num):
        return no_rows(size)  # text and yes/no facts never satisfy an order comparison
    target = expected * column.scale
    whole = target.to_integral_value()
    if target != whole:
        whole = target.to_integral_value("ROUND_CEILING" if op in ("gte", "gt") else "ROUND_FLOOR")
        op = {"gt": "gte", "lt": "lte"}.get(op, op)
    bound = max(min(int(whole), LIMIT), -LIMIT)
    values = column.values
    hit: Flags = {
        "gte": values >= bound,
        "gt": values > bound,
        "lte": values <= bound,
        "lt": values < bound,
    }[op]
    return hit if column.missing is None else hit & ~column.missing


def holds(when: Condition, facts: dict[str, Column], size: int) -> Flags:
    """Rows where every comparison of the condition holds (an empty condition holds everywhere)."""
    hit = np.ones(size, dtype=bool)
    for fact, comparisons in when.items():
        if fact not in facts:
            raise Unsupported(f"fact {fact!r} is not covered by simulate")
        column = facts[fact]
        for op, expected in comparisons.items():
            if op in ("eq", "ne"):
                if isinstance(expected, tuple):
                    raise Unsupported(f"{fact}: {op} with a list; use `in`")
                equal = _equal(column, expected, size)
                hit &= equal if op == "eq" else ~equal
            elif op == "in":
                if not isinstance(expected, tuple):
                    raise Unsupported(f"{fact}: `in` needs a list, got {expected!r}")
                found = no_rows(size)
                for item in expected:
                    found |= _equal(column, item, size)
                hit &= found
            else:
                hit &= _compare(op, column, expected, size)
    return hit
