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
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from creditbook.core.governance import governance
from creditbook.core.models import (
    Action,
    Currency,
    Governance,
    Recovery,
    StopLossRule,
    Structure,
    Trigger,
)
from creditbook.core.playbook import with_escalation
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Text, error
from creditbook.portfolio.progress import Progress
from creditbook.portfolio.sources import is_url, redact
from creditbook.portfolio.usage import WINDOW_DAYS, Options, Reading, Spend, Unmapped, read_usage
from creditbook.workbook.file_io import InputError

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
        with Progress(self.path.name, self.text.count("\n")) as progress:
            for raw in self.reader:
                if None in raw:
                    self.fail(
                        self.reader.line_num, None, "字段多于表头", "more fields than the header"
                    )
                progress.advance(self.reader.line_num - progress.done)
                yield (
                    self.reader.line_num,
                    {key: (value or "").strip() for key, value in raw.items()},
                )

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


# One day's spend in the customer's currency, in exact minor units (cents).
DailySpend = tuple[date, int]
SERIES_DAYS = 37  # the daily series: 30 days shown, and the 7 days before the first one
SINCE_DAYS = 30  # how far back `since` looks
# The days the usage comes back one by one: the daily series, and the 30-day figures of every day
# the walk back for `since` assesses (the earliest, as-of − 29, looks back to as-of − 58).
DAILY_DAYS = max(SERIES_DAYS, SINCE_DAYS - 1 + WINDOW_DAYS)


def window_start(invoices: Sequence[Invoice], as_of: date) -> date:
    """The first day the usage must come back day by day: DAILY_DAYS before as-of, or the day
    after a customer's last invoice as of the earliest day `since` looks at, when that is earlier
    (usage since the last invoice is then a sum of days, on every day assessed)."""
    earliest = as_of - timedelta(days=SINCE_DAYS - 1)
    last: dict[str, date] = {}
    for invoice in invoices:
        if invoice.issue <= earliest:
            last[invoice.customer] = max(invoice.issue, last.get(invoice.customer, invoice.issue))
    first = as_of - timedelta(days=DAILY_DAYS - 1)
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
    description: Text | None = None  # a downgrade trigger's rule in words, its threshold filled in
    since: date | None = None  # the first day of the run of days up to as-of on which it fired


@dataclass(frozen=True)
class Health:
    customer: Customer
    metrics: dict[str, Decimal | int | None]
    fired: list[Fired] = field(default_factory=list)
    # the spend of each day from as-of − (SERIES_DAYS − 1) to as-of, in date order; a day without
    # usage may be left out
    daily: tuple[DailySpend, ...] = ()
    keys: tuple[str, ...] = ()  # the usage keys (gateway users, tokens) that named this customer
    last_invoice: date | None = None  # the last invoice issued up to as-of: usage counts after it

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
    customer: Customer, spend: Spend | None, invoices: Sequence[Invoice], as_of: date
) -> dict[str, Decimal | int | None]:
    issued = [invoice for invoice in invoices if invoice.issue <= as_of]
    last_issue = max((invoice.issue for invoice in issued), default=None)

    def money(since: date | None, until: date, *, high: bool = False) -> Decimal:
        return Decimal(0) if spend is None else spend.between(since, until, high=high)

    day = timedelta(days=1)
    unbilled = money(None if last_issue is None else last_issue + day, as_of)
    unpaid = [i for i in issued if i.paid is None or i.paid > as_of]
    used = unbilled + sum((invoice.amount for invoice in unpaid), Decimal(0))
    daily = money(as_of, as_of)
    week = money(as_of - 7 * day, as_of - day)
    month_start = as_of - (WINDOW_DAYS - 1) * day
    month = money(month_start, as_of)
    high = money(month_start, as_of, high=True)
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


def downgrade_rules(customer: Customer, policy: Policy) -> list[Governance]:
    """The policy's downgrade triggers with this customer's thresholds filled in (none for a
    prepaid line)."""
    if customer.structure is Structure.PREPAID:
        return []
    values = {
        "approved_limit": customer.approved_limit,
        "high_cost_share": customer.high_cost_share,
        "peak_monthly_spend": customer.peak_monthly_spend,
        "expected_monthly_spend": Decimal(0),
        "increase_headroom": Decimal(0),
    }
    return list(governance(policy.downgrade_triggers, values, customer.currency))


def assess_customer(
    customer: Customer,
    spend: Spend | None,
    invoices: Sequence[Invoice],
    as_of: date,
    rules: Sequence[Governance],
    steps: Sequence[StopLossRule],
) -> Health:
    """`rules`: `downgrade_rules` of the customer; `steps`: the policy's stop-loss playbook with
    its escalation (both the same on every day assessed)."""
    metrics = _metrics(customer, spend, invoices, as_of)
    last_invoice = max((i.issue for i in invoices if i.issue <= as_of), default=None)
    health = Health(customer, metrics, last_invoice=last_invoice)
    for rule in rules:
        metric, inclusive = DOWNGRADE_METRICS.get(rule.id, ("", False))
        value = metrics.get(metric)
        if value is not None and (value >= rule.threshold if inclusive else value > rule.threshold):
            health.fired.append(
                Fired(
                    "downgrade",
                    rule.id,
                    rule.threshold,
                    Decimal(value),
                    description=rule.description,
                )
            )
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


def daily_series(spend: Spend | None, as_of: date) -> tuple[DailySpend, ...]:
    """Each day's spend over the SERIES_DAYS up to as-of, in cents (days without spend left out)."""
    return () if spend is None else tuple(spend.cents(as_of, SERIES_DAYS))


CHART_DAYS = 30  # the days a customer's sheet and the JSON show; the series holds 7 more


@dataclass(frozen=True)
class Day:
    day: date
    spend: Decimal  # in the customer's currency, to the cent
    average: Decimal  # of the 7 days before, as the monitor computes its trailing average


def chart_days(health: Health, as_of: date) -> list[Day]:
    """The CHART_DAYS up to as-of, each with its trailing 7-day average (days without usage 0)."""
    cents = dict(health.daily)
    first = as_of - timedelta(days=CHART_DAYS - 1)
    days = []
    for offset in range(CHART_DAYS):
        day = first + timedelta(days=offset)
        week = sum(cents.get(day - timedelta(days=back), 0) for back in range(1, 8))
        average = (Decimal(week) / 100 / 7).quantize(Decimal("0.01"))
        days.append(Day(day, Decimal(cents.get(day, 0)) / 100, average))
    return days


def with_since(health: Health, history: Callable[[date], Health], as_of: date) -> Health:
    """Each fired item with the first day of its run up to as-of (at most SINCE_DAYS back):
    `history(day)` is the customer assessed as of that day."""
    firing = {(item.kind, item.id, item.threshold): as_of for item in health.fired}
    open_runs = set(firing)
    for back in range(1, SINCE_DAYS):
        if not open_runs:
            break
        day = as_of - timedelta(days=back)
        fired_then = {(item.kind, item.id, item.threshold) for item in history(day).fired}
        for run in list(open_runs):
            if run in fired_then:
                firing[run] = day
            else:
                open_runs.discard(run)
    fired = [
        replace(item, since=firing[(item.kind, item.id, item.threshold)]) for item in health.fired
    ]
    return replace(health, fired=fired)


def monitor(
    customers: Sequence[Customer],
    spend: Mapping[str, Spend],
    invoices: Sequence[Invoice],
    policy: Policy,
    as_of: date,
) -> list[Health]:
    """Each customer assessed as of `as_of`, with since when each fired item has fired: the
    spend's running totals make every day's figures a few subtractions."""
    billed: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        billed.setdefault(invoice.customer, []).append(invoice)
    steps = with_escalation(policy.stop_loss, policy.final_escalation)  # the same for everyone
    results = []
    terms: dict[Customer, list[Governance]] = {}  # customers with the same terms share their rules
    for customer in customers:
        mine, bills = spend.get(customer.name), billed.get(customer.name, [])
        term = replace(customer, name="", credit_code="")
        rules = terms.get(term)
        if rules is None:
            rules = terms[term] = downgrade_rules(customer, policy)

        def history(
            day: date,
            who: Customer = customer,
            mine: Spend | None = mine,
            bills: list[Invoice] = bills,
            rules: list[Governance] = rules,
        ) -> Health:
            return assess_customer(who, mine, bills, day, rules, steps)

        health = with_since(history(as_of), history, as_of)
        keys = mine.keys if mine else ()
        results.append(replace(health, daily=daily_series(mine, as_of), keys=keys))
    return results


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


def offset_text(seconds: int) -> str:
    """Seconds east of UTC as ±HH:MM."""
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{'-' if seconds < 0 else '+'}{hours:02d}:{minutes:02d}"


def health_json(health: Health, as_of: date) -> dict[str, Any]:
    """One customer. The figures under `metrics` are JSON numbers (as before); the fields added
    since — usage keys, the last invoice, the daily series — give money as exact decimal
    strings, to the cent."""
    customer = health.customer
    day = timedelta(days=1)
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
        "usage_keys": list(health.keys),
        "last_invoice_date": health.last_invoice.isoformat() if health.last_invoice else None,
        # the first day of the usage counted as unbilled; None: all usage read (never invoiced)
        "unbilled_since": (health.last_invoice + day).isoformat() if health.last_invoice else None,
        "daily": [
            {
                "date": item.day.isoformat(),
                "spend": f"{item.spend:.2f}",
                "trailing_7d_average": f"{item.average:.2f}",
            }
            for item in chart_days(health, as_of)
        ],
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


def monitor_json(
    results: Sequence[Health],
    as_of: date,
    unmapped: Sequence[Unmapped] = (),
    utc_offset: int = 0,
) -> str:
    payload = {
        "as_of": as_of.isoformat(),
        "utc_offset": offset_text(utc_offset),  # where each day of the usage starts
        "action_needed": any(health.action_needed for health in results),
        "customers": [health_json(health, as_of) for health in results],
        "unmapped_usage": [unmapped_json(item) for item in unmapped],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)
