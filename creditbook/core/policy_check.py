"""A policy's worked examples: base application + overrides → expected decision fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from creditbook.core.assess import assess
from creditbook.core.policy import Example, Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Severity, format_path


@dataclass(frozen=True)
class ExampleResult:
    name: str
    passed: bool
    summary: str


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of mappings; lists and scalars in the override replace the base."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, int | float | Decimal) and isinstance(expected, int | float | Decimal):
        return Decimal(str(actual)) == Decimal(str(expected))
    return bool(actual == expected)


def run_example(
    policy: Policy, prices: PriceTable, base: Mapping[str, Any], example: Example
) -> ExampleResult:
    evaluated_at = datetime.combine(policy.as_of, time(), UTC)
    result = assess(merged(base, example.override), policy, prices, evaluated_at=evaluated_at)
    expected = dict(example.expect)
    error_at = expected.pop("error_at", None)
    if error_at is not None:
        located = [format_path(i.path) for i in result.issues if i.severity is Severity.ERROR]
        passed = error_at in located
        return ExampleResult(example.name, passed, f"errors at {', '.join(located) or 'nothing'}")
    if result.decision is None:
        problems = ", ".join(issue.render("en") for issue in result.issues)
        return ExampleResult(example.name, False, f"no decision: {problems}")
    actual = result.decision.model_dump(mode="json")
    wrong = [
        f"{key} {actual.get(key)!r} ≠ {value!r}"
        for key, value in expected.items()
        if not _same(actual.get(key), value)
    ]
    got = ", ".join(f"{key}={actual.get(key)}" for key in expected)
    return ExampleResult(example.name, not wrong, "; ".join(wrong) if wrong else got)


def run_examples(policy: Policy, prices: PriceTable) -> list[ExampleResult]:
    if policy.examples is None:
        return []
    return [
        run_example(policy, prices, policy.examples.base, case) for case in policy.examples.cases
    ]
