"""The one orchestrator: raw application → parse → validate → evaluate, collecting every issue.

Each stage adds its issues; evaluation runs only when there is no error. Only programming bugs raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditbook.core.engine import evaluate
from creditbook.core.models import Application, Decision
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Issue, has_errors
from creditbook.core.validation import Context, parse_application, validate


@dataclass(frozen=True)
class Assessment:
    decision: Decision | None
    issues: tuple[Issue, ...]


def parse_and_validate(
    raw: Any, policy: Policy, prices: PriceTable
) -> tuple[Application | None, list[Issue]]:
    """The application when it has no error, and every issue found on the way."""
    app, issues = parse_application(raw)
    if app is None:
        return None, issues
    issues += validate(app, Context(policy=policy, prices=prices))
    return (None if has_errors(issues) else app), issues


def assess(raw: Any, policy: Policy, prices: PriceTable, *, evaluated_at: datetime) -> Assessment:
    app, issues = parse_and_validate(raw, policy, prices)
    if app is None:
        return Assessment(decision=None, issues=tuple(issues))
    decision = evaluate(app, policy, prices, evaluated_at=evaluated_at, issues=issues)
    return Assessment(decision=decision, issues=tuple(issues))
