"""The register: one row per evaluated workbook, read from its audit snapshot, with totals.

`register` reads each workbook's audit snapshot with calamine (fast); with verify, the snapshot
comes from the package reader's read that verifies the file (`verify_and_read`), so each file is
read once. The totals set the book against the policy's appetite.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from creditbook.core.assess import assess
from creditbook.core.models import (
    Application,
    Currency,
    Decision,
)
from creditbook.core.plain_text import render_issues
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import error
from creditbook.core.spend import spend_of
from creditbook.core.validation import parse_application
from creditbook.portfolio.tables import read_rows
from creditbook.workbook.cells import CellValue
from creditbook.workbook.file_io import InputError, write_atomic
from creditbook.workbook.flatten import unflatten
from creditbook.workbook.openpyxl_adapter import append_row
from creditbook.workbook.snapshot_reader import read_snapshot_fast
from creditbook.workbook.styles import RED
from creditbook.workbook.verify import verify_and_read
from creditbook.workbook.xlsm.named_styles import register_styles

DUE_SOON_DAYS = 14
CHART_WEEKS = 8
SUFFIXES = (".xlsm", ".xlsx")
REGISTER_SHEET, SUMMARY_SHEET = "Register", "Summary"
REGISTER_COLUMNS = (
    "customer",
    "credit_code",
    "decision",
    "tier",
    "approved_limit",
    "currency",
    "approved_limit_base",
    "structure",
    "required_deposit",
    "unsecured_exposure",
    "unsecured_exposure_base",
    "high_cost_share",
    "peak_monthly_spend",
    "next_review_date",
    "days_to_review",
    "review",
    "status",
    "verify_status",
    "policy_status",
    "verify_failing",
    "file",
)
MONEY_COLUMNS = {
    "approved_limit",
    "approved_limit_base",
    "required_deposit",
    "unsecured_exposure",
    "unsecured_exposure_base",
    "peak_monthly_spend",
}
OVERDUE, DUE_SOON = "overdue", "due_14d"
TABLE_ROW = "table_row"  # verify_status of a row evaluated from an application table
AMBER, PALE_RED = "FFC000", "F8CBAD"
PARQUET_ZH = "Parquet 需要 pyarrow：pip install 'creditbook[parquet]'"
PARQUET_EN = "Parquet needs pyarrow: pip install 'creditbook[parquet]'"


# ------------------------------------------------------------------ register


def find_workbooks(folders: Sequence[Path]) -> list[Path]:
    """Every workbook under the folders, recursively, in a stable order (Excel lock files skipped)."""
    return sorted(
        path
        for folder in folders
        for path in folder.rglob("*")
        if path.suffix.lower() in SUFFIXES and path.is_file() and not path.name.startswith("~$")
    )


def _number(value: CellValue) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _plain(value: CellValue) -> CellValue:
    """A snapshot cell as JSON would hold it: whole floats as int (terms, days, counts)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _application(snapshot: Mapping[str, CellValue]) -> Application | None:
    rows = [
        (key.removeprefix("application."), _plain(value))
        for key, value in snapshot.items()
        if key.startswith("application.")
    ]
    try:
        return Application.model_validate(unflatten(rows))
    except (ValidationError, ValueError):
        return None


def _review(next_review: date | None, as_of: date) -> tuple[int | None, str]:
    if next_review is None:
        return None, ""
    days = (next_review - as_of).days
    return days, OVERDUE if days < 0 else DUE_SOON if days <= DUE_SOON_DAYS else ""


def register_row(
    path: Path, snapshot: Mapping[str, CellValue], policy: Policy, prices: PriceTable, as_of: date
) -> dict[str, Any]:
    """One register row from a workbook's audit snapshot (figures exactly as the Decision had them)."""
    row: dict[str, Any] = dict.fromkeys(REGISTER_COLUMNS)
    row |= {"file": str(path), "review": "", "verify_failing": False}
    if "audit.fingerprint" not in snapshot:
        return row | {"status": "never_evaluated", "verify_failing": True}
    currency = Currency(str(snapshot["decision.currency"]))
    limit = _number(snapshot.get("decision.approved_limit")) or 0.0
    unsecured = _number(snapshot.get("decision.unsecured_exposure")) or 0.0
    review_text = snapshot.get("decision.next_review_date")
    next_review = date.fromisoformat(str(review_text)) if review_text else None
    days, review = _review(next_review, as_of)
    app = _application(snapshot)
    spend = spend_of(app, policy, prices) if app else None
    return row | {
        "customer": snapshot.get("application.profile.customer_name"),
        "credit_code": snapshot.get("application.profile.credit_code"),
        "decision": snapshot.get("decision.decision"),
        "tier": snapshot.get("decision.tier"),
        "approved_limit": limit,
        "currency": currency.value,
        "approved_limit_base": float(policy.to_base(Decimal(str(limit)), currency)),
        "structure": snapshot.get("decision.structure"),
        "required_deposit": _number(snapshot.get("decision.required_deposit")),
        "unsecured_exposure": unsecured,
        "unsecured_exposure_base": float(policy.to_base(Decimal(str(unsecured)), currency)),
        "high_cost_share": float(spend.high_cost_share) if spend else None,
        "peak_monthly_spend": float(spend.peak) if spend else None,
        "next_review_date": next_review,
        "days_to_review": days,
        "review": review,
        "status": "evaluated",
    }


def _fast_row(path: Path, policy: Policy, prices: PriceTable, as_of: date) -> dict[str, Any]:
    try:
        snapshot = read_snapshot_fast(path)
    except InputError:
        return _unreadable_row(path)
    return register_row(path, snapshot, policy, prices, as_of)


def _unreadable_row(path: Path) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(REGISTER_COLUMNS)
    return row | {"file": str(path), "review": "", "status": "unreadable", "verify_failing": True}


def _verified_row(
    path: Path, officials: Sequence[Policy], prices: PriceTable, as_of: date
) -> dict[str, Any]:
    """A workbook's register row and its verify status from one read of the file, in the same
    process (a worker's, when there are several): the snapshot verify reads gives the row too."""
    result, snapshot = verify_and_read(path, officials)
    row = (
        _unreadable_row(path)
        if snapshot is None
        else register_row(path, snapshot, officials[0], prices, as_of)
    )
    kind = "" if result.policy is None else result.policy.kind
    row["verify_status"], row["policy_status"] = result.status, kind
    row["verify_failing"] = result.status != "unchanged" or kind != "official"
    return row


_WORKER_CONTEXT: list[Any] = []  # officials, prices, as-of date: set once in each worker process


def _set_worker_context(officials: Sequence[Policy], prices: PriceTable, as_of: date) -> None:
    _WORKER_CONTEXT[:] = [officials, prices, as_of]


def _verified_row_in_worker(path: Path) -> dict[str, Any]:
    """`_verified_row` with what the worker received once (not pickled with every file)."""
    officials, prices, as_of = _WORKER_CONTEXT
    return _verified_row(path, officials, prices, as_of)


def build_register(
    files: Sequence[Path],
    officials: Sequence[Policy],
    prices: PriceTable,
    as_of: date,
    *,
    verify: bool = True,
    jobs: int = 1,
) -> pd.DataFrame:
    """One row per workbook; with `verify`, each file's verify status, in `jobs` processes."""
    rows: list[dict[str, Any]]
    if not verify:
        rows = [_fast_row(path, officials[0], prices, as_of) for path in files]
    elif jobs > 1 and len(files) > 1:
        chunk = max(1, min(32, len(files) // (jobs * 4)))
        with ProcessPoolExecutor(
            jobs, initializer=_set_worker_context, initargs=(list(officials), prices, as_of)
        ) as pool:
            rows = list(pool.map(_verified_row_in_worker, files, chunksize=chunk))
    else:
        rows = [_verified_row(path, officials, prices, as_of) for path in files]
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS))


def decision_row(
    where: str,
    decision: Decision,
    app: Application,
    policy: Policy,
    prices: PriceTable,
    as_of: date,
) -> dict[str, Any]:
    """A register row for an application evaluated from a table row (no workbook to verify)."""
    spend = spend_of(app, policy, prices)
    limit, unsecured = decision.approved_limit, decision.exposure.unsecured_exposure
    days, review = _review(decision.next_review_date, as_of)
    return {
        "customer": decision.customer_name,
        "credit_code": decision.credit_code,
        "decision": decision.decision.value,
        "tier": decision.tier,
        "approved_limit": float(limit),
        "currency": decision.currency.value,
        "approved_limit_base": float(policy.to_base(limit, decision.currency)),
        "structure": decision.structure.value,
        "required_deposit": float(decision.required_deposit),
        "unsecured_exposure": float(unsecured),
        "unsecured_exposure_base": float(policy.to_base(unsecured, decision.currency)),
        "high_cost_share": float(spend.high_cost_share),
        "peak_monthly_spend": float(spend.peak),
        "next_review_date": decision.next_review_date,
        "days_to_review": days,
        "review": review,
        "status": "evaluated",
        "verify_status": TABLE_ROW,
        "policy_status": "official",  # evaluated now, under the official policy
        "verify_failing": False,
        "file": where,
    }


TABLE_CHUNK = 500  # table rows evaluated per task when several processes share the work

Outcome = tuple[str, dict[str, Any] | None, str]  # where, register row or None, why not


def _evaluate_rows(
    rows: list[tuple[str, dict[str, Any]]], policy: Policy, prices: PriceTable, as_of: date
) -> list[Outcome]:
    evaluated_at = datetime.combine(as_of, time(), UTC)
    outcomes: list[Outcome] = []
    for where, raw in rows:
        result = assess(raw, policy, prices, evaluated_at=evaluated_at)
        if result.decision is None:
            outcomes.append((where, None, render_issues(result.issues, "en")))
            continue
        app, _ = parse_application(raw)
        assert app is not None  # assess decided on it
        outcomes.append(
            (where, decision_row(where, result.decision, app, policy, prices, as_of), "")
        )
    return outcomes


def _chunks(tables: Sequence[Path]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    chunk: list[tuple[str, dict[str, Any]]] = []
    for table in tables:
        for line, raw in read_rows(table):
            chunk.append((f"{table}:{line}", raw))
            if len(chunk) == TABLE_CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def table_register(
    tables: Sequence[Path], policy: Policy, prices: PriceTable, as_of: date, *, jobs: int = 1
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """One row per valid application in the tables, each evaluated under `policy` by the
    engine (in `jobs` processes); the rows that hold no valid application, and why."""
    outcomes: Iterable[list[Outcome]]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            outcomes = list(
                pool.map(
                    _evaluate_rows, _chunks(tables), repeat(policy), repeat(prices), repeat(as_of)
                )
            )
    else:
        outcomes = (_evaluate_rows(chunk, policy, prices, as_of) for chunk in _chunks(tables))
    rows, skipped = [], []
    for where, row, why in (outcome for chunk in outcomes for outcome in chunk):
        if row is None:
            skipped.append((where, why))
        else:
            rows.append(row)
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS)), skipped


@dataclass(frozen=True)
class Totals:
    base_currency: str
    workbooks: int
    evaluated: int
    unsecured_exposure: float
    appetite: float
    headroom: float
    used: float
    reviews_overdue: int
    reviews_due_14d: int
    verify_failing: int
    tiers: tuple[str, ...]  # the policy's, best first: the exposure chart shows every tier

    def lines(self) -> list[tuple[str, str, float | int | str]]:
        """(key, 中文 English label, value) of each total."""
        base = self.base_currency
        return [
            ("workbooks", "工作簿 Workbooks", self.workbooks),
            ("evaluated", "已评估 Evaluated", self.evaluated),
            ("unsecured", f"无担保敞口 Unsecured exposure ({base})", self.unsecured_exposure),
            ("appetite", f"组合风险偏好 Portfolio appetite ({base})", self.appetite),
            ("headroom", f"剩余空间 Headroom ({base})", self.headroom),
            ("used", "已用比例 Appetite used", self.used),
            ("overdue", "复核逾期 Reviews overdue", self.reviews_overdue),
            ("due", f"两周内复核 Reviews due within {DUE_SOON_DAYS} days", self.reviews_due_14d),
            ("failing", "校验未通过 Failing verify", self.verify_failing),
        ]


def totals_rows(totals: Totals) -> list[tuple[str, str]]:
    """The totals as text: amounts with thousands separators, the share used as a percentage."""
    return [
        (
            label,
            f"{value:.1%}"
            if key == "used"
            else f"{value:,.2f}"
            if isinstance(value, float)
            else str(value),
        )
        for key, label, value in totals.lines()
    ]


def totals_of(register: pd.DataFrame, policy: Policy) -> Totals:
    exposure = float(register["unsecured_exposure_base"].fillna(0).sum())
    appetite = float(policy.appetite.portfolio_appetite)
    return Totals(
        base_currency=policy.base_currency.value,
        workbooks=len(register),
        evaluated=int((register["status"] == "evaluated").sum()),
        unsecured_exposure=round(exposure, 2),
        appetite=appetite,
        headroom=round(appetite - exposure, 2),
        used=exposure / appetite if appetite else 0.0,
        reviews_overdue=int((register["review"] == OVERDUE).sum()),
        reviews_due_14d=int((register["review"] == DUE_SOON).sum()),
        verify_failing=int(register["verify_failing"].astype(bool).sum()),
        tiers=tuple(tier.id for tier in policy.tiers),
    )


def reviews_by_week(register: pd.DataFrame, as_of: date) -> list[tuple[str, int]]:
    """Reviews falling due in each of the coming weeks, week 1 starting on the as-of date."""
    days = register["days_to_review"].dropna()
    return [
        (
            (as_of + timedelta(days=7 * week)).isoformat(),
            int(days.between(7 * week, 7 * week + 6).sum()),
        )
        for week in range(CHART_WEEKS)
    ]


# A CSV cell a spreadsheet would run as a formula (OWASP "CSV injection") gets an apostrophe.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV, text that starts like a formula prefixed with an apostrophe."""
    safe = frame.copy()
    for column in safe.select_dtypes(include=["object", "string"]).columns:
        safe[column] = safe[column].map(
            lambda v: f"'{v}" if isinstance(v, str) and v.startswith(CSV_FORMULA_STARTS) else v
        )
    return safe.to_csv(index=False).encode("utf-8")


def from_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from `csv_bytes` output: the apostrophes it added are taken off again."""
    formula_like = tuple(f"'{start}" for start in CSV_FORMULA_STARTS)
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        frame[column] = frame[column].map(
            lambda v: v[1:] if isinstance(v, str) and v.startswith(formula_like) else v
        )
    return frame


def write_register(register: pd.DataFrame, totals: Totals, as_of: date, path: Path) -> None:
    """Write by extension: .xlsx (formatted, with charts), .csv or .parquet."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_atomic(path, csv_bytes(register))
    elif suffix == ".parquet":
        buffer = io.BytesIO()
        try:
            register.to_parquet(buffer, index=False)
        except ImportError:
            raise InputError([error((str(path),), PARQUET_ZH, PARQUET_EN)]) from None
        write_atomic(path, buffer.getvalue())
    elif suffix == ".xlsx":
        write_atomic(path, _register_xlsx(register, totals, as_of))
    else:
        raise InputError(
            [
                error(
                    (str(path),),
                    "输出须为 .xlsx、.csv 或 .parquet",
                    "the output must be .xlsx, .csv or .parquet",
                )
            ]
        )


def _column_format(name: str) -> str | None:
    if name in MONEY_COLUMNS:
        return "#,##0.00"
    if name == "high_cost_share":
        return "0.0%"
    if name == "next_review_date":
        return "yyyy-mm-dd"
    return None


def highlight_rule(formula: str, fill: PatternFill | None, font: Font | None) -> Rule:
    """A conditional format: the row wears `fill` / `font` where `formula` is true."""
    return Rule(type="expression", dxf=DifferentialStyle(fill=fill, font=font), formula=[formula])


def _register_sheet(ws: Worksheet, register: pd.DataFrame) -> None:
    ws.append(list(REGISTER_COLUMNS))
    for record in register.itertuples(index=False):
        append_row(ws, [None if pd.isna(value) else value for value in record])
    last_row, last_col = max(len(register) + 1, 2), get_column_letter(len(REGISTER_COLUMNS))
    for index, name in enumerate(REGISTER_COLUMNS, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = 40 if name in ("customer", "file") else 16
        number_format = _column_format(name)
        if number_format:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    table = Table(displayName="Register", ref=f"A1:{last_col}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "B2"
    review = get_column_letter(REGISTER_COLUMNS.index("review") + 1)
    failing = get_column_letter(REGISTER_COLUMNS.index("verify_failing") + 1)
    rows = f"A2:{last_col}{last_row}"
    rules = (
        (f'${review}2="{OVERDUE}"', PatternFill("solid", bgColor=PALE_RED), None),
        (f'${review}2="{DUE_SOON}"', PatternFill("solid", bgColor=AMBER), None),
        (f"${failing}2=TRUE", None, Font(bold=True, color=RED)),
    )
    for formula, fill, font in rules:
        ws.conditional_formatting.add(rows, highlight_rule(formula, fill, font))


def _summary_sheet(ws: Worksheet, register: pd.DataFrame, totals: Totals, as_of: date) -> None:
    ws["A1"], ws["A1"].style = "组合登记册 Portfolio register", "cb_title"
    ws["A2"], ws["A2"].style = f"截至 As of {as_of.isoformat()}", "cb_intro"
    for row, (key, label, value) in enumerate(totals.lines(), start=4):
        ws.cell(row, 1, label).style = "cb_label"
        cell = ws.cell(row, 2, value)
        cell.style = "cb_figure" if key == "headroom" else "cb_output"
        cell.number_format = "0.0%" if key == "used" else "#,##0"
    if totals.headroom < 0:
        ws["B8"].style = "cb_alert"
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 22
    evaluated = register[register["status"] == "evaluated"]
    by_tier = evaluated.groupby("tier")["unsecured_exposure_base"].sum()
    by_tier = by_tier.reindex([*totals.tiers, *sorted(set(by_tier.index) - set(totals.tiers))])
    by_tier = by_tier.fillna(0.0)
    tier_top = 15
    ws.cell(tier_top, 1, "评级 Tier").style = "cb_header"
    ws.cell(tier_top, 2, f"敞口 Exposure ({totals.base_currency})").style = "cb_header"
    for offset, (tier, amount) in enumerate(by_tier.items(), start=1):
        ws.cell(tier_top + offset, 1, str(tier)).style = "cb_text"
        ws.cell(tier_top + offset, 2, float(amount)).number_format = "#,##0"
    week_top = tier_top + max(len(by_tier), 1) + 2
    ws.cell(week_top, 1, "周起 Week from").style = "cb_header"
    ws.cell(week_top, 2, "复核 Reviews").style = "cb_header"
    weeks = reviews_by_week(register, as_of)
    for offset, (start, count) in enumerate(weeks, start=1):
        ws.cell(week_top + offset, 1, start).style = "cb_text"
        ws.cell(week_top + offset, 2, count)
    tiers = _bar_chart(
        "bar",
        f"按评级的敞口 Unsecured exposure by tier ({totals.base_currency})",
        ws,
        tier_top,
        max(len(by_tier), 1),
    )
    ws.add_chart(tiers, "D1")
    reviews = _bar_chart("col", "每周到期复核 Reviews due by week", ws, week_top, len(weeks))
    ws.add_chart(reviews, "D18")


def _bar_chart(kind: str, title: str, ws: Worksheet, top: int, count: int) -> BarChart:
    chart = BarChart()
    chart.type = kind
    chart.title = title
    chart.style = 10
    chart.legend = None
    chart.add_data(
        Reference(ws, min_col=2, min_row=top, max_row=top + count), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + count))
    chart.dataLabels = DataLabelList(
        showVal=True, showSerName=False, showCatName=False, showLegendKey=False
    )
    chart.y_axis.numFmt = "#,##0"
    chart.y_axis.majorGridlines = None
    if kind == "bar":  # the best tier on top
        chart.x_axis.scaling.orientation = "maxMin"
    else:  # counts: whole steps
        chart.y_axis.majorUnit = 1
    chart.width = 16
    chart.height = 7.5
    return chart


def _register_xlsx(register: pd.DataFrame, totals: Totals, as_of: date) -> bytes:
    wb = Workbook()
    register_styles(wb)
    summary = wb.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    _summary_sheet(summary, register, totals, as_of)
    summary.page_setup.orientation = "landscape"
    summary.page_setup.fitToWidth = 1
    summary.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    _register_sheet(wb.create_sheet(REGISTER_SHEET), register)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def read_register(path: Path) -> pd.DataFrame:
    """A register written by `creditbook register` (.xlsx, .csv or .parquet)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            frame = pd.read_excel(
                path, sheet_name=REGISTER_SHEET, dtype={"credit_code": str}, engine="calamine"
            )
        elif suffix == ".csv":
            frame = from_csv(pd.read_csv(path, dtype={"credit_code": str}))
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise ValueError("the register must be .xlsx, .csv or .parquet")
    except ImportError:
        raise InputError([error((str(path),), PARQUET_ZH, PARQUET_EN)]) from None
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(
            [error((str(path),), f"无法读取登记册：{exc}", f"cannot read the register: {exc}")]
        ) from None
    missing = set(REGISTER_COLUMNS) - set(frame.columns)
    if missing:
        raise InputError(
            [
                error(
                    (str(path),),
                    f"登记册缺少列：{', '.join(sorted(missing))}",
                    f"the register lacks columns: {', '.join(sorted(missing))}",
                )
            ]
        )
    return frame[frame["status"] == "evaluated"]
