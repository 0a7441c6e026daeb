"""`creditbook simulate`: a whole portfolio re-evaluated under a draft policy, and the diff.

The portfolio is read once and put into frames under each policy (`vectorised.facts_frame`);
`vectorised.evaluate_frame` runs the engine's stages for the current and the draft policy; the
diff lists each application's figures before and after.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from creditbook.core.assess import parse_and_validate
from creditbook.core.models import (
    Application,
    Currency,
)
from creditbook.core.money import cents
from creditbook.core.plain_text import render_issues, width
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import error
from creditbook.data import default_prices
from creditbook.portfolio.columns import Unsupported
from creditbook.portfolio.frames import facts_frame, fx_rate
from creditbook.portfolio.tables import is_table, read_rows
from creditbook.portfolio.vectorised import DIFF_COLUMNS, WORKBOOK_SUFFIXES, differs, evaluate_frame
from creditbook.workbook.decide import application_of, policy_from_rows
from creditbook.workbook.evaluate import inputs_of
from creditbook.workbook.file_io import InputError, read_application_json, read_policy, write_atomic
from creditbook.workbook.openpyxl_adapter import append_row
from creditbook.workbook.package_reader import open_book, read_policy_rows
from creditbook.workbook.xlsm.named_styles import register_styles

# ----------------------------------------------------------------- the portfolio


@dataclass(frozen=True)
class Portfolio:
    apps: list[tuple[Application, PriceTable]]
    facts: pd.DataFrame  # `apps` read under the current policy
    lines: pd.DataFrame
    files: list[str]  # one per row of `facts`
    skipped: list[tuple[Path, str]]  # files that hold no valid application, and why


def _application(path: Path, official: Policy) -> tuple[Application | None, PriceTable, str]:
    """An application JSON or workbook; (None, …, why) when the file holds no valid one."""
    if path.suffix.lower() == ".json":
        raw = read_application_json(path)
        if not isinstance(raw, dict) or "profile" not in raw:
            return None, default_prices(), ""  # another JSON (a decision, say): not listed
        app, issues = parse_and_validate(raw, official, default_prices())
        return app, default_prices(), render_issues(issues, "en")
    inputs = inputs_of(path)
    app, issues = application_of(inputs, official)
    return app, inputs.prices or default_prices(), render_issues(issues, "en")


def _table_applications(
    table: Path, official: Policy
) -> Iterator[tuple[str, Application | None, str]]:
    """(where, application or None, why) per row of an application table (priced by the
    shipped price table, as an application JSON is)."""
    for line, raw in read_rows(table):
        app, issues = parse_and_validate(raw, official, default_prices())
        yield f"{table}:{line}", app, render_issues(issues, "en")


def read_portfolio(folders: Sequence[Path], official: Policy) -> Portfolio:
    """Every application JSON and workbook under the folders, and every row of the application
    tables (.parquet, .csv) named among them, read once."""
    apps: list[tuple[Application, PriceTable]] = []
    files: list[str] = []
    skipped: list[tuple[Path, str]] = []
    for folder in folders:
        if is_table(folder):
            for where, app, why in _table_applications(folder, official):
                if app is None:
                    skipped.append((Path(where), why))
                    continue
                apps.append((app, default_prices()))
                files.append(where)
            continue
        if not folder.is_dir():
            raise InputError(
                [
                    error(
                        (str(folder),),
                        "不是文件夹，也不是申请表（.parquet、.csv）",
                        "not a folder, nor an application table (.parquet, .csv)",
                    )
                ]
            )
        for path in sorted(folder.rglob("*")):
            suffix = path.suffix.lower()
            if path.name.startswith(("~$", ".")) or suffix not in (".json", *WORKBOOK_SUFFIXES):
                continue
            try:
                app, prices, why = _application(path, official)
            except InputError as exc:
                app, prices, why = None, default_prices(), str(exc)
            if app is None:
                skipped += [(path, why)] if why else []
                continue
            apps.append((app, prices))
            files.append(str(path))
    facts, lines = facts_frame(apps, official)
    return Portfolio(apps, facts, lines, files, skipped)


def read_draft(path: Path) -> Policy:
    """A policy from YAML, TOML, or the Policy sheet of a workbook."""
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        rows = read_policy_rows(open_book(path))
        if rows is None:
            raise InputError(
                [error((str(path),), "没有政策表", "the workbook has no Policy sheet")]
            )
        policy, issues = policy_from_rows(rows)
        if policy is None:
            raise InputError(issues)
        return policy
    if suffix != ".toml":
        return read_policy(path)
    try:
        return Policy.model_validate(tomllib.loads(path.read_text("utf-8"), parse_float=Decimal))
    except (OSError, ValueError) as exc:  # ValidationError and TOMLDecodeError are ValueErrors
        raise InputError(
            [error((str(path),), f"政策文件无效：{exc}", f"invalid policy file: {exc}")]
        ) from None


# ------------------------------------------------------------------------- diff


def diff_frame(portfolio: Portfolio, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """One row per application: who, `changed`, and each figure before and after."""
    facts = portfolio.facts
    table = pd.DataFrame(
        {
            "customer": facts["customer"],
            "credit_code": facts["credit_code"],
            "currency": facts["currency"].astype(str),
            "requested_limit": facts["requested_limit"] / 100,
        }
    )
    changed = np.zeros(len(facts), dtype=bool)
    for name in DIFF_COLUMNS:
        changed |= differs(before, after, name)
    table.insert(0, "changed", changed)
    for name in DIFF_COLUMNS:
        money = name in ("approved_limit", "unsecured_exposure")
        table[f"{name}_before"] = before[name] / 100 if money else before[name]
        table[f"{name}_after"] = after[name] / 100 if money else after[name]
    table["file"] = portfolio.files
    return table


def _base_total(facts: pd.DataFrame, cents_column: pd.Series, policy: Policy) -> Decimal:
    """Sum of amounts in the policy's base currency (exact, then to the cent)."""
    total = Fraction(0)
    for currency in Currency:
        here = (facts["currency"] == currency.value).to_numpy(dtype=bool)
        n, d = fx_rate(policy, currency.value)
        total += Fraction(int(cents_column[here].sum()) * n, 100 * d)
    return cents(Decimal(total.numerator) / Decimal(total.denominator))


def summary(
    portfolio: Portfolio,
    before: pd.DataFrame,
    after: pd.DataFrame,
    current: Policy,
    draft: Policy,
) -> dict[str, Any]:
    if draft.base_currency is not current.base_currency:
        raise Unsupported("the draft changes the base currency; totals would not compare")
    exposure_before = _base_total(portfolio.facts, before["unsecured_exposure"], current)
    exposure_after = _base_total(portfolio.facts, after["unsecured_exposure"], draft)

    def changes(name: str) -> int:
        return int(differs(before, after, name).sum())

    return {
        "current_policy": f"{current.id} {current.version}",
        "draft_policy": f"{draft.id} {draft.version}",
        "applications": len(portfolio.facts),
        "skipped_files": len(portfolio.skipped),
        "changed": int(
            np.logical_or.reduce([differs(before, after, n) for n in DIFF_COLUMNS]).sum()
        ),
        "tier_changed": changes("tier"),
        "limit_changed": changes("approved_limit"),
        "decision_changed": changes("decision"),
        "base_currency": current.base_currency.value,
        "unsecured_exposure_before": exposure_before,
        "unsecured_exposure_after": exposure_after,
        "unsecured_exposure_change": exposure_after - exposure_before,
    }


# ----------------------------------------------------------------------- output


def write_xlsx(path: Path, table: pd.DataFrame, facts: dict[str, Any]) -> None:
    """The diff as an Excel table (sheet Diff) and the summary (sheet Summary), styled."""
    wb = Workbook()
    register_styles(wb)
    ws = wb.active
    assert ws is not None
    ws.title = "Diff"
    ws.append(list(table.columns))
    for cell in ws[1]:
        cell.style = "cb_header"
    for record in table.itertuples(index=False):
        append_row(
            ws, [value.item() if isinstance(value, np.generic) else value for value in record]
        )
    last = get_column_letter(len(table.columns))
    for position, name in enumerate(table.columns, start=1):
        letter = get_column_letter(position)
        shown = [width(str(value)) for value in table[name].head(200)]
        ws.column_dimensions[letter].width = min(60, max(12, len(str(name)) + 4, *shown) + 2)
        if name.startswith(("approved_limit", "unsecured_exposure", "requested_limit")):
            for (cell,) in ws[f"{letter}2:{letter}{len(table) + 1}"]:
                cell.number_format = "#,##0.00"
    for (cell,) in ws[f"A2:A{len(table) + 1}"]:
        cell.number_format = '"TRUE";"TRUE";"FALSE"'  # booleans read TRUE/FALSE in every client
    ws.freeze_panes = "B2"
    table_ref = f"A1:{last}{max(len(table) + 1, 2)}"
    diff = Table(displayName="SimulationDiff", ref=table_ref)
    diff.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(diff)
    sheet = wb.create_sheet("Summary")
    sheet.append(["政策模拟 Policy simulation"])
    sheet["A1"].style = "cb_title"
    for key, value in facts.items():
        sheet.append([key, value])
        sheet.cell(sheet.max_row, 1).style = "cb_label"
        sheet.cell(sheet.max_row, 2).style = "cb_output"
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 30
    buffer = io.BytesIO()
    wb.save(buffer)
    write_atomic(path, buffer.getvalue())


def json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def simulate(
    folders: Sequence[Path], draft: Policy, current: Policy
) -> tuple[dict[str, Any], pd.DataFrame, Portfolio]:
    portfolio = read_portfolio(folders, current)
    before = evaluate_frame(portfolio.facts, portfolio.lines, current)
    after = evaluate_frame(*facts_frame(portfolio.apps, draft), draft)
    table = diff_frame(portfolio, before, after)
    return summary(portfolio, before, after, current, draft), table, portfolio
