"""The one orchestrator: raw application → parse → validate → evaluate, collecting every issue.

Each stage adds its issues; evaluation runs only when there is no error. Only programming bugs raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditbook.cells import Assembled, locate
from creditbook.engine import evaluate
from creditbook.models import Application, Decision
from creditbook.policy import Policy
from creditbook.prices import PriceTable
from creditbook.records import Issue, has_errors
from creditbook.validation import Context, parse_application, validate


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


def parse_cells(
    assembled: Assembled, policy: Policy, prices: PriceTable
) -> tuple[Application | None, list[Issue]]:
    """Like parse_and_validate, for values read from cells: issues carry cells, an unreadable
    cell is reported once (not again as a missing field)."""
    app, issues = parse_and_validate(assembled.raw, policy, prices)
    unreadable = {issue.path for issue in assembled.issues}
    issues = [
        *assembled.issues,
        *(i for i in locate(issues, assembled.cells) if i.path not in unreadable),
    ]
    return (None if has_errors(issues) else app), issues


def assess(raw: Any, policy: Policy, prices: PriceTable, *, evaluated_at: datetime) -> Assessment:
    app, issues = parse_and_validate(raw, policy, prices)
    if app is None:
        return Assessment(decision=None, issues=tuple(issues))
    decision = evaluate(app, policy, prices, evaluated_at=evaluated_at, issues=issues)
    return Assessment(decision=decision, issues=tuple(issues))
