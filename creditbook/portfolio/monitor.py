"""Monitoring live usage against approvals: which triggers and stop-loss steps fire, per customer.

`monitor` takes the register, usage where it lives (files or a gateway's database, aggregated there
by `creditbook.portfolio.usage`) and receivables, and says, per customer, which downgrade triggers
and stop-loss steps of the policy fire as of a date.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from creditbook.core.governance import governance
from creditbook.core.models import Action, Currency, Recovery, StopLossRule, Structure, Trigger
from creditbook.core.playbook import with_escalation
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import error
from creditbook.portfolio.register import PALE_RED, highlight_rule
from creditbook.portfolio.sources import is_url, redact
from creditbook.portfolio.usage import WINDOW_DAYS, Options, Reading, Unmapped, Usage, read_usage
from creditbook.workbook.file_io import InputError, write_atomic
from creditbook.workbook.openpyxl_adapter import append_row

EXIT_ACTION = 3  # monitor: some customer needs an action


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


class _Records(_Rows):
    """A small table from Parquet or a database, checked like a CSV: errors name the row."""

    def __init__(self, source: str, records: list[dict[str, Any]], required: Sequence[str]) -> None:
        self.where = redact(source)
        self.records = records
        self.columns = list(records[0]) if records else list(required)
        missing = [name for name in required if name not in self.columns]
        if missing:
            self.fail(
                1, None, f"缺少列 {', '.join(missing)}", f"missing columns {', '.join(missing)}"
            )

    def fail(self, line: int, column: str | None, zh: str, en: str) -> NoReturn:
        where = f"{self.where}: row {line}" + (f", {column}" if column else "")
        raise InputError([error((where,), zh, en)])

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        for number, record in enumerate(self.records, start=1):
            yield number, {key: _text(value) for key, value in record.items()}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _lookup(customers: Sequence[Customer]) -> dict[str, Customer]:
    keys: dict[str, Customer] = {}
    for customer in customers:
        keys[customer.name.strip().casefold()] = customer
        if customer.credit_code:
            keys[customer.credit_code.strip().casefold()] = customer
    return keys


def read_customer_map(path: Path, customers: Sequence[Customer]) -> dict[str, Customer]:
    """`key,credit_code` rows: the gateway's customer field → the register's customer."""
    rows = _Rows(path, ["key", "credit_code"])
    by_code = {c.credit_code.strip().casefold(): c for c in customers if c.credit_code}
    keys: dict[str, Customer] = {}
    for line, row in rows:
        customer = by_code.get(row["credit_code"].casefold())
        if customer is None:
            rows.fail(
                line,
                "credit_code",
                f"登记册中没有信用代码 {row['credit_code']!r}",
                f"no credit code {row['credit_code']!r} in the register",
            )
        keys[row["key"].casefold()] = customer
    return keys


def usage_keys(customers: Sequence[Customer], mapping: Path | None) -> dict[str, Customer]:
    """With a map, its keys; without one, credit codes and customer names match directly."""
    return _lookup(customers) if mapping is None else read_customer_map(mapping, customers)


def window_start(invoices: Sequence[Invoice], as_of: date) -> date:
    """The first day the usage must come back day by day: the 30-day window's, or the day after
    the earliest customer's last invoice when that is earlier."""
    last: dict[str, date] = {}
    for invoice in invoices:
        if invoice.issue <= as_of:
            last[invoice.customer] = max(invoice.issue, last.get(invoice.customer, invoice.issue))
    first = as_of - timedelta(days=WINDOW_DAYS - 1)
    return min([first, *(day + timedelta(days=1) for day in last.values())])


def read_receivables(
    source: Path | str,
    customers: Sequence[Customer],
    mapping: Mapping[str, Customer] | None = None,
    *,
    table: str | None = None,
) -> list[Invoice]:
    """Invoices from a CSV (located errors: file:line:column), a Parquet file or a table."""
    columns = ("invoice", "customer", "issue_date", "due_date", "paid_date", "amount")
    known = {**_lookup(customers), **(mapping or {})}
    text = str(source)
    if is_url(text) or Path(text).suffix.lower() in (".parquet", ".pq", ".json"):
        from creditbook.portfolio.usage import read_table_rows

        records = read_table_rows(text, table)
        rows: _Rows = _Records(text, records, columns)
    else:
        rows = _Rows(Path(text), columns)
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
    steps: Sequence[StopLossRule] | None = None,
) -> Health:
    """`steps`: the policy's stop-loss playbook with its escalation, when already worked out."""
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
    if steps is None:
        steps = with_escalation(policy.stop_loss, policy.final_escalation)
    for step in steps:
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
    used: dict[str, list[Usage]] = {}
    for item in usage:
        used.setdefault(item.customer, []).append(item)
    billed: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        billed.setdefault(invoice.customer, []).append(invoice)
    steps = with_escalation(policy.stop_loss, policy.final_escalation)  # the same for everyone
    return [
        assess_customer(
            customer,
            used.get(customer.name, []),
            billed.get(customer.name, []),
            policy,
            as_of,
            steps,
        )
        for customer in customers
    ]


def read_book(
    usage_source: str,
    receivables: Path | str,
    customers: Sequence[Customer],
    policy: Policy,
    prices: PriceTable,
    as_of: date,
    options: Options,
    *,
    mapping: Path | None = None,
    receivables_table: str | None = None,
) -> tuple[Reading, list[Invoice]]:
    """Receivables first (they set how far back usage must come day by day), then the usage,
    aggregated where it lives."""
    keys = usage_keys(customers, mapping)
    invoices = read_receivables(
        receivables, customers, keys if mapping else None, table=receivables_table
    )
    start = window_start(invoices, as_of)
    reading = read_usage(usage_source, customers, keys, policy, prices, as_of, start, options)
    return reading, invoices


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


def unmapped_json(item: Unmapped) -> dict[str, Any]:
    return {
        "key": item.key,
        "rows": item.rows,
        "amount": float(item.amount),
        "amount_30d": float(item.amount_30d),
        "currency": item.currency or None,
        "input_mtok": float(item.input_mtok),
        "output_mtok": float(item.output_mtok),
    }


def monitor_json(results: Sequence[Health], as_of: date, unmapped: Sequence[Unmapped] = ()) -> str:
    payload = {
        "as_of": as_of.isoformat(),
        "action_needed": any(health.action_needed for health in results),
        "customers": [health_json(health) for health in results],
        "unmapped_usage": [unmapped_json(item) for item in unmapped],
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
        highlight_rule(f"${needed}2=TRUE", PatternFill("solid", bgColor=PALE_RED), None),
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


def unmapped_rows(unmapped: Sequence[Unmapped]) -> list[tuple[str, ...]]:
    """Usage no customer claims: key, rows and amount (the terminal shows it after the table)."""
    rows: list[tuple[str, ...]] = [
        ("key 用量键", "rows 行数", "amount 金额", "last 30 days 近30天")
    ]
    for item in unmapped:
        unit = f" {item.currency}" if item.currency else ""
        tokens = (
            f" + {item.input_mtok:f}/{item.output_mtok:f} Mtok"
            if item.input_mtok or item.output_mtok
            else ""
        )
        rows.append(
            (
                item.key or "(empty 空)",
                str(item.rows),
                f"{item.amount:,.2f}{unit}{tokens}",
                f"{item.amount_30d:,.2f}{unit}",
            )
        )
    return rows


def write_monitor(
    results: Sequence[Health], as_of: date, path: Path, unmapped: Sequence[Unmapped] = ()
) -> None:
    """Write by extension: .xlsx or .json."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_atomic(path, monitor_json(results, as_of, unmapped).encode("utf-8"))
    elif suffix == ".xlsx":
        write_atomic(path, monitor_xlsx(results, as_of))
    else:
        raise InputError(
            [error((str(path),), "输出须为 .xlsx 或 .json", "the output must be .xlsx or .json")]
        )
