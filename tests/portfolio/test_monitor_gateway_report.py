"""From a gateway's own database to what finance and the operator see, through the real command:
new-api logs in SQLite → `creditbook monitor --usage sqlite:///… --customers … --out … --actions …`
→ the workbook's Summary order, a customer's daily series and the actions CSV, checked against the
generator's own figures (tests/portfolio/gateways.py)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from cli_run import run_creditbook
from gateways import (
    AS_OF,
    CUSTOMERS,
    DAYS,
    HANGZHOU,
    LISTED,
    LUMEN,
    STRANGER,
    STRANGER_DAILY_USD,
    Customer,
    day_amount,
    fill_sqlite,
    log_rows,
    write_map,
    write_receivables,
    write_register,
)

from creditbook.core.playbook import with_escalation
from creditbook.data import default_policy
from creditbook.portfolio.monitor import CHART_DAYS
from creditbook.portfolio.monitor_report import DAY_TABLE_ROW


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("gateway")
    db = fill_sqlite(folder / "new-api.db", log_rows())
    out, actions = folder / "report.xlsx", folder / "actions.csv"
    result = run_creditbook(
        *("monitor", "--register", write_register(folder / "register.csv")),
        *("--usage", f"sqlite:///{db}", "--customers", write_map(folder / "map.csv")),
        *("--receivables", write_receivables(folder / "ar.csv"), "--as-of", AS_OF.isoformat()),
        *("--out", out, "--actions", actions, "--lang", "en"),
    )
    return {"result": result, "out": out, "actions": actions}


def test_the_command_reads_the_gateway_and_exits_3(run: dict[str, Any]) -> None:
    result = run["result"]
    assert result.returncode == 3, result.stderr
    assert "new-api (username)" in result.stderr and "sqlite" in result.stderr
    assert STRANGER in result.stderr  # usage no customer claims is named, not dropped


def test_the_summary_puts_the_customers_needing_action_first(run: dict[str, Any]) -> None:
    """Yunqi (Hangzhou) has used 40 days × 2,130 CNY of a 51,000 limit (167 %: suspend); Xinghai
    spent 2.5 × its 7-day average today (notify); Lumen used 8 % of its limit and reached only a
    downgrade trigger (half its spend on a high-cost model, against 20 % in its application)."""
    ws = openpyxl.load_workbook(run["out"])["Summary"]
    rows = [row for row in ws.iter_rows(min_row=5, values_only=True) if row[1]]
    assert [row[1] for row in rows] == [HANGZHOU.name, LISTED.name, LUMEN.name]
    assert [row[0] for row in rows] == [
        "Act: Suspend service",
        "Act: Notify",
        "Review for downgrade",
    ]
    assert rows[0][5] == pytest.approx(40 * 2130 / 51_000, abs=1e-4)


@pytest.mark.parametrize("customer", CUSTOMERS, ids=lambda c: c.username)
def test_a_customer_sheet_draws_the_generators_spend_of_each_day(
    run: dict[str, Any], customer: Customer
) -> None:
    """The day table under the chart: each of the last 30 days' spend in cents as the generator
    made it (quota net of refunds and re-settlement, converted at the policy's fx), and the
    average of the 7 days before each."""
    ws = openpyxl.load_workbook(run["out"])[customer.name[:31]]
    table = list(
        ws.iter_rows(
            min_row=DAY_TABLE_ROW + 1, max_row=DAY_TABLE_ROW + CHART_DAYS, values_only=True
        )
    )
    first = AS_OF - timedelta(days=CHART_DAYS - 1)
    assert [row[0].date() for row in table] == [first + timedelta(days=i) for i in range(30)]
    for row in table:
        back = (AS_OF - row[0].date()).days
        assert round(Decimal(str(row[1])) * 100) == day_amount(customer, back) * 100, row
        week = sum(day_amount(customer, back + before) for before in range(1, 8))
        assert Decimal(str(row[2])) == (week / 7).quantize(Decimal("0.01")), row
        assert row[3] == customer.limit


def first_day_over(customer: Customer, threshold: Decimal) -> date:
    """The first day on which the usage since the first generated day (never invoiced) reached
    `threshold` of the limit."""
    used = Decimal(0)
    for back in range(DAYS - 1, -1, -1):
        used += day_amount(customer, back)
        if used >= threshold * customer.limit:
            return AS_OF - timedelta(days=back)
    raise AssertionError("never reached")


def test_the_actions_csv_names_the_gateway_users_and_since_when(run: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(run["actions"].read_text("utf-8-sig"))))
    assert {row["credit_code"] for row in rows} == {HANGZHOU.credit_code, LISTED.credit_code}
    for row in rows:
        owner = HANGZHOU if row["credit_code"] == HANGZHOU.credit_code else LISTED
        assert row["usage_keys"] == owner.username  # the new-api username that named it
    steps = with_escalation(default_policy().stop_loss, default_policy().final_escalation)
    over = [step for step in steps if step.trigger.value == "over_limit"]
    hangzhou = [row for row in rows if row["credit_code"] == HANGZHOU.credit_code]
    assert {row["trigger_id"] for row in hangzhou} == {"over_limit"}
    for row in hangzhou:  # the lowest step reaching the action: since it first reached its share
        step = next(s for s in over if row["action_id"] in {a.value for a in s.actions})
        assert row["since"] == first_day_over(HANGZHOU, step.threshold).isoformat(), row
    assert [(r["trigger_id"], r["action_id"], r["since"]) for r in rows if r not in hangzhou] == [
        ("abnormal_usage", "notify", AS_OF.isoformat())
    ]


def test_usage_no_customer_claims_has_its_own_sheet(run: dict[str, Any]) -> None:
    """The stranger's 40 days of 7 USD are listed by key with rows and amounts, not dropped."""
    ws = openpyxl.load_workbook(run["out"])["Unmapped"]
    rows = [row for row in ws.iter_rows(min_row=5, values_only=True) if row[0]]
    assert [(row[0], row[2], row[3], row[4]) for row in rows] == [
        (STRANGER, STRANGER_DAILY_USD * DAYS, STRANGER_DAILY_USD * 30, "USD")
    ]
    assert rows[0][1] > DAYS  # every consumption row of the 40 days was counted
