"""The whole book: a register of evaluated workbooks, and monitoring live usage against approvals.

`register` reads each workbook's audit snapshot with calamine (fast) and checks it with
`verify_file`; `monitor` takes the register, a usage CSV and a receivables CSV and says, per
customer, which downgrade triggers and stop-loss steps of the policy fire as of a date.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

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

from creditbook.cells import CellValue
from creditbook.engine import governance, spend_of
from creditbook.fastread import read_snapshot_fast
from creditbook.files import InputError, write_atomic
from creditbook.flat import unflatten
from creditbook.formats import RED
from creditbook.models import Action, Application, Currency, Provider, Recovery, Structure, Trigger
from creditbook.playbook import with_escalation
from creditbook.policy import Policy
from creditbook.prices import PriceTable
from creditbook.records import error
from creditbook.verify import verify_file
from creditbook.xlsm.styles import register_styles
from creditbook.xlsx import append_row

EXIT_ACTION = 3  # monitor: some customer needs an action
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
        row: dict[str, Any] = dict.fromkeys(REGISTER_COLUMNS)
        return row | {
            "file": str(path),
            "review": "",
            "status": "unreadable",
            "verify_failing": True,
        }
    return register_row(path, snapshot, policy, prices, as_of)


def _verified(path: Path, officials: Sequence[Policy]) -> tuple[str, str]:
    result = verify_file(path, officials)
    return result.status, "" if result.policy is None else result.policy.kind


def build_register(
    files: Sequence[Path],
    officials: Sequence[Policy],
    prices: PriceTable,
    as_of: date,
    *,
    verify: bool = True,
    jobs: int = 1,
) -> pd.DataFrame:
    """One row per workbook; with `verify`, each file's verify status (openpyxl) in `jobs` processes."""
    policy = officials[0]
    rows = [_fast_row(path, policy, prices, as_of) for path in files]
    if verify:
        checks: Iterable[tuple[str, str]]
        if jobs > 1 and len(files) > 1:
            with ProcessPoolExecutor(jobs) as pool:
                checks = list(pool.map(_verified, files, [officials] * len(files), chunksize=8))
        else:
            checks = [_verified(path, officials) for path in files]
        for row, (status, kind) in zip(rows, checks, strict=True):
            row["verify_status"], row["policy_status"] = status, kind
            row["verify_failing"] = status != "unchanged" or kind != "official"
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS))


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


def _rule(formula: str, fill: PatternFill | None, font: Font | None) -> Rule:
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
        ws.conditional_formatting.add(rows, _rule(formula, fill, font))


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


# ------------------------------------------------------------------- monitor


@dataclass(frozen=True)
class Customer:
    name: str
    credit_code: str
    currency: Currency
    approved_limit: Decimal
    structure: Structure
    high_cost_share: Decimal
    peak_monthly_spend: Decimal


@dataclass(frozen=True)
class Usage:
    customer: str
    day: date
    cost: Decimal
    high_cost: bool


@dataclass(frozen=True)
class Invoice:
    customer: str
    issue: date
    due: date
    paid: date | None
    amount: Decimal


def customers_of(register: pd.DataFrame) -> list[Customer]:
    def decimal(value: Any) -> Decimal:
        return Decimal(0) if value is None or pd.isna(value) else Decimal(str(value))

    return [
        Customer(
            name=str(row["customer"]),
            credit_code="" if pd.isna(row["credit_code"]) else str(row["credit_code"]),
            currency=Currency(row["currency"]),
            approved_limit=decimal(row["approved_limit"]),
            structure=Structure(row["structure"]),
            high_cost_share=decimal(row["high_cost_share"]),
            peak_monthly_spend=decimal(row["peak_monthly_spend"]),
        )
        for row in register.to_dict("records")
    ]


class _Rows:
    """A CSV read row by row; every problem is an InputError naming file:line:column."""

    def __init__(self, path: Path, required: Sequence[str]) -> None:
        self.path = path
        try:
            self.text = path.read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                [error((str(path),), f"无法读取：{exc}", f"cannot read: {exc}")]
            ) from None
        self.reader = csv.DictReader(io.StringIO(self.text, newline=""))
        self.columns = [name.strip() for name in self.reader.fieldnames or ()]
        self.reader.fieldnames = self.columns
        missing = [name for name in required if name not in self.columns]
        if missing:
            self.fail(
                1, None, f"缺少列 {', '.join(missing)}", f"missing columns {', '.join(missing)}"
            )

    def fail(self, line: int, column: str | None, zh: str, en: str) -> NoReturn:
        col = self.columns.index(column) + 1 if column in self.columns else 1
        raise InputError([error((f"{self.path}:{line}:{col}",), zh, en)])

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        for raw in self.reader:
            if None in raw:
                self.fail(self.reader.line_num, None, "字段多于表头", "more fields than the header")
            yield self.reader.line_num, {key: (value or "").strip() for key, value in raw.items()}

    def day(self, line: int, row: Mapping[str, str], column: str) -> date:
        value = row.get(column, "")
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            self.fail(
                line, column, f"{column} 不是日期：{value!r}", f"{column} is not a date: {value!r}"
            )

    def number(self, line: int, row: Mapping[str, str], column: str) -> Decimal:
        value = row.get(column, "").replace(",", "")
        try:
            amount = Decimal(value or "0")
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0:
            self.fail(
                line,
                column,
                f"{column} 不是非负数：{value!r}",
                f"{column} is not a number ≥ 0: {value!r}",
            )
        return amount


def _lookup(customers: Sequence[Customer]) -> dict[str, Customer]:
    keys: dict[str, Customer] = {}
    for customer in customers:
        keys[customer.name.strip().casefold()] = customer
        if customer.credit_code:
            keys[customer.credit_code.strip().casefold()] = customer
    return keys


def read_usage(
    path: Path,
    customers: Sequence[Customer],
    policy: Policy,
    prices: PriceTable,
    *,
    customer_column: str = "customer",
    provider: str | None = None,
) -> list[Usage]:
    """Usage rows: cost in the customer's currency, or tokens priced by the price table."""
    rows = _Rows(path, [customer_column, "date"])
    if "cost" not in rows.columns and "input_mtok" not in rows.columns:
        rows.fail(
            1,
            None,
            "需要 cost 列或 input_mtok/output_mtok 列",
            "needs a cost column or input_mtok/output_mtok",
        )
    known = _lookup(customers)
    usage = []
    for line, row in rows:
        customer = known.get(row[customer_column].casefold())
        if customer is None:
            rows.fail(
                line,
                customer_column,
                f"登记册中没有客户 {row[customer_column]!r}",
                f"no customer {row[customer_column]!r} in the register",
            )
        day = rows.day(line, row, "date")
        name = row.get("provider") or provider or "other"
        try:
            price = prices.find(Provider(name), row.get("model", ""))
        except ValueError:
            rows.fail(line, "provider", f"未知供应商 {name!r}", f"unknown provider {name!r}")
        if row.get("cost"):
            cost = rows.number(line, row, "cost")
        elif price is None:
            rows.fail(
                line,
                "model",
                f"价格表中没有模型 {row.get('model')!r}",
                f"model {row.get('model')!r} is not in the price table",
            )
        else:
            tokens = (
                rows.number(line, row, "input_mtok") * price.input_per_mtok
                + rows.number(line, row, "output_mtok") * price.output_per_mtok
            )
            cost = policy.from_base(policy.to_base(tokens, price.currency), customer.currency)
        usage.append(
            Usage(customer.name, day, cost, price is not None and price.cost_class == "high")
        )
    return usage


def read_receivables(path: Path, customers: Sequence[Customer]) -> list[Invoice]:
    columns = ("invoice", "customer", "issue_date", "due_date", "paid_date", "amount")
    rows = _Rows(path, columns)
    known = _lookup(customers)
    invoices = []
    for line, row in rows:
        customer = known.get(row["customer"].casefold())
        if customer is None:
            rows.fail(
                line,
                "customer",
                f"登记册中没有客户 {row['customer']!r}",
                f"no customer {row['customer']!r} in the register",
            )
        issue, due = rows.day(line, row, "issue_date"), rows.day(line, row, "due_date")
        paid = rows.day(line, row, "paid_date") if row["paid_date"] else None
        invoices.append(Invoice(customer.name, issue, due, paid, rows.number(line, row, "amount")))
    return invoices


@dataclass(frozen=True)
class Fired:
    kind: str  # "downgrade" or "stop_loss"
    id: str
    threshold: Decimal
    value: Decimal
    actions: tuple[Action, ...] = ()
    escalation: tuple[Action, ...] = ()
    recovery: tuple[Recovery, ...] = ()


@dataclass(frozen=True)
class Health:
    customer: Customer
    metrics: dict[str, Decimal | int | None]
    fired: list[Fired] = field(default_factory=list)

    @property
    def actions(self) -> tuple[Action, ...]:
        chosen = {action for item in self.fired for action in item.actions}
        return tuple(action for action in Action if action in chosen)

    @property
    def recovery(self) -> tuple[Recovery, ...]:
        """The recovery of the highest step fired for each trigger."""
        top = {item.id: item for item in self.fired if item.kind == "stop_loss"}
        chosen = {value for item in top.values() for value in item.recovery}
        return tuple(value for value in Recovery if value in chosen)

    @property
    def escalation(self) -> tuple[Action, ...]:
        top = {item.id: item for item in self.fired if item.kind == "stop_loss"}
        chosen = {value for item in top.values() for value in item.escalation}
        return tuple(value for value in Action if value in chosen)

    @property
    def action_needed(self) -> bool:
        return bool(self.fired)


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.0001")) if whole > 0 else None


def _metrics(
    customer: Customer, usage: Sequence[Usage], invoices: Sequence[Invoice], as_of: date
) -> dict[str, Decimal | int | None]:
    issued = [invoice for invoice in invoices if invoice.issue <= as_of]
    last_issue = max((invoice.issue for invoice in issued), default=None)
    used_rows = [item for item in usage if item.day <= as_of]
    unbilled = sum(
        (i.cost for i in used_rows if last_issue is None or i.day > last_issue), Decimal(0)
    )
    unpaid = [i for i in issued if i.paid is None or i.paid > as_of]
    used = unbilled + sum((invoice.amount for invoice in unpaid), Decimal(0))
    daily = sum((i.cost for i in used_rows if i.day == as_of), Decimal(0))
    week = sum((i.cost for i in used_rows if 1 <= (as_of - i.day).days <= 7), Decimal(0))
    month_rows = [i for i in used_rows if (as_of - i.day).days < 30]
    month = sum((i.cost for i in month_rows), Decimal(0))
    high = sum((i.cost for i in month_rows if i.high_cost), Decimal(0))
    due = sorted((i for i in issued if i.due < as_of), key=lambda i: (i.due, i.issue))
    late = [((i.paid if i.paid and i.paid <= as_of else as_of) - i.due).days for i in due]
    streak = 0
    for days in reversed(late):
        if days <= 0:
            break
        streak += 1
    current = [(as_of - i.due).days for i in unpaid if i.due < as_of]
    return {
        "unbilled_usage": unbilled,
        "unpaid_invoices": used - unbilled,
        "used": used,
        "utilisation": _ratio(used, customer.approved_limit),
        "daily_spend": daily,
        "trailing_7d_average": (week / 7).quantize(Decimal("0.01")),
        "spend_vs_average": _ratio(daily, week / 7),
        "spend_30d": month,
        "high_cost_share": _ratio(high, month),
        "application_high_cost_share": customer.high_cost_share,
        "overdue_streak": streak,
        "max_days_past_due": max([0, *late]),
        "current_days_past_due": max([0, *current]),
    }


# Which measured figure each shipped downgrade trigger watches, and whether reaching it is enough.
DOWNGRADE_METRICS: dict[str, tuple[str, bool]] = {
    "consecutive_overdue": ("overdue_streak", True),
    "days_overdue": ("max_days_past_due", False),
    "consumption_surge": ("spend_30d", False),
    "high_cost_share_rise": ("high_cost_share", False),
    "over_limit_use": ("used", False),
}
STOP_LOSS_METRICS: dict[Trigger, str] = {
    Trigger.OVER_LIMIT: "utilisation",
    Trigger.ABNORMAL_USAGE: "spend_vs_average",
    Trigger.OVERDUE: "current_days_past_due",
}


def assess_customer(
    customer: Customer,
    usage: Sequence[Usage],
    invoices: Sequence[Invoice],
    policy: Policy,
    as_of: date,
) -> Health:
    metrics = _metrics(customer, usage, invoices, as_of)
    health = Health(customer, metrics)
    if customer.structure is not Structure.PREPAID:  # a prepaid line has no downgrade triggers
        values = {
            "approved_limit": customer.approved_limit,
            "high_cost_share": customer.high_cost_share,
            "peak_monthly_spend": customer.peak_monthly_spend,
            "expected_monthly_spend": Decimal(0),
            "increase_headroom": Decimal(0),
        }
        for rule in governance(policy.downgrade_triggers, values, customer.currency):
            metric, inclusive = DOWNGRADE_METRICS.get(rule.id, ("", False))
            value = metrics.get(metric)
            if value is not None and (
                value >= rule.threshold if inclusive else value > rule.threshold
            ):
                health.fired.append(Fired("downgrade", rule.id, rule.threshold, Decimal(value)))
    for step in with_escalation(policy.stop_loss, policy.final_escalation):
        value = metrics[STOP_LOSS_METRICS[step.trigger]]
        if value is not None and value >= step.threshold:
            health.fired.append(
                Fired(
                    "stop_loss",
                    step.trigger.value,
                    step.threshold,
                    Decimal(value),
                    step.actions,
                    step.escalation,
                    step.recovery,
                )
            )
    return health


def monitor(
    customers: Sequence[Customer],
    usage: Sequence[Usage],
    invoices: Sequence[Invoice],
    policy: Policy,
    as_of: date,
) -> list[Health]:
    return [
        assess_customer(
            customer,
            [item for item in usage if item.customer == customer.name],
            [item for item in invoices if item.customer == customer.name],
            policy,
            as_of,
        )
        for customer in customers
    ]


def _json_number(value: Decimal | int | None) -> float | int | None:
    return float(value) if isinstance(value, Decimal) else value


def health_json(health: Health) -> dict[str, Any]:
    customer = health.customer
    return {
        "customer": customer.name,
        "credit_code": customer.credit_code or None,
        "currency": customer.currency.value,
        "approved_limit": float(customer.approved_limit),
        "structure": customer.structure.value,
        "metrics": {key: _json_number(value) for key, value in health.metrics.items()},
        "downgrade_triggers": [
            {"id": f.id, "threshold": float(f.threshold), "value": float(f.value)}
            for f in health.fired
            if f.kind == "downgrade"
        ],
        "stop_loss": [
            {
                "trigger": f.id,
                "threshold": float(f.threshold),
                "value": float(f.value),
                "actions": [a.value for a in f.actions],
            }
            for f in health.fired
            if f.kind == "stop_loss"
        ],
        "actions": [a.value for a in health.actions],
        "escalation": [a.value for a in health.escalation],
        "recovery": [r.value for r in health.recovery],
        "action_needed": health.action_needed,
    }


def monitor_json(results: Sequence[Health], as_of: date) -> str:
    payload = {
        "as_of": as_of.isoformat(),
        "action_needed": any(health.action_needed for health in results),
        "customers": [health_json(health) for health in results],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)


MONITOR_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any], str | None], ...] = (
    ("customer", lambda r: r["customer"], None),
    ("credit_code", lambda r: r["credit_code"], None),
    ("currency", lambda r: r["currency"], None),
    ("approved_limit", lambda r: r["approved_limit"], "#,##0.00"),
    ("used", lambda r: r["metrics"]["used"], "#,##0.00"),
    ("utilisation", lambda r: r["metrics"]["utilisation"], "0.0%"),
    ("daily_spend", lambda r: r["metrics"]["daily_spend"], "#,##0.00"),
    ("trailing_7d_average", lambda r: r["metrics"]["trailing_7d_average"], "#,##0.00"),
    ("spend_vs_average", lambda r: r["metrics"]["spend_vs_average"], "0.00"),
    ("high_cost_share", lambda r: r["metrics"]["high_cost_share"], "0.0%"),
    ("application_high_cost_share", lambda r: r["metrics"]["application_high_cost_share"], "0.0%"),
    ("overdue_streak", lambda r: r["metrics"]["overdue_streak"], None),
    ("max_days_past_due", lambda r: r["metrics"]["max_days_past_due"], None),
    ("downgrade_triggers", lambda r: ", ".join(t["id"] for t in r["downgrade_triggers"]), None),
    (
        "stop_loss",
        lambda r: ", ".join(f"{s['trigger']} ≥ {s['threshold']:g}" for s in r["stop_loss"]),
        None,
    ),
    ("actions", lambda r: ", ".join(r["actions"]), None),
    ("escalation", lambda r: ", ".join(r["escalation"]), None),
    ("recovery", lambda r: ", ".join(r["recovery"]), None),
    ("action_needed", lambda r: r["action_needed"], None),
)


def monitor_xlsx(results: Sequence[Health], as_of: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Monitor"
    ws.append([name for name, _, _ in MONITOR_COLUMNS])
    for health in results:
        record = health_json(health)
        append_row(ws, [value(record) for _, value, _ in MONITOR_COLUMNS])
    last_row = max(len(results) + 1, 2)
    for index, (name, _, number_format) in enumerate(MONITOR_COLUMNS, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = (
            36 if name in ("customer", "actions", "stop_loss") else 14
        )
        if number_format:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    last_col = get_column_letter(len(MONITOR_COLUMNS))
    table = Table(displayName="Monitor", ref=f"A1:{last_col}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    needed = get_column_letter(len(MONITOR_COLUMNS))
    ws.conditional_formatting.add(
        f"A2:{last_col}{last_row}",
        _rule(f"${needed}2=TRUE", PatternFill("solid", bgColor=PALE_RED), None),
    )
    ws.freeze_panes = "B2"
    ws.cell(len(results) + 3, 1, f"截至 As of {as_of.isoformat()}")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def monitor_rows(results: Sequence[Health]) -> list[tuple[str, ...]]:
    """A plain-text table: one line per customer, what fired and what to do."""
    rows: list[tuple[str, ...]] = [
        ("customer", "utilisation", "spend ÷ 7d avg", "overdue streak", "fired", "actions")
    ]
    for health in results:
        metrics = health.metrics
        utilisation, spike = metrics["utilisation"], metrics["spend_vs_average"]
        rows.append(
            (
                health.customer.name,
                "—" if utilisation is None else f"{float(utilisation):.0%}",
                "—" if spike is None else f"{float(spike):.2f}",
                str(metrics["overdue_streak"]),
                ", ".join(f"{item.id}≥{float(item.threshold):g}" for item in health.fired) or "—",
                ", ".join(action.value for action in health.actions) or "—",
            )
        )
    return rows


def write_monitor(results: Sequence[Health], as_of: date, path: Path) -> None:
    """Write by extension: .xlsx or .json."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_atomic(path, monitor_json(results, as_of).encode("utf-8"))
    elif suffix == ".xlsx":
        write_atomic(path, monitor_xlsx(results, as_of))
    else:
        raise InputError(
            [error((str(path),), "输出须为 .xlsx 或 .json", "the output must be .xlsx or .json")]
        )
