"""Gateway databases as the gateways create them, filled with generated usage.

The tables carry the column names and types of the projects' model definitions (read from their
public sources): new-api `model/log.go` (GORM: Go int → bigint in PostgreSQL, integer in SQLite;
`group` quoted), one-api `model/log.go`, LiteLLM `schema.prisma` / its PostgreSQL migration
(`"LiteLLM_SpendLogs"`, quoted camel-case columns, TIMESTAMP(3), DOUBLE PRECISION, JSONB).

The generated usage holds what a gateway really writes besides consumption: top-ups (type 1), admin
changes (3), system gifts (4), errors with quota 0 (5; one-api's "test" type), refunds (new-api
type 6, a positive quota to subtract) and a negative re-settlement delta (type 2). `expected`
computes what monitor must report from the same rows, independently of the engine.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from creditbook.portfolio.register import REGISTER_COLUMNS

AS_OF = date(2026, 12, 20)
QUOTA_PER_USD = 500_000
FX_USD = Decimal("7.10")

NEW_API_PG = """
CREATE TABLE logs (
    id bigserial PRIMARY KEY,
    user_id bigint,
    created_at bigint,
    type bigint,
    content text,
    username text DEFAULT '',
    token_name text DEFAULT '',
    model_name text DEFAULT '',
    quota bigint DEFAULT 0,
    prompt_tokens bigint DEFAULT 0,
    completion_tokens bigint DEFAULT 0,
    use_time bigint DEFAULT 0,
    is_stream boolean,
    channel_id bigint,
    token_id bigint DEFAULT 0,
    "group" text,
    ip text DEFAULT '',
    other text
);
CREATE INDEX idx_created_at_id ON logs (id, created_at);
CREATE INDEX idx_created_at_type ON logs (created_at, type);
CREATE INDEX index_username_model_name ON logs (model_name, username);
CREATE INDEX idx_logs_user_id ON logs (user_id);
CREATE INDEX idx_logs_username ON logs (username);
CREATE INDEX idx_logs_token_name ON logs (token_name);
CREATE INDEX idx_logs_model_name ON logs (model_name);
CREATE INDEX idx_logs_channel_id ON logs (channel_id);
CREATE INDEX idx_logs_token_id ON logs (token_id);
CREATE INDEX idx_logs_group ON logs ("group");
CREATE INDEX idx_logs_ip ON logs (ip);
"""

NEW_API_SQLITE = """
CREATE TABLE `logs` (
    `id` integer PRIMARY KEY AUTOINCREMENT,
    `user_id` integer,
    `created_at` integer,
    `type` integer,
    `content` text,
    `username` text DEFAULT '',
    `token_name` text DEFAULT '',
    `model_name` text DEFAULT '',
    `quota` integer DEFAULT 0,
    `prompt_tokens` integer DEFAULT 0,
    `completion_tokens` integer DEFAULT 0,
    `use_time` integer DEFAULT 0,
    `is_stream` numeric,
    `channel_id` integer,
    `token_id` integer DEFAULT 0,
    `group` text,
    `ip` text DEFAULT '',
    `other` text
);
CREATE INDEX `idx_created_at_type` ON `logs`(`created_at`,`type`);
CREATE INDEX `idx_logs_username` ON `logs`(`username`);
"""

# GORM on MySQL: an indexed or defaulted string is varchar(191), other strings longtext; `group`
# is a reserved word.
NEW_API_MYSQL = """
CREATE TABLE `logs` (
    `id` bigint AUTO_INCREMENT,
    `user_id` bigint,
    `created_at` bigint,
    `type` bigint,
    `content` longtext,
    `username` varchar(191) DEFAULT '',
    `token_name` varchar(191) DEFAULT '',
    `model_name` varchar(191) DEFAULT '',
    `quota` bigint DEFAULT 0,
    `prompt_tokens` bigint DEFAULT 0,
    `completion_tokens` bigint DEFAULT 0,
    `use_time` bigint DEFAULT 0,
    `is_stream` boolean,
    `channel_id` bigint,
    `token_id` bigint DEFAULT 0,
    `group` varchar(191),
    `ip` varchar(191) DEFAULT '',
    `other` longtext,
    PRIMARY KEY (`id`),
    INDEX `idx_created_at_id` (`id`, `created_at`),
    INDEX `idx_created_at_type` (`created_at`, `type`),
    INDEX `index_username_model_name` (`model_name`, `username`),
    INDEX `idx_logs_user_id` (`user_id`),
    INDEX `idx_logs_username` (`username`),
    INDEX `idx_logs_group` (`group`)
) DEFAULT CHARSET=utf8mb4
"""

ONE_API_PG = """
CREATE TABLE logs (
    id bigserial PRIMARY KEY,
    user_id bigint,
    created_at bigint,
    type bigint,
    content text,
    username text DEFAULT '',
    token_name text DEFAULT '',
    model_name text DEFAULT '',
    quota bigint DEFAULT 0,
    prompt_tokens bigint DEFAULT 0,
    completion_tokens bigint DEFAULT 0,
    channel_id bigint,
    request_id text DEFAULT '',
    elapsed_time bigint DEFAULT 0,
    is_stream boolean DEFAULT false,
    system_prompt_reset boolean DEFAULT false
);
CREATE INDEX idx_created_at_type ON logs (created_at, type);
CREATE INDEX index_username_model_name ON logs (model_name, username);
"""

LITELLM_PG = """
CREATE TABLE "LiteLLM_SpendLogs" (
    "request_id" TEXT NOT NULL,
    "call_type" TEXT NOT NULL,
    "api_key" TEXT NOT NULL DEFAULT '',
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3) NOT NULL,
    "request_duration_ms" INTEGER,
    "completionStartTime" TIMESTAMP(3),
    "model" TEXT NOT NULL DEFAULT '',
    "model_id" TEXT DEFAULT '',
    "model_group" TEXT DEFAULT '',
    "custom_llm_provider" TEXT DEFAULT '',
    "api_base" TEXT DEFAULT '',
    "user" TEXT DEFAULT '',
    "metadata" JSONB DEFAULT '{}',
    "cache_hit" TEXT DEFAULT '',
    "cache_key" TEXT DEFAULT '',
    "request_tags" JSONB DEFAULT '[]',
    "team_id" TEXT,
    "organization_id" TEXT,
    "end_user" TEXT,
    "requester_ip_address" TEXT,
    "messages" JSONB DEFAULT '{}',
    "response" JSONB DEFAULT '{}',
    "session_id" TEXT,
    "status" TEXT,
    "proxy_server_request" JSONB DEFAULT '{}',
    "mcp_namespaced_tool_name" TEXT,
    "agent_id" TEXT,
    CONSTRAINT "LiteLLM_SpendLogs_pkey" PRIMARY KEY ("request_id")
);
CREATE INDEX "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");
CREATE INDEX "LiteLLM_SpendLogs_end_user_idx" ON "LiteLLM_SpendLogs"("end_user");
"""


@dataclass(frozen=True)
class Customer:
    name: str
    credit_code: str
    currency: str
    limit: int
    username: str  # the gateway's user
    daily_usd: int  # steady consumption a day
    spike_usd: int  # consumption on the as-of day


LISTED = Customer(
    "上海星海科技股份有限公司", "91310000MA1FL7JF8P", "CNY", 100_000, "xinghai", 100, 250
)
HANGZHOU = Customer(
    "杭州云栖智能客服有限公司", "91330100MA27XF6T2T", "CNY", 51_000, "yunqi", 300, 300
)
LUMEN = Customer("Lumen Analytics Pte. Ltd.", "LUMEN-SG-001", "USD", 20_000, "lumen", 40, 40)
CUSTOMERS = (LISTED, HANGZHOU, LUMEN)
STRANGER = "ghost-user"  # consumes, but is in neither the map nor the register
STRANGER_DAILY_USD = 7
DAYS = 40  # of history up to the as-of day
MODELS = ("gpt-6-astra", "gpt-6.1-sol", "deepseek-v4")  # gpt-6-astra is high-cost in the table


def write_register(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, REGISTER_COLUMNS)
        out.writeheader()
        for customer in CUSTOMERS:
            out.writerow(
                {
                    "customer": customer.name,
                    "credit_code": customer.credit_code,
                    "decision": "approve",
                    "tier": "T2",
                    "approved_limit": customer.limit,
                    "currency": customer.currency,
                    "approved_limit_base": customer.limit,
                    "structure": "monthly_settlement",
                    "required_deposit": 0,
                    "unsecured_exposure": customer.limit,
                    "unsecured_exposure_base": customer.limit,
                    "high_cost_share": "0.2",
                    "peak_monthly_spend": customer.daily_usd * 40,
                    "next_review_date": "2027-06-01",
                    "days_to_review": 163,
                    "review": "ok",
                    "status": "evaluated",
                    "verify_status": "unchanged",
                    "policy_status": "official",
                    "verify_failing": "",
                    "file": f"{customer.username}.xlsm",
                }
            )
    return path


def write_map(path: Path) -> Path:
    lines = ["key,credit_code", *(f"{c.username},{c.credit_code}" for c in CUSTOMERS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_receivables(path: Path) -> Path:
    """Xinghai invoiced on 1 December (unpaid, not yet due): its usage counts from 2 December."""
    path.write_text(
        "invoice,customer,issue_date,due_date,paid_date,amount\n"
        f"X1,{LISTED.credit_code},2026-12-01,2026-12-31,,20000\n",
        encoding="utf-8",
    )
    return path


def _unix(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp())


def log_rows(kind: str = "new-api") -> list[dict[str, Any]]:
    """Rows of the `logs` table: per user and day four requests (models in turn), one refund every
    fifth day (new-api), a negative re-settlement delta, top-ups, gifts and errors."""
    rows: list[dict[str, Any]] = []
    users = [(c.username, c.daily_usd, c.spike_usd, i + 1) for i, c in enumerate(CUSTOMERS)]
    users.append((STRANGER, STRANGER_DAILY_USD, STRANGER_DAILY_USD, 99))
    for username, daily, spike, user_id in users:
        for back in range(DAYS):
            day = AS_OF - timedelta(days=back)
            usd = spike if back == 0 else daily
            quota = usd * QUOTA_PER_USD
            parts = [quota // 4] * 3 + [quota - 3 * (quota // 4)]
            refund = back % 5 == 3 and kind == "new-api"
            if refund:  # a consumption of 2 USD more, then refunded
                parts[0] += 2 * QUOTA_PER_USD
            for n, part in enumerate(parts):
                rows.append(_log(kind, user_id, username, day, 1 + 5 * n, 2, part, MODELS[n % 3]))
            if refund:
                rows.append(_log(kind, user_id, username, day, 21, 6, 2 * QUOTA_PER_USD, MODELS[0]))
            if back == 10:  # a task pre-charged 0.5 USD too much, settled by a negative delta
                rows[-1 if not refund else -2]["quota"] += QUOTA_PER_USD // 2
                delta = _log(kind, user_id, username, day, 22, 2, -QUOTA_PER_USD // 2, MODELS[0])
                rows.append(delta)
            rows.append(_log(kind, user_id, username, day, 23, 5, 0, MODELS[2]))  # an error
        rows.append(_log(kind, user_id, username, AS_OF - timedelta(days=3), 9, 1, 10**10, ""))
        rows.append(_log(kind, user_id, username, AS_OF - timedelta(days=2), 9, 3, 10**9, ""))
        rows.append(_log(kind, user_id, username, AS_OF - timedelta(days=1), 9, 4, 10**9, ""))
    # usage after the as-of day is not counted
    rows.append(_log(kind, 1, LISTED.username, AS_OF + timedelta(days=1), 1, 2, 10**9, MODELS[0]))
    return rows


def timed_rows(customer: Customer, usage: Sequence[tuple[datetime, int]]) -> list[dict[str, Any]]:
    """new-api `logs` rows of one customer's consumption: (UTC time, US dollars) each."""
    rows = []
    for at, usd in usage:
        row = _log("new-api", 3, customer.username, at.date(), 0, 2, usd * QUOTA_PER_USD, MODELS[1])
        row["created_at"] = int(at.timestamp())
        rows.append(row)
    return rows


def _log(
    kind: str, user_id: int, username: str, day: date, hour: int, type_: int, quota: int, model: str
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "user_id": user_id,
        "created_at": _unix(day, hour),
        "type": type_,
        "content": "",
        "username": username,
        "token_name": f"{username}-key",
        "model_name": model,
        "quota": quota,
        "prompt_tokens": 1000 if type_ == 2 else 0,
        "completion_tokens": 200 if type_ == 2 else 0,
        "channel_id": 1,
        "is_stream": False,
    }
    if kind == "new-api":
        row.update(use_time=1, token_id=user_id * 10, group="default", ip="", other="{}")
    else:
        row.update(
            request_id=f"r{user_id}-{day}-{hour}", elapsed_time=120, system_prompt_reset=False
        )
    return row


def fill_sqlite(
    path: Path, rows: Sequence[dict[str, Any]], ddl: str = NEW_API_SQLITE, table: str = "logs"
) -> Path:
    con = sqlite3.connect(path)
    con.executescript(ddl)
    columns = list(rows[0])
    quoted = ", ".join(f"`{c}`" for c in columns)
    con.executemany(
        f"INSERT INTO `{table}` ({quoted}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(row[c] for c in columns) for row in rows],
    )
    con.commit()
    con.close()
    return path


def fill_postgres(con: Any, ddl: str, table: str, rows: Sequence[dict[str, Any]]) -> None:
    con.execute(ddl)
    columns = list(rows[0])
    quoted = ", ".join(f'"{c}"' for c in columns)
    with con.cursor() as cursor:
        cursor.executemany(
            f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join(["%s"] * len(columns))})',
            [tuple(row[c] for c in columns) for row in rows],
        )


def write_parquet(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(list(rows)), path)
    return path


def litellm_rows() -> list[dict[str, Any]]:
    """Per team and day three requests with float USD spend; a failed request with spend 0."""
    import json

    rows: list[dict[str, Any]] = []
    teams = [(c.username, c.daily_usd, c.spike_usd) for c in CUSTOMERS]
    teams.append((STRANGER, STRANGER_DAILY_USD, STRANGER_DAILY_USD))
    for team, daily, spike in teams:
        for back in range(DAYS):
            day = AS_OF - timedelta(days=back)
            usd = Decimal(spike if back == 0 else daily)
            # three floats that add to the day's dollars once each is rounded to micro-dollars
            parts = [usd * Decimal("0.3333334"), usd * Decimal("0.3333333")]
            parts.append(usd - sum(parts))
            for n, part in enumerate([*parts, Decimal(0)]):
                start = datetime(day.year, day.month, day.day, 2 + n * 6, 30)
                rows.append(
                    {
                        "request_id": f"{team}-{day}-{n}",
                        "call_type": "acompletion",
                        "api_key": f"hashed-{team}",
                        "spend": float(part),
                        "total_tokens": 1200,
                        "prompt_tokens": 1000,
                        "completion_tokens": 200,
                        "startTime": start,
                        "endTime": start + timedelta(seconds=3),
                        "model": MODELS[n % 3],
                        "model_group": MODELS[n % 3],
                        "custom_llm_provider": "openai",
                        "user": f"{team}-admin",
                        "metadata": json.dumps({"user_api_key_alias": team}),
                        "team_id": team,
                        "end_user": None,
                        "status": "failure" if n == 3 else "success",
                    }
                )
    return rows


def day_amount(customer: Customer, back: int) -> Decimal:
    """The customer's net consumption on the day `back` days before as-of, in its currency (zero
    before the generated history)."""
    if back >= DAYS:
        return Decimal(0)
    rate = FX_USD if customer.currency == "CNY" else Decimal(1)
    return Decimal(customer.spike_usd if back == 0 else customer.daily_usd) * rate


def expected(customer: Customer, kind: str = "new-api") -> dict[str, Decimal]:
    """What monitor must find, in the customer's currency, from the generator's own figures."""

    def on(back: int) -> Decimal:
        return day_amount(customer, back)

    daily = on(0)
    week = sum((on(back) for back in range(1, 8)), Decimal(0))
    month = sum((on(back) for back in range(30)), Decimal(0))
    last_invoice_back = (AS_OF - date(2026, 12, 1)).days if customer is LISTED else DAYS
    unbilled = sum((on(back) for back in range(min(last_invoice_back, DAYS))), Decimal(0))
    return {
        "daily_spend": daily,
        "trailing_7d_average": (week / 7).quantize(Decimal("0.01")),
        "spend_30d": month,
        "unbilled_usage": unbilled,
        # two of the four requests a day (equal parts) are on gpt-6-astra, a high-cost model
        "high_cost_share": Decimal("0.5") if kind != "litellm" else Decimal("0.3333"),
    }


QUOTA_DATA_SQLITE = """
CREATE TABLE `quota_data` (
    `id` integer PRIMARY KEY AUTOINCREMENT,
    `user_id` integer,
    `username` text DEFAULT '',
    `model_name` text DEFAULT '',
    `created_at` integer,
    `token_used` integer DEFAULT 0,
    `count` integer DEFAULT 0,
    `quota` integer DEFAULT 0
);
CREATE INDEX `idx_qdt_model_user_name` ON `quota_data`(`model_name`,`username`);
CREATE INDEX `idx_qdt_created_at` ON `quota_data`(`created_at`);
"""

LITELLM_DAILY_TEAM_PG = """
CREATE TABLE "LiteLLM_DailyTeamSpend" (
    "id" TEXT NOT NULL,
    "team_id" TEXT,
    "date" TEXT NOT NULL,
    "api_key" TEXT NOT NULL,
    "model" TEXT,
    "model_group" TEXT,
    "custom_llm_provider" TEXT,
    "mcp_namespaced_tool_name" TEXT,
    "endpoint" TEXT,
    "prompt_tokens" BIGINT NOT NULL DEFAULT 0,
    "completion_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_read_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_creation_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "api_requests" BIGINT NOT NULL DEFAULT 0,
    "successful_requests" BIGINT NOT NULL DEFAULT 0,
    "failed_requests" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "LiteLLM_DailyTeamSpend_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "LiteLLM_DailyTeamSpend_date_idx" ON "LiteLLM_DailyTeamSpend"("date");
"""


def quota_data_rows(logs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """new-api's hourly aggregates of the consumption rows (type 2 only: refunds never reach it)."""
    hours: dict[tuple[int, str, str, int], dict[str, Any]] = {}
    for row in logs:
        if row["type"] != 2:
            continue
        hour = row["created_at"] - row["created_at"] % 3600
        key = (row["user_id"], row["username"], row["model_name"], hour)
        slot = hours.setdefault(
            key,
            {
                "user_id": key[0],
                "username": key[1],
                "model_name": key[2],
                "created_at": hour,
                "token_used": 0,
                "count": 0,
                "quota": 0,
            },
        )
        slot["token_used"] += row["prompt_tokens"] + row["completion_tokens"]
        slot["count"] += 1
        slot["quota"] += row["quota"]
    return list(hours.values())


def litellm_daily_rows(spend_logs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """LiteLLM's daily team table, as its update job fills it from the spend logs."""
    days: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in spend_logs:
        key = (row["team_id"], row["startTime"].date().isoformat(), row["model"])
        slot = days.setdefault(
            key,
            {
                "id": "-".join(key),
                "team_id": key[0],
                "date": key[1],
                "api_key": row["api_key"],
                "model": key[2],
                "custom_llm_provider": "openai",
                "spend": 0.0,
                "api_requests": 0,
                "updated_at": datetime(2026, 12, 21),
            },
        )
        slot["spend"] += row["spend"]
        slot["api_requests"] += 1
    return list(days.values())


def fill_mysql(con: Any, ddl: str, table: str, rows: Sequence[dict[str, Any]]) -> None:
    cursor = con.cursor()
    cursor.execute(ddl)
    columns = list(rows[0])
    quoted = ", ".join(f"`{c}`" for c in columns)
    cursor.executemany(
        f"INSERT INTO `{table}` ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})",
        [tuple(row[c] for c in columns) for row in rows],
    )
    con.commit()
