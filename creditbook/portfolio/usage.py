"""Usage as monitor needs it: per customer and day, aggregated where it lives.

Every source format is first described as the same relation — `key` (the gateway's customer field),
`day` (days since 1970-01-01 on the reseller's clock: UTC moved by `Options.utc_offset`), `amount`
(integer money units: quota units, micro-dollars, micro-units of the stated currency),
`tin`/`tout` (integer tokens to be priced, generic files only), `provider`, `model`, `bad` (1 for
a row that cannot be read) — and then one Ibis expression (`aggregate`) groups it by key, day and
(for token-priced rows) model, summing the amount and its
high-cost part. The same
expression runs on DuckDB, SQLite, PostgreSQL, MySQL and Spark; sums are of integers, so every engine
gives the same figures, and only the grouped rows (keys × days of the window) come back into
Python, as Arrow columns. There they are added per customer and day as integers (`Spend`: running
totals), and made exact money in the customer's currency once per figure asked for.

Days older than the window (`start`, which monitor sets: the days its daily series and the walk back
for "since when" need, or back to the earliest last-invoice date) come back
as one bucket per key dated the day before the window: it counts only towards the usage of a
customer that has never been invoiced, which is what "usage since the last invoice" means there.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import accumulate
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from creditbook.core.models import ConsumptionLine, Currency, Provider
from creditbook.core.money import cents
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import error
from creditbook.portfolio.choices import QUOTA_PER_USD
from creditbook.portfolio.progress import Waiting
from creditbook.portfolio.sources import DECIMAL, Opened, open_source, scrub
from creditbook.workbook.file_io import InputError

MICRO = 1_000_000
EPOCH = date(1970, 1, 1)
WINDOW_DAYS = 30
ZERO = Decimal(0)

# The customer field of each format: the default first, then the other choices.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "generic": ("customer",),
    "new-api": ("username", "user_id", "token_name", "token_id", "group"),
    "one-api": ("username", "user_id", "token_name"),
    "litellm": ("team_id", "user", "end_user", "api_key", "organization_id"),
    "openai-costs": ("project_id", "api_key_id"),
    "anthropic-costs": ("workspace_id",),
}
LITELLM_DAILY_KEYS = {
    "LiteLLM_DailyUserSpend": "user_id",
    "LiteLLM_DailyTeamSpend": "team_id",
    "LiteLLM_DailyEndUserSpend": "end_user_id",
    "LiteLLM_DailyOrganizationSpend": "organization_id",
    "LiteLLM_DailyTagSpend": "tag",
}


@dataclass(frozen=True)
class Options:
    format: str | None = None  # None: detected
    table: str | None = None  # a database's table (default: the format's usage table)
    key_field: str | None = None  # None: the format's default customer field
    quota_per_unit: int | None = None  # None: the gateway's QuotaPerUnit option, else 500,000
    currency: Currency | None = None  # of the amounts; None: the format's (generic: the customer's)
    provider: str | None = None  # generic files without a provider column
    engine: str = "duckdb"  # for files: duckdb or spark
    utc_offset: int = 0  # seconds east of UTC where the reseller's day starts (`utc_offset`)


@dataclass(frozen=True)
class Spend:
    """One customer's usage day by day, as running totals of the engine's integer sums: the money
    of any run of days is one subtraction, made exact money once (`between`).

    Index 0 holds every day before `first` (one bucket), index i ≥ 1 the day `first` + i − 1."""

    first: date
    total: tuple[int, ...]  # total[i]: the units of the days before index i (len = days + 1)
    high: tuple[int, ...]  # the same, of the high-cost models only
    num: int  # money in the customer's currency = units × num / den, exactly
    den: int
    keys: tuple[str, ...] = ()  # the usage keys (gateway users, tokens) that named this customer
    # token volumes priced by the price table, running totals in the customer's currency
    priced: tuple[Decimal, ...] | None = None
    priced_high: tuple[Decimal, ...] | None = None

    @classmethod
    def of(
        cls,
        first: date,
        units: Sequence[int],
        high: Sequence[int],
        num: int,
        den: int,
        keys: Sequence[str] = (),
        priced: Mapping[int, tuple[Decimal, Decimal]] | None = None,
    ) -> Spend:
        """From each day's units (index 0: the days before `first`) and, by index, token-priced
        (cost, high-cost part)."""

        def running(values: Sequence[Any], zero: Any) -> tuple[Any, ...]:
            return tuple(accumulate(values, initial=zero))

        days = len(units)
        costs = high_costs = None
        if priced:
            costs = running([priced.get(i, (Decimal(0), Decimal(0)))[0] for i in range(days)], 0)
            high_costs = running(
                [priced.get(i, (Decimal(0), Decimal(0)))[1] for i in range(days)], 0
            )
        return cls(
            first,
            running(units, 0),
            running(high, 0),
            num,
            den,
            tuple(keys),
            costs,
            high_costs,
        )

    def __post_init__(self) -> None:
        # the ordinal of the date index 0 stands for, and the divisor as a Decimal, made once
        object.__setattr__(self, "_base", self.first.toordinal() - 1)
        object.__setattr__(self, "_den", Decimal(self.den))

    def _span(self, since: date | None, until: date) -> tuple[int, int]:
        """Indexes lo..hi (hi exclusive) of the days since..until (since None: from the start)."""
        days, base = len(self.total) - 1, self._base  # type: ignore[attr-defined]
        lo = 0 if since is None else min(max(0, since.toordinal() - base), days)
        hi = min(max(0, until.toordinal() - base + 1), days)
        return lo, hi if hi > lo else lo

    def between(self, since: date | None, until: date, *, high: bool = False) -> Decimal:
        """The money of the days since..until, both included, in the customer's currency."""
        lo, hi = self._span(since, until)
        totals, priced = (self.high, self.priced_high) if high else (self.total, self.priced)
        units = totals[hi] - totals[lo]
        money = Decimal(units * self.num) / self._den if units else ZERO  # type: ignore[attr-defined]
        return money + (priced[hi] - priced[lo]) if priced else money

    def cents(self, until: date, days: int) -> list[tuple[date, int]]:
        """The spend of each of the `days` up to `until` in whole minor units (cents, rounded half
        away from zero); days without spend are left out."""
        base = self.first - timedelta(days=1)
        total, num, den, series = self.total, self.num, self.den, []
        for back in range(days - 1, -1, -1):
            day = until - timedelta(days=back)
            index = (day - base).days
            if not 1 <= index < len(total):  # index 0 is the bucket of older days, not a day
                continue
            if self.priced and self.priced[index + 1] != self.priced[index]:
                series.append((day, int(cents(self.between(day, day)) * 100)))
                continue
            value = (total[index + 1] - total[index]) * num * 100
            if value:
                whole, rest = divmod(abs(value), den)
                whole += 2 * rest >= den
                series.append((day, whole if value > 0 else -whole))
        return series


@dataclass(frozen=True)
class Unmapped:
    """Usage whose key matches no customer: reported, never dropped."""

    key: str
    rows: int
    amount: Decimal  # up to the as-of date, in `currency` ("" when as stated in the file)
    amount_30d: Decimal
    currency: str
    input_mtok: Decimal = Decimal(0)  # token-priced rows (generic files)
    output_mtok: Decimal = Decimal(0)


@dataclass
class Reading:
    spend: dict[str, Spend]  # by customer name; customers without usage are absent
    unmapped: list[Unmapped]
    rows: int
    source: str  # redacted
    engine: str
    format: str
    key_field: str
    window_start: date  # the first day that came back on its own
    utc_offset: int = 0  # seconds east of UTC where each day starts


@dataclass(frozen=True)
class Described:
    """A source as the common relation, with the unit and currency of its `amount`."""

    rel: Any
    format: str
    key_field: str
    scale: int  # amount units per currency unit
    currency: Currency | None  # None: each customer's own currency


def _fail(where: str, zh: str, en: str) -> InputError:
    return InputError([error((where,), zh, en)])


def _refused(exc: Exception, source: str, opened: Opened) -> InputError:
    """The engine refused the data: the first line of its message, without the password."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    message = scrub(first, source)
    return _fail(opened.shown, f"读取失败：{message}", f"cannot read: {message}")


def _days(day: date) -> int:
    return (day - EPOCH).days


OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def utc_offset(given: str, as_of: date, where: str = "--utc-offset") -> int:
    """Seconds east of UTC: `+08:00`, `-05:30`, `UTC+8`, or a time zone name (`Asia/Shanghai`),
    which is taken at its offset on the as-of date (one offset for the whole run)."""
    text = given.strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return 0
    found = OFFSET.match(text)
    if found:
        sign, hours, minutes = found.groups()
        seconds = int(hours) * 3600 + int(minutes or 0) * 60
        if int(minutes or 0) < 60 and seconds <= 14 * 3600:
            return seconds if sign == "+" else -seconds
    else:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zone = ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is not None:
            noon = datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=zone)
            shift = noon.utcoffset()
            return int(shift.total_seconds()) if shift is not None else 0
    raise _fail(
        where,
        f"不是时区或与 UTC 的时差：{given!r}（例如 +08:00 或 Asia/Shanghai）",
        f"not a time zone or an offset from UTC: {given!r} (for example +08:00 or Asia/Shanghai)",
    )


def _local_day(seconds: Any, offset: int) -> Any:
    """The local day of a time given in seconds since 1970 (UTC)."""
    return ((seconds + offset) // 86400 if offset else seconds // 86400).cast("int64")


# ----------------------------------------------------------------------- formats


def detect(opened: Opened, options: Options) -> tuple[str, Any]:
    """The format and the table to read: as given, else from the tables or columns."""
    if opened.files:
        table = opened.read_files()
        columns = set(table.columns)
        if options.format:
            return options.format, table
        if "data" in columns and opened.kind == "json":
            results = table.data.type().value_type["results"].value_type
            amount = results["amount"]
            return ("openai-costs" if amount.is_struct() else "anthropic-costs"), table
        if {"spend", "startTime"} <= columns:
            return "litellm", table
        if {"quota", "created_at", "type", "model_name"} <= columns:
            return ("new-api" if columns & {"token_id", "other", "use_time"} else "one-api"), table
        return "generic", table
    tables = opened.tables()
    name = options.table
    if name is None:
        candidates = [t for t in ("logs", "LiteLLM_SpendLogs") if t in tables]
        if options.format == "litellm":
            candidates = [t for t in candidates if t.startswith("LiteLLM")]
        elif options.format in ("new-api", "one-api"):
            candidates = [t for t in candidates if t == "logs"]
        if len(candidates) != 1:
            raise _fail(
                opened.shown,
                "无法判断用量表，请用 --usage-table 和 --usage-format 指定",
                "cannot tell which table holds the usage: name it with --usage-table and "
                "--usage-format",
            )
        name = candidates[0]
    elif name not in tables:
        raise _fail(opened.shown, f"数据库中没有表 {name}", f"the database has no table {name}")
    table = opened.table(name)
    if options.format:
        return options.format, table
    columns = set(table.columns)
    if name.startswith("LiteLLM_"):
        return "litellm", table
    if {"quota", "created_at", "model_name"} <= columns:
        return (
            "new-api" if columns & {"token_id", "other", "use_time", "token_used"} else "one-api"
        ), table
    raise _fail(
        opened.shown,
        f"无法判断表 {name} 的格式，请用 --usage-format 指定",
        f"cannot tell the format of table {name}: give --usage-format",
    )


def describe(opened: Opened, options: Options) -> Described:
    import ibis

    fmt, table = detect(opened, options)
    choices = KEY_FIELDS[fmt]
    columns = set(table.columns)
    zero = ibis.literal(0, "int64")
    blank = ibis.literal("", "string")

    def key_of(name: str) -> Any:
        if name not in columns:
            raise _fail(
                opened.shown,
                f"没有客户字段 {name}（可选：{', '.join(choices)}）",
                f"no customer field {name} (choices: {', '.join(choices)})",
            )
        return table[name].cast("string").fill_null("")

    if fmt in ("new-api", "one-api"):
        key = options.key_field or choices[0]
        if "type" in columns:  # logs: consumption (2) and, in new-api, refunds (6) subtract
            kinds = [2, 6] if fmt == "new-api" else [2]
            table = table.filter(table.type.isin(kinds))
            amount = ibis.ifelse(table.type == 6, -table.quota, table.quota)
        else:  # quota_data: hourly consumption, no refunds
            amount = table.quota
        rel = table.select(
            key=key_of(key),
            day=_local_day(table.created_at, options.utc_offset),
            amount=amount.cast("int64"),
            tin=zero,
            tout=zero,
            provider=blank,
            model=table.model_name.fill_null(""),
            bad=zero,
        )
        unit = options.quota_per_unit or _quota_per_unit(opened)
        return Described(rel, fmt, key, unit, options.currency or Currency.USD)
    if fmt == "litellm":
        daily = next((v for k, v in LITELLM_DAILY_KEYS.items() if {v, "date"} <= columns), None)
        key = options.key_field or (daily if daily and "startTime" not in columns else choices[0])
        if "startTime" in columns:
            day = _local_day(table.startTime.epoch_seconds(), options.utc_offset)
        else:  # the daily tables: days as LiteLLM dated them
            day = table.date.substr(0, 10).cast("date").epoch_days().cast("int64")
        # spend is a float of US dollars: each row rounds half up to whole micro-dollars, so the
        # sums are integers and every engine adds them the same way.
        micro = ((table.spend * MICRO) + 0.5).floor().cast("int64")
        rel = table.select(
            key=key_of(key),
            day=day,
            amount=micro,
            tin=zero,
            tout=zero,
            provider=blank,
            model=table.model.fill_null(""),
            bad=zero,
        )
        return Described(rel, fmt, key, MICRO, options.currency or Currency.USD)
    if fmt in ("openai-costs", "anthropic-costs"):
        return _provider_export(opened, table, fmt, options)
    return _generic(opened, table, options)


def _quota_per_unit(opened: Opened) -> int:
    """The gateway's own `QuotaPerUnit` (its `options` table, as its admin set it), else the
    default 500,000 quota units a dollar."""
    if opened.files or "options" not in opened.tables():
        return QUOTA_PER_USD
    options = opened.table("options")
    if not {"key", "value"} <= set(options.columns):
        return QUOTA_PER_USD
    found = opened.backend.to_pyarrow(
        options.filter(options.key == "QuotaPerUnit").select("value")
    ).to_pylist()
    try:
        unit = Decimal(str(found[0]["value"]).strip()) if found else Decimal(QUOTA_PER_USD)
    except InvalidOperation:
        unit = Decimal(0)
    if unit <= 0 or unit != unit.to_integral_value():
        raise _fail(
            opened.shown,
            f"网关的 QuotaPerUnit 不是正整数：{found[0]['value']!r}，请用 --quota-per-unit 指定",
            f"the gateway's QuotaPerUnit is not a whole number > 0: {found[0]['value']!r}; "
            "give --quota-per-unit",
        )
    return int(unit)


def _provider_export(opened: Opened, table: Any, fmt: str, options: Options) -> Described:
    """The JSON pages the cost APIs return, saved as files: data[] buckets of results[]."""
    import ibis

    buckets = table.select(bucket=table.data.unnest())
    start = "start_time" if fmt == "openai-costs" else "starting_at"
    items = buckets.select(start=buckets.bucket[start], item=buckets.bucket.results.unnest())
    fields = items.item.type().names
    key = options.key_field or KEY_FIELDS[fmt][0]
    if key not in fields:
        raise _fail(
            opened.shown,
            f"没有客户字段 {key}（导出时需按它分组）",
            f"no customer field {key} (group the report by it when exporting)",
        )
    customer = items.item[key].cast("string").fill_null("")
    # The reports' buckets are whole days already: their dates are taken as stated.
    if fmt == "openai-costs":  # amount.value in dollars (a number); day from the bucket's Unix s
        value = items.item.amount.value.cast("float64")
        amount = ((value * MICRO) + 0.5).floor().cast("int64")
        day = (items.start.cast("int64") // 86400).cast("int64")
        model = items.item.line_item if "line_item" in fields else ibis.literal("")
    else:  # amount: a decimal string of cents; day from the bucket's RFC 3339 start
        cents = items.item.amount.cast(DECIMAL)
        amount = (cents * (MICRO // 100)).cast("int64")
        day = items.start.cast("string").substr(0, 10).cast("date").epoch_days().cast("int64")
        model = items.item.model if "model" in fields else ibis.literal("")
    zero = ibis.literal(0, "int64")
    rel = items.select(
        key=customer,
        day=day,
        amount=amount,
        tin=zero,
        tout=zero,
        provider=ibis.literal("", "string"),
        model=model.cast("string").fill_null(""),
        bad=zero,
    )
    return Described(rel, fmt, key, MICRO, options.currency or Currency.USD)


def _generic(opened: Opened, table: Any, options: Options) -> Described:
    """customer, date, [provider], [model], cost or input_mtok/output_mtok (see README)."""
    import ibis

    key = options.key_field or "customer"
    columns = set(table.columns)
    missing = [name for name in (key, "date") if name not in columns]
    if missing:
        raise _fail(
            opened.shown, f"缺少列 {', '.join(missing)}", f"missing columns {', '.join(missing)}"
        )
    if "cost" not in columns and "input_mtok" not in columns:
        raise _fail(
            opened.shown,
            "需要 cost 列或 input_mtok/output_mtok 列",
            "needs a cost column or input_mtok/output_mtok",
        )

    # Three steps, each naming its columns, so that no engine computes a cell's parse twice.
    def text(name: str) -> Any:
        column = table[name]
        return column.strip().replace(",", "").nullif("") if column.type().is_string() else column

    numbers = [name for name in ("cost", "input_mtok", "output_mtok") if name in columns]
    raw_day, offset = table.date, options.utc_offset
    if raw_day.type().is_string():
        stated = raw_day.strip()
        day = stated.substr(0, 10).try_cast("date").epoch_days().cast("int64")
        if offset:  # a time of day (read as UTC) moves to the local day; a bare date is local
            timed = (stated.length() >= 16) & stated.substr(10, 1).isin(["T", " "])
            seconds = (
                day * 86400
                + stated.substr(11, 2).try_cast("int64") * 3600
                + stated.substr(14, 2).try_cast("int64") * 60
            )
            day = ibis.ifelse(timed, _local_day(seconds, offset), day)
    elif raw_day.type().is_timestamp():
        day = (
            _local_day(raw_day.epoch_seconds(), offset)
            if offset
            else raw_day.date().epoch_days().cast("int64")
        )
    else:
        day = raw_day.epoch_days().cast("int64")
    provider = (
        table.provider.cast("string").fill_null("")
        if "provider" in columns
        else ibis.literal(options.provider or "other")
    )
    if "provider" in columns and options.provider:
        provider = ibis.ifelse(provider == "", ibis.literal(options.provider), provider)
    cells = table.select(
        key=table[key].cast("string").fill_null(""),
        day=day,
        provider=provider,
        model=(table.model.cast("string").fill_null("") if "model" in columns else ""),
        **{name: text(name) for name in numbers},
    )

    def micro(name: str) -> Any:
        """A cell as integer millionths: decimals exactly, floats rounded half up."""
        column = cells[name]
        if column.type().is_string():
            return (column.try_cast(DECIMAL) * MICRO).cast("int64")
        if column.type().is_decimal():
            return (column * MICRO).cast("int64")
        return ((column.cast("float64") * MICRO) + 0.5).floor().cast("int64")

    def unreadable(name: str) -> Any:
        """A cell given but not a number ≥ 0."""
        value = parsed[f"{name}_value"]
        return cells_given(name) & (value.isnull() | (value < 0))

    parsed = cells.select(
        "key",
        "day",
        "provider",
        "model",
        *numbers,
        **{f"{name}_value": micro(name) for name in numbers},
    )

    def cells_given(name: str) -> Any:
        return parsed[name].notnull()

    none = ibis.literal(None, "int64")
    cost = parsed.cost_value if "cost" in numbers else none
    tin = parsed.input_mtok_value if "input_mtok" in numbers else none
    tout = parsed.output_mtok_value if "output_mtok" in numbers else none
    stated = parsed.cost.notnull() if "cost" in numbers else ibis.literal(False)
    bad = parsed.day.isnull()
    if "cost" in numbers:
        bad |= unreadable("cost")
    for name in ("input_mtok", "output_mtok"):
        if name in numbers:
            bad |= ~stated & unreadable(name)
    rel = parsed.select(
        key=parsed.key,
        day=parsed.day,
        amount=ibis.ifelse(stated, cost.fill_null(0), 0).cast("int64"),
        tin=ibis.ifelse(stated, 0, tin.fill_null(0)).cast("int64"),
        tout=ibis.ifelse(stated, 0, tout.fill_null(0)).cast("int64"),
        provider=parsed.provider,
        model=parsed.model,
        bad=bad.cast("int64"),
    )
    return Described(rel, "generic", key, MICRO, options.currency)


# ------------------------------------------------------------------ aggregation


def aggregate(described: Described, as_of: date, start: date, high_models: Sequence[str]) -> Any:
    """The one aggregation, as an Ibis expression: per key, day of the window (older days as one
    bucket), cost class and priced model: integer sums and row counts."""
    import ibis

    rel = described.rel
    first, last = _days(start), _days(as_of)
    priced = (rel.tin + rel.tout) > 0
    high = rel.model.lower().isin(list(high_models)) if high_models else ibis.literal(False)
    # Days after the as-of date come back as one bucket (the day after it) that is not counted;
    # grouping them rather than filtering keeps each row's parse computed once.
    day = ibis.ifelse(rel.day > last, last + 1, ibis.ifelse(rel.day >= first, rel.day, first - 1))
    return rel.group_by(
        key=rel.key,
        day=day,
        provider=ibis.ifelse(priced, rel.provider, ""),
        model=ibis.ifelse(priced, rel.model, ""),
    ).aggregate(
        amount=rel.amount.sum(),
        high=ibis.ifelse(high, rel.amount, 0).sum(),
        tin=rel.tin.sum(),
        tout=rel.tout.sum(),
        rows=rel.count(),
        bad=rel.bad.sum(),
    )


def high_cost_models(prices: PriceTable) -> list[str]:
    return sorted({row.model.lower() for row in prices.rows if row.cost_class == "high"})


def read_usage(
    source: str,
    customers: Sequence[Any],
    keys: Mapping[str, Any],
    policy: Policy,
    prices: PriceTable,
    as_of: date,
    start: date,
    options: Options,
) -> Reading:
    """Usage from a source, per customer and day (`Spend`), and the keys no customer claims.

    `keys` maps a normalised key (stripped, casefolded) to its customer; `start` is the first day
    that must come back on its own (the window's start)."""
    with open_source(source, options.engine) as opened:
        try:
            described = describe(opened, options)
            expression = aggregate(described, as_of, start, high_cost_models(prices))
            label = f"读取用量 reading usage: {opened.shown} ({opened.engine})"
            with Waiting(label, opened.query_share):
                grouped = opened.backend.to_pyarrow(expression)
        except InputError:
            raise
        except Exception as exc:  # the engine refused the data: its first line, no password
            if opened.kind == "csv":
                located = _locate_bad(opened)
                if located is not None:
                    raise located from None
            raise _refused(exc, source, opened) from None
        columns = _columns(grouped)
        if columns["bad"].any():
            raise _locate_bad(opened) or _fail(
                opened.shown,
                "有无法读取的日期或金额（非负数）",
                "some rows have a date or amount that cannot be read (numbers must be ≥ 0)",
            )
    return _collect(
        grouped, columns, described, keys, policy, prices, as_of, start, opened, options
    )


def _columns(grouped: Any) -> dict[str, Any]:
    """The aggregation's integer sums as numpy arrays (0 where a sum had no rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return {
        name: pc.fill_null(grouped[name].cast(pa.int64()), 0).to_numpy()
        for name in ("day", "amount", "high", "tin", "tout", "rows", "bad")
    }


def _collect(
    grouped: Any,
    columns: Mapping[str, Any],
    described: Described,
    keys: Mapping[str, Any],
    policy: Policy,
    prices: PriceTable,
    as_of: date,
    start: date,
    opened: Opened,
    options: Options,
) -> Reading:
    """The grouped sums as each customer's `Spend` (integer units added per day, columnwise);
    keys no customer claims as `Unmapped`. Only the rows of token-priced models (generic files
    with token volumes) are priced one by one."""
    import numpy as np
    import pyarrow.compute as pc

    last, base = _days(as_of), _days(start) - 1  # base: the bucket of the days before `start`
    encoded = pc.dictionary_encode(grouped["key"].combine_chunks())
    names = ["" if key is None else str(key).strip() for key in encoded.dictionary.to_pylist()]
    key_of_row = encoded.indices.to_numpy(zero_copy_only=False)
    owners = [keys.get(name.casefold()) for name in names]
    customers = list({c.name: c for c in owners if c is not None}.values())
    slot = {customer.name: index for index, customer in enumerate(customers)}
    owner_of_key = np.array([-1 if c is None else slot[c.name] for c in owners] or [0], np.int64)
    day, amount, high = columns["day"], columns["amount"], columns["high"]
    counted = day <= last  # the bucket of days after as-of is left out
    owner = owner_of_key[key_of_row]
    mine = counted & (owner >= 0)
    days = last - base + 1
    units = np.zeros((len(customers), days), np.int64)
    high_units = np.zeros((len(customers), days), np.int64)
    at = (owner[mine], day[mine] - base)
    np.add.at(units, at, amount[mine])
    np.add.at(high_units, at, high[mine])
    # the usage keys that named each customer
    pairs = np.unique(owner[mine] * len(names) + key_of_row[mine])
    named: dict[int, set[str]] = {}
    for pair in pairs.tolist():
        customer, key = divmod(pair, len(names))
        if names[key]:
            named.setdefault(customer, set()).add(names[key])
    # token volumes, priced per customer, day and model
    priced: dict[int, dict[int, tuple[Decimal, Decimal]]] = {}
    tin, tout = columns["tin"], columns["tout"]
    models = grouped["model"].to_pylist()
    providers = grouped["provider"].to_pylist()
    for row in np.flatnonzero(mine & ((tin + tout) > 0)).tolist():
        customer = customers[int(owner[row])]
        volumes = Decimal(int(tin[row])) / MICRO, Decimal(int(tout[row])) / MICRO
        line = {"provider": providers[row], "model": models[row]}
        is_high, cost = _priced(line, *volumes, customer.currency, policy, prices, opened)
        days_priced = priced.setdefault(int(owner[row]), {})
        index = int(day[row]) - base
        was, was_high = days_priced.get(index, (Decimal(0), Decimal(0)))
        days_priced[index] = (was + cost, was_high + (cost if is_high else Decimal(0)))
    spend = {}
    for index, customer in enumerate(customers):
        num, den = _rate(described, customer.currency, policy)
        spend[customer.name] = Spend.of(
            start,
            units[index].tolist(),
            high_units[index].tolist(),
            num,
            den,
            sorted(named.get(index, ())),
            priced.get(index),
        )
    unmapped = _unmapped(names, key_of_row, columns, counted & (owner < 0), last, described)
    return Reading(
        spend,
        unmapped,
        int(columns["rows"][counted].sum()),
        opened.shown,
        opened.engine,
        described.format,
        described.key_field,
        start,
        options.utc_offset,
    )


def _rate(described: Described, currency: Currency, policy: Policy) -> tuple[int, int]:
    """Units of the source to money of `currency`: the exact fraction num / den (through the
    policy's base currency when the source states another currency)."""
    num, den = 1, described.scale
    source = described.currency or currency
    if source != currency:
        into_base = policy.to_base(Decimal(1), source).as_integer_ratio()
        from_base = policy.to_base(Decimal(1), currency).as_integer_ratio()
        num, den = num * into_base[0] * from_base[1], den * into_base[1] * from_base[0]
    return num, den


def _unmapped(
    names: Sequence[str],
    key_of_row: Any,
    columns: Mapping[str, Any],
    stray: Any,
    last: int,
    described: Described,
) -> list[Unmapped]:
    """Usage of keys no customer claims, per key (stripped), the largest amount first."""
    import numpy as np

    month = stray & (columns["day"] > last - WINDOW_DAYS)
    figures = (
        (columns["rows"], stray),
        (columns["amount"], stray),
        (columns["amount"], month),
        (columns["tin"], stray),
        (columns["tout"], stray),
    )
    sums: list[list[int]] = []
    for values, rows in figures:
        added = np.zeros(len(names), np.int64)
        np.add.at(added, key_of_row[rows], values[rows])
        sums.append(added.tolist())
    present = np.zeros(len(names), np.bool_)
    present[key_of_row[stray]] = True
    totals: dict[str, list[int]] = {}  # rows, units, units in 30 days, input µtok, output µtok
    for index in np.flatnonzero(present).tolist():
        entry = totals.setdefault(names[index], [0, 0, 0, 0, 0])
        for figure, per_key in enumerate(sums):
            entry[figure] += per_key[index]
    scale = Decimal(described.scale)
    unit = described.currency.value if described.currency else ""
    return [
        Unmapped(
            key,
            count,
            Decimal(amount) / scale,
            Decimal(month_amount) / scale,
            unit,
            Decimal(tin) / MICRO,
            Decimal(tout) / MICRO,
        )
        for key, (count, amount, month_amount, tin, tout) in sorted(
            totals.items(), key=lambda item: (-item[1][1], item[0])
        )
    ]


def _priced(
    row: Mapping[str, Any],
    tin: Decimal,
    tout: Decimal,
    currency: Currency,
    policy: Policy,
    prices: PriceTable,
    opened: Opened,
) -> tuple[bool, Decimal]:
    """Token volumes of one model priced by the price table: whether it is high-cost, and the
    cost in the customer's currency."""
    name = str(row["provider"] or "other")
    model = str(row["model"] or "")
    try:
        line: ConsumptionLine | None = ConsumptionLine(
            provider=Provider(name), model=model, input_mtok_month=tin, output_mtok_month=tout
        )
    except (ValueError, ValidationError):
        line = None
    price = None if line is None else prices.row_for(line, peak_only=policy.pricing.peak_only)
    if line is None or price is None:
        raise _fail(
            opened.shown,
            f"价格表中没有 {name} 的模型 {model!r}",
            f"model {model!r} of provider {name!r} is not in the price table",
        )
    cost = policy.from_base(policy.to_base(price.monthly_cost(line), price.currency), currency)
    return price.cost_class == "high", cost


# ------------------------------------------------------------ locating a bad row


def _locate_bad(opened: Opened) -> InputError | None:
    """The first unreadable cell of a CSV file, as file:line:column (the files are read again in
    Python, only on this error path)."""
    for path in opened.files if opened.kind == "csv" else ():
        problem = _first_bad_csv_cell(Path(path))
        if problem:
            return problem
    return None


def _first_bad_csv_cell(path: Path) -> InputError | None:
    reader = csv.DictReader(io.StringIO(path.read_text("utf-8-sig"), newline=""))
    header = [name.strip() for name in reader.fieldnames or ()]
    reader.fieldnames = header

    def at(line: int, column: str, zh: str, en: str) -> InputError:
        return _fail(f"{path}:{line}:{header.index(column) + 1}", zh, en)

    def number(value: str) -> Decimal | None:
        try:
            amount = Decimal(value.replace(",", "") or "0")
        except InvalidOperation:
            return None
        return amount if amount.is_finite() and amount >= 0 else None

    for raw in reader:
        line = reader.line_num
        row = {name: (value or "").strip() for name, value in raw.items() if name is not None}
        value = row.get("date", "")
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return at(line, "date", f"date 不是日期：{value!r}", f"date is not a date: {value!r}")
        columns = ["cost"] if row.get("cost") else ["input_mtok", "output_mtok"]
        for column in columns:
            value = row.get(column, "")
            if column in header and number(value) is None:
                return at(
                    line,
                    column,
                    f"{column} 不是非负数：{value!r}",
                    f"{column} is not a number ≥ 0: {value!r}",
                )
    return None


def read_table_rows(source: str, table: str | None, engine: str = "duckdb") -> list[dict[str, Any]]:
    """A small table (receivables) from a Parquet/JSON file or a database table, as dicts."""
    with open_source(source, engine) as opened:
        name = table or "receivables"
        if not opened.files and name not in opened.tables():
            raise _fail(opened.shown, f"数据库中没有表 {name}", f"the database has no table {name}")
        try:
            data = opened.read_files() if opened.files else opened.table(name)
            rows: list[dict[str, Any]] = opened.backend.to_pyarrow(data).to_pylist()
        except Exception as exc:  # the engine refused the data: its first line, no password
            raise _refused(exc, source, opened) from None
        return rows
