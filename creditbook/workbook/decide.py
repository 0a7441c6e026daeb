"""A filled workbook's inputs → decision and approval plan. Pure: both adapters call `decide`.

The openpyxl adapter (files) and the xlwings adapter (Evaluate button) only read plain values
(input blocks, Policy rows, Prices rows) and apply the returned plan; everything between is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from creditbook.core.assess import parse_and_validate
from creditbook.core.engine import evaluate
from creditbook.core.models import Application, Decision
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceRow, PriceTable
from creditbook.core.records import Issue, Lang, error, format_path, has_errors, text
from creditbook.data import default_prices
from creditbook.workbook.annex import annex_of, annex_plan
from creditbook.workbook.approval import Plan, PolicyStatus, approval_plan, audit_row
from creditbook.workbook.cells import (
    Assembled,
    CellValue,
    SheetValues,
    assemble,
    excel_float,
    language_of,
    locate,
)
from creditbook.workbook.flatten import unflatten
from creditbook.workbook.layout import POLICY_SHEET, PRICES_SHEET

PolicyRow = tuple[int, str, Any]  # sheet row, flattened path, value


def parse_cells(
    assembled: Assembled, policy: Policy, prices: PriceTable
) -> tuple[Application | None, list[Issue]]:
    """Like parse_and_validate, for values read from cells: issues carry cells, an unreadable
    cell is reported once (not again as a missing field)."""
    if not assembled.raw:  # none of our sheets: the one line that says so is enough
        return None, list(assembled.issues)
    app, issues = parse_and_validate(assembled.raw, policy, prices)
    unreadable = {issue.path for issue in assembled.issues}
    issues = [
        *assembled.issues,
        *(i for i in locate(issues, assembled.cells) if i.path not in unreadable),
    ]
    return (None if has_errors(issues) else app), issues


def _plain(value: Any) -> Any:
    """A Policy or Prices cell's value; a float at Excel's precision (see `excel_float`)."""
    return excel_float(value) if isinstance(value, float) else value


def policy_rows(values: Sequence[Sequence[Any]], first_row: int) -> list[PolicyRow]:
    """(row, path, value) from the Policy sheet's path and value columns; rows without a path skipped."""
    return [
        (row, str(path).strip(), _plain(value))
        for row, (path, value) in enumerate(values, start=first_row)
        if path is not None and str(path).strip()
    ]


def price_rows(table: Sequence[Sequence[CellValue]]) -> list[dict[str, CellValue]]:
    """The Prices table (header row first) as column → value; blank rows skipped."""
    header, *rows = table
    columns = [str(name) for name in header]
    return [
        dict(zip(columns, map(_plain, row), strict=True))
        for row in rows
        if any(v is not None for v in row)
    ]


@dataclass(frozen=True)
class WorkbookInputs:
    """What a filled workbook holds: the application cells, and its Policy and Prices sheets."""

    assembled: Assembled
    policy: Policy | None
    prices: PriceTable | None
    issues: tuple[Issue, ...]
    language: Lang | None = None  # the language the workbook remembers for its documents


def _policy_cell(rows: Sequence[PolicyRow], path: str) -> str:
    """The value cell of the first Policy row at or below `path` (the sheet itself if none)."""
    for row, row_path, _ in rows:
        if row_path == path or row_path.startswith((f"{path}.", f"{path}[")):
            return f"{POLICY_SHEET}!C{row}"
    return POLICY_SHEET


def _typed(value: object) -> tuple[str, object]:
    """A cache key part that tells True, 1 and 1.0 apart (they are equal, and hash alike)."""
    return type(value).__name__, value


def policy_from_rows(rows: Sequence[PolicyRow] | None) -> tuple[Policy | None, list[Issue]]:
    """The Policy sheet's policy. Most workbooks of a register carry the same sheet: the result of
    the same rows is remembered, so verifying a thousand files validates it once."""
    if rows is None:
        return None, []
    key = tuple((row, path, _typed(value)) for row, path, value in rows)
    try:
        policy, remembered = _policy_of(key)
    except TypeError:  # a value that cannot be a key: not remembered
        return _parse_policy(rows)
    return policy, list(remembered)


@lru_cache(maxsize=8)
def _policy_of(
    key: tuple[tuple[int, str, tuple[str, Any]], ...],
) -> tuple[Policy | None, tuple[Issue, ...]]:
    policy, issues = _parse_policy([(row, path, value) for row, path, (_, value) in key])
    return policy, tuple(issues)


def _parse_policy(rows: Sequence[PolicyRow]) -> tuple[Policy | None, list[Issue]]:
    try:
        return Policy.model_validate(unflatten((path, value) for _, path, value in rows)), []
    except ValidationError as exc:
        issues = []
        for detail in exc.errors():
            path = format_path(tuple(part for part in detail["loc"] if isinstance(part, int | str)))
            issue = error(
                ("policy", path),
                f"政策表无效：{detail['msg']}",
                f"the Policy sheet is not valid: {detail['msg']}",
            )
            issues.append(issue.at(_policy_cell(rows, path)))
        return None, issues
    except ValueError as exc:
        return None, [
            error((POLICY_SHEET,), f"政策表无效：{exc}", f"the Policy sheet is not valid: {exc}")
        ]


def prices_from_rows(
    rows: Sequence[Mapping[str, CellValue]] | None,
) -> tuple[PriceTable | None, list[Issue]]:
    """The Prices sheet's table (remembered per content, as the policy)."""
    if rows is None:
        return None, []
    key = tuple(tuple((column, _typed(value)) for column, value in row.items()) for row in rows)
    try:
        prices, remembered = _prices_of(key)
    except TypeError:
        return _parse_prices(rows)
    return prices, list(remembered)


@lru_cache(maxsize=8)
def _prices_of(
    key: tuple[tuple[tuple[str, tuple[str, Any]], ...], ...],
) -> tuple[PriceTable | None, tuple[Issue, ...]]:
    prices, issues = _parse_prices([{column: value for column, (_, value) in row} for row in key])
    return prices, tuple(issues)


def _parse_prices(
    rows: Sequence[Mapping[str, CellValue]],
) -> tuple[PriceTable | None, list[Issue]]:
    try:
        return PriceTable(rows=tuple(PriceRow.model_validate(dict(row)) for row in rows)), []
    except ValidationError as exc:
        first = exc.errors()[0]
        return None, [
            error(
                (PRICES_SHEET,),
                f"价格表无效：{first['msg']}",
                f"the Prices sheet is not valid: {first['msg']}",
            )
        ]


def inputs_from(
    values: Mapping[str, SheetValues],
    policy_rows: Sequence[PolicyRow] | None,
    price_rows: Sequence[Mapping[str, CellValue]] | None,
    language: CellValue = None,
) -> WorkbookInputs:
    """`language`: the value of the config sheet's language cell."""
    return inputs_of(values, policy_from_rows(policy_rows), prices_from_rows(price_rows), language)


def inputs_of(
    values: Mapping[str, SheetValues],
    policy: tuple[Policy | None, Sequence[Issue]],
    prices: tuple[PriceTable | None, Sequence[Issue]],
    language: CellValue = None,
) -> WorkbookInputs:
    """`inputs_from` with the policy and prices already made from their rows (`policy_from_rows`,
    `prices_from_rows`), each with its issues."""
    lang, language_issues = language_of(language)
    return WorkbookInputs(
        assemble(values),
        policy[0],
        prices[0],
        (*policy[1], *prices[1], *language_issues),
        language=lang,
    )


def application_of(
    inputs: WorkbookInputs, official: Policy
) -> tuple[Application | None, list[Issue]]:
    """The application a workbook holds, validated against its own Policy and Prices sheets."""
    app, issues = parse_cells(
        inputs.assembled, inputs.policy or official, inputs.prices or default_prices()
    )
    issues = [*inputs.issues, *issues]
    return (None if has_errors(issues) else app), issues


def policy_status(used: Policy, officials: Sequence[Policy]) -> PolicyStatus:
    """Official when its hash matches the official policy of that id and version."""
    name = f"{used.id} {used.version}"
    for official in officials:
        if (official.id, official.version) == (used.id, used.version):
            if official.content_hash() == used.content_hash():
                return PolicyStatus(
                    True, text(f"{name}（现行正式版本）", f"{name} (the current official version)")
                )
            return PolicyStatus(
                False,
                text(
                    f"⚠ 政策 {name} 已在工作簿中修改，与官方版本不一致（sha256 {used.content_hash()[:12]}）",
                    f"⚠ policy {name} was edited in this workbook and differs from the official one "
                    f"(sha256 {used.content_hash()[:12]})",
                ),
            )
    return PolicyStatus(
        False,
        text(
            f"⚠ 政策 {name} 不是已知的官方版本", f"⚠ policy {name} is not a known official version"
        ),
    )


@dataclass(frozen=True)
class Outcome:
    """A decision with the Approval and Annex plans and AuditLog row to write; or only the issues."""

    issues: tuple[Issue, ...]
    decision: Decision | None = None
    plan: Plan | None = None
    audit_row: tuple[CellValue, ...] = ()
    annex: Plan | None = None


def decide(
    inputs: WorkbookInputs,
    officials: Sequence[Policy],
    *,
    evaluated_at: datetime,
    evaluated_by: str,
    lang: Lang | None = None,
) -> Outcome:
    """Evaluate under the workbook's own policy and prices; flag a policy that is not official."""
    app, issues = application_of(inputs, officials[0])
    if app is None:
        return Outcome(tuple(issues))
    policy, prices = inputs.policy or officials[0], inputs.prices or default_prices()
    decision = evaluate(app, policy, prices, evaluated_at=evaluated_at, issues=issues)
    lang = lang or inputs.language or "both"
    plan = approval_plan(
        decision,
        app,
        policy=policy_status(policy, officials),
        evaluated_by=evaluated_by,
        lang=lang,
    )
    annex = annex_plan(annex_of(decision, app, policy), lang)
    return Outcome(tuple(issues), decision, plan, audit_row(decision, evaluated_by), annex)
