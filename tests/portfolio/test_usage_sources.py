"""`creditbook monitor` on usage where it lives: gateway databases with their real tables on real
SQLite and PostgreSQL servers, Parquet and JSON files, and Spark in local mode — the same figures
from every engine, unmapped usage reported, connections read-only, passwords never printed."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from cli_run import run_creditbook
from gateways import (
    AS_OF,
    CUSTOMERS,
    HANGZHOU,
    LISTED,
    LITELLM_DAILY_TEAM_PG,
    LITELLM_PG,
    LUMEN,
    NEW_API_MYSQL,
    NEW_API_PG,
    ONE_API_PG,
    QUOTA_DATA_SQLITE,
    STRANGER,
    STRANGER_DAILY_USD,
    expected,
    fill_mysql,
    fill_postgres,
    fill_sqlite,
    litellm_daily_rows,
    litellm_rows,
    log_rows,
    quota_data_rows,
    timed_rows,
    write_map,
    write_parquet,
    write_receivables,
    write_register,
)
from servers import PASSWORD, MySQL, Postgres

from creditbook.cli import main
from creditbook.portfolio.sources import open_source


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    return {
        "register": write_register(folder / "register.csv"),
        "map": write_map(folder / "customers.csv"),
        "receivables": write_receivables(folder / "ar.csv"),
        "sqlite": fill_sqlite(folder / "new-api.db", log_rows()),
        "parquet": write_parquet(folder / "logs.parquet", log_rows()),
    }


@pytest.fixture(scope="module")
def new_api_pg(postgres: Postgres) -> str:
    url = postgres.create_database("newapi")
    with postgres.connect("newapi") as con:
        fill_postgres(con, NEW_API_PG, "logs", log_rows())
    return url


def monitor(
    inputs: dict[str, Path], usage: str, tmp: Path, *extra: str, mapped: bool = True
) -> tuple[int, dict[str, Any]]:
    """monitor in this process (Spark's session is the tests' one), with the customer map unless
    `mapped` is false."""
    out = tmp / f"monitor-{len(list(tmp.iterdir()))}.json"
    code = main(
        [
            *("monitor", "--register", str(inputs["register"]), "--usage", usage),
            *("--receivables", str(inputs["receivables"])),
            *(("--customers", str(inputs["map"])) if mapped else ()),
            *("--as-of", AS_OF.isoformat(), "-o", str(out), *extra),
        ]
    )
    return code, json.loads(out.read_text("utf-8"))


def by_code(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["credit_code"]: c for c in payload["customers"]}


def check_against_generator(payload: dict[str, Any], kind: str = "new-api") -> None:
    customers = by_code(payload)
    for customer in CUSTOMERS:
        metrics = customers[customer.credit_code]["metrics"]
        for name, value in expected(customer, kind).items():
            assert metrics[name] == pytest.approx(float(value), abs=1e-9), (customer.name, name)
    stranger = {u["key"]: u for u in payload["unmapped_usage"]}[STRANGER]
    assert stranger["amount"] == STRANGER_DAILY_USD * 40 and stranger["currency"] == "USD"
    assert stranger["amount_30d"] == STRANGER_DAILY_USD * 30


# ------------------------------------------------------------- new-api logs


def test_new_api_logs_in_sqlite_consumption_net_of_refunds(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    code, payload = monitor(inputs, f"sqlite:///{inputs['sqlite']}", tmp_path)
    check_against_generator(payload)
    listed = by_code(payload)[LISTED.credit_code]
    assert listed["metrics"]["spend_vs_average"] == 2.5  # 250 USD against 100 a day
    assert [s["trigger"] for s in listed["stop_loss"]] == ["abnormal_usage"]
    hangzhou = by_code(payload)[HANGZHOU.credit_code]  # 40 days × 300 USD × 7.10, never invoiced
    assert hangzhou["metrics"]["used"] == 40 * 300 * 7.1
    assert code == 3


def test_new_api_hourly_quota_data_and_explicit_rates(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """quota_data has no refunds: the refunded 2 USD every fifth day stays counted."""
    rows = [row for row in log_rows() if row["type"] != 6]
    db = fill_sqlite(tmp_path / "qd.db", quota_data_rows(rows), QUOTA_DATA_SQLITE, "quota_data")
    url = f"sqlite:///{db}"
    code, payload = monitor(inputs, url, tmp_path, "--usage-table", "quota_data")
    hangzhou = by_code(payload)[HANGZHOU.credit_code]["metrics"]
    refunded_days = sum(1 for back in range(40) if back % 5 == 3)
    assert hangzhou["used"] == pytest.approx((40 * 300 + 2 * refunded_days) * 7.1)
    assert code == 3
    # a gateway that counts 1,000,000 quota a dollar, at a rate of 7.2
    _, payload = monitor(
        inputs,
        url,
        tmp_path,
        *("--usage-table", "quota_data", "--quota-per-unit", "1000000"),
        *("--fx", "USD=7.2"),
    )
    hangzhou = by_code(payload)[HANGZHOU.credit_code]["metrics"]
    assert hangzhou["used"] == pytest.approx((40 * 300 + 2 * refunded_days) / 2 * 7.2)
    # the same, read from the gateway's own setting (new-api's `options` table)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE `options` (`key` text, `value` text, PRIMARY KEY (`key`))")
    con.execute("INSERT INTO options VALUES ('QuotaPerUnit', '1000000'), ('Theme', 'dark')")
    con.commit()
    con.close()
    _, payload = monitor(inputs, url, tmp_path, "--usage-table", "quota_data")
    hangzhou = by_code(payload)[HANGZHOU.credit_code]["metrics"]
    assert hangzhou["used"] == pytest.approx((40 * 300 + 2 * refunded_days) / 2 * 7.1)


def test_a_negative_cost_or_unreadable_date_is_located(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    header = "customer,date,provider,model,cost"
    for cells, column, message in (
        ("2026-12-20,openai,gpt-6.1-sol,-5", 5, "cost is not a number ≥ 0: '-5'"),
        ("2026-12-32,openai,gpt-6.1-sol,5", 2, "date is not a date: '2026-12-32'"),
    ):
        usage = tmp_path / "usage.csv"
        usage.write_text(
            f"{header}\n{LISTED.credit_code},2026-12-19,openai,gpt-6.1-sol,1\n"
            f"{LISTED.credit_code},{cells}\n",
            encoding="utf-8",
        )
        ran = run_creditbook(
            *("monitor", "--register", inputs["register"], "--usage", usage),
            *("--receivables", inputs["receivables"], "--as-of", AS_OF.isoformat()),
        )
        assert ran.returncode == 2
        assert f"{usage}:3:{column}" in ran.stderr and message in ran.stderr


def test_every_engine_gives_the_same_figures(
    inputs: dict[str, Path], new_api_pg: str, mysql: MySQL, spark: Any, tmp_path: Path
) -> None:
    """DuckDB (Parquet), SQLite, PostgreSQL and MySQL (pushed down) and Spark local: one
    aggregation, the same figures, and the same actions CSV (its usage keys, and since when each
    step fired: the walk back on the per-day aggregates)."""
    new_api_mysql = mysql.create_database("newapi")
    con = mysql.connect("newapi")
    fill_mysql(con, NEW_API_MYSQL, "logs", log_rows())
    con.close()
    actions = tmp_path / "actions"
    actions.mkdir()

    def run(engine: str, usage: str, *extra: str) -> tuple[int, dict[str, Any]]:
        return monitor(inputs, usage, tmp_path, "--actions", str(actions / engine), *extra)

    runs = {
        "mysql": run("mysql", new_api_mysql),
        "duckdb": run("duckdb", str(inputs["parquet"])),
        "sqlite": run("sqlite", f"sqlite:///{inputs['sqlite']}"),
        "postgres": run("postgres", new_api_pg),
        "spark": run("spark", str(inputs["parquet"]), "--engine", "spark"),
    }
    reference = runs["duckdb"]
    check_against_generator(reference[1])
    acted = (actions / "duckdb").read_text("utf-8-sig")
    assert ",yunqi,suspend_service," in acted and ",xinghai,notify," in acted
    for engine, result in runs.items():
        assert result == reference, engine
        assert (actions / engine).read_text("utf-8-sig") == acted, engine
    # a generic CSV, stated costs and token volumes priced by the price table, on both file engines
    lines = ["customer,date,provider,model,cost,input_mtok,output_mtok"]
    for back in range(12):
        day = AS_OF.fromordinal(AS_OF.toordinal() - back)
        lines.append(f'{LUMEN.credit_code},{day},openai,gpt-6.1-sol,"1,000.50",,')
        lines.append(f"{LUMEN.credit_code},{day}T08:00:00Z,openai,gpt-6-astra,,0.75,0.125")
    generic = tmp_path / "generic.csv"
    generic.write_text("\n".join(lines) + "\n", encoding="utf-8")
    on_duckdb = monitor(inputs, str(generic), tmp_path, mapped=False)
    assert monitor(inputs, str(generic), tmp_path, "--engine", "spark", mapped=False) == on_duckdb
    lumen = by_code(on_duckdb[1])[LUMEN.credit_code]["metrics"]
    astra = 0.75 * 20 + 0.125 * 75  # USD, the long-context tier (the dearest when none is given)
    assert lumen["daily_spend"] == pytest.approx(1000.5 + astra)
    assert lumen["high_cost_share"] == pytest.approx(round(astra / (1000.5 + astra), 4))


def test_the_day_starts_at_the_utc_offset_on_every_engine(
    inputs: dict[str, Path], postgres: Postgres, mysql: MySQL, spark: Any, tmp_path: Path
) -> None:
    """A spike at 07:30 in Beijing is 23:30 UTC the day before: with --utc-offset +08:00 it is
    the as-of day's spend on every engine, and a request at 20:00 UTC on the as-of day is
    already the next day there."""
    rows = timed_rows(
        LUMEN,
        [
            (datetime(2026, 12, 19, 23, 30, tzinfo=UTC), 5),
            (datetime(2026, 12, 20, 1, 0, tzinfo=UTC), 3),
            (datetime(2026, 12, 20, 20, 0, tzinfo=UTC), 11),
        ],
    )
    pg = postgres.create_database("newapi_tz")
    with postgres.connect("newapi_tz") as con:
        fill_postgres(con, NEW_API_PG, "logs", rows)
    maria = mysql.create_database("newapi_tz")
    con = mysql.connect("newapi_tz")
    fill_mysql(con, NEW_API_MYSQL, "logs", rows)
    con.close()
    parquet = write_parquet(tmp_path / "tz.parquet", rows)
    generic = tmp_path / "tz.csv"  # the same usage as a generic file with UTC timestamps
    generic.write_text(
        "customer,date,provider,model,cost\n"
        + "".join(
            f"{LUMEN.credit_code},{at},openai,gpt-6.1-sol,{usd}\n"
            for at, usd in (
                ("2026-12-19T23:30:00Z", 5),
                ("2026-12-20 01:00:00", 3),
                ("2026-12-20T20:00:00Z", 11),
            )
        ),
        encoding="utf-8",
    )
    sources = {
        "sqlite": (f"sqlite:///{fill_sqlite(tmp_path / 'tz.db', rows)}",),
        "duckdb": (str(parquet),),
        "postgres": (pg,),
        "mysql": (maria,),
        "spark": (str(parquet), "--engine", "spark"),
        "generic": (str(generic),),
        "generic-spark": (str(generic), "--engine", "spark"),
    }

    def lumen(source: tuple[str, ...], *extra: str) -> tuple[str, float, list[str]]:
        """The day boundary the JSON states, the as-of day's spend and the last two days."""
        generic = source[0].endswith(".csv")  # its keys are credit codes: no map
        _, payload = monitor(inputs, source[0], tmp_path, *source[1:], *extra, mapped=not generic)
        found = by_code(payload)[LUMEN.credit_code]
        series = [day["spend"] for day in found["daily"][-2:]]
        return payload["utc_offset"], found["metrics"]["daily_spend"], series

    for engine, source in sources.items():
        assert lumen(source) == ("+00:00", 3 + 11, ["5.00", "14.00"]), engine
        beijing = lumen(source, "--utc-offset", "+08:00")
        assert beijing == ("+08:00", 5 + 3, ["0.00", "8.00"]), engine
    assert lumen(sources["duckdb"], "--utc-offset", "Asia/Shanghai") == beijing
    assert lumen(sources["sqlite"], "--utc-offset=-05:00") == ("-05:00", 11, ["8.00", "11.00"])
    # the policy's monitoring section sets the default
    shipped = resources.files("creditbook.data").joinpath("policy.yaml").read_text("utf-8")
    assert 'utc_offset: "+00:00"' in shipped
    policy = tmp_path / "policy.yaml"
    policy.write_text(shipped.replace('utc_offset: "+00:00"', 'utc_offset: "+08:00"'), "utf-8")
    assert lumen(sources["postgres"], "--policy", str(policy)) == beijing
    ran = run_creditbook(
        *("monitor", "--register", inputs["register"], "--usage", parquet),
        *("--receivables", inputs["receivables"], "--utc-offset", "+25:00"),
    )
    assert ran.returncode == 2 and "--utc-offset" in ran.stderr and "'+25:00'" in ran.stderr


def test_without_a_map_keys_equal_to_a_credit_code_match(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    rows = log_rows()
    for row in rows:
        if row["username"] == LUMEN.username:
            row["username"] = LUMEN.credit_code.lower()  # matched regardless of case
    usage = write_parquet(tmp_path / "logs.parquet", rows)
    out = tmp_path / "m.json"
    code = main(
        [
            *("monitor", "--register", str(inputs["register"]), "--usage", str(usage)),
            *("--receivables", str(inputs["receivables"]), "--as-of", AS_OF.isoformat()),
            *("-o", str(out)),
        ]
    )
    payload = json.loads(out.read_text("utf-8"))
    lumen = by_code(payload)[LUMEN.credit_code]["metrics"]
    assert lumen["spend_30d"] == 30 * 40  # a USD customer: no conversion
    unmapped = {u["key"] for u in payload["unmapped_usage"]}
    assert unmapped == {LISTED.username, HANGZHOU.username, STRANGER}
    assert code == 3
    ran = run_creditbook(
        *("monitor", "--register", inputs["register"], "--usage", usage),
        *("--receivables", inputs["receivables"], "--as-of", AS_OF.isoformat()),
    )
    assert "usage that matches no customer" in ran.stderr
    line = next(line for line in ran.stderr.splitlines() if line.startswith(STRANGER))
    assert f"{STRANGER_DAILY_USD * 40:,.2f} USD" in line


# ------------------------------------------------------------- PostgreSQL


def test_one_api_on_postgres_is_detected_and_reads_consumption_only(
    inputs: dict[str, Path], postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.create_database("oneapi")
    with postgres.connect("oneapi") as con:
        fill_postgres(con, ONE_API_PG, "logs", log_rows("one-api"))
    code, payload = monitor(inputs, url, tmp_path, "--json")
    check_against_generator(payload, "one-api")
    assert code == 3


def test_litellm_spend_logs_on_postgres_by_team(
    inputs: dict[str, Path], postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.create_database("litellm")
    with postgres.connect("litellm") as con:
        fill_postgres(con, LITELLM_PG, "LiteLLM_SpendLogs", litellm_rows())
    code, payload = monitor(inputs, url, tmp_path)
    check_against_generator(payload, "litellm")
    assert code == 3
    with postgres.connect("litellm") as con:  # the daily team table its update job keeps
        fill_postgres(
            con, LITELLM_DAILY_TEAM_PG, "LiteLLM_DailyTeamSpend", litellm_daily_rows(litellm_rows())
        )
    _, daily = monitor(inputs, url, tmp_path, "--usage-table", "LiteLLM_DailyTeamSpend")
    assert daily["customers"] == payload["customers"]  # the same figures, from fewer rows
    assert [u["amount"] for u in daily["unmapped_usage"]] == [STRANGER_DAILY_USD * 40]
    code, payload = monitor(inputs, url, tmp_path, "--customer-field", "user")
    keys = {item["key"] for item in payload["unmapped_usage"]}  # the map names teams, not users
    assert keys == {f"{c.username}-admin" for c in CUSTOMERS} | {f"{STRANGER}-admin"}
    assert code == 0


def test_receivables_from_a_table_and_the_connection_is_read_only(
    inputs: dict[str, Path], postgres: Postgres, mysql: MySQL, tmp_path: Path
) -> None:
    url = postgres.create_database("books")
    with postgres.connect("books") as con:
        fill_postgres(con, NEW_API_PG, "logs", log_rows())
        con.execute(
            "CREATE TABLE receivables (invoice text, customer text, issue_date date, "
            "due_date date, paid_date date, amount numeric(18, 2))"
        )
        con.execute(
            "INSERT INTO receivables VALUES ('X1', %s, '2026-12-01', '2026-12-31', NULL, 20000)",
            (LISTED.credit_code,),
        )
    out = tmp_path / "m.json"
    code = main(
        [
            *("monitor", "--register", str(inputs["register"]), "--usage", url),
            *("--receivables", url, "--customers", str(inputs["map"])),
            *("--as-of", AS_OF.isoformat(), "-o", str(out)),
        ]
    )
    payload = json.loads(out.read_text("utf-8"))
    check_against_generator(payload)
    assert by_code(payload)[LISTED.credit_code]["metrics"]["unpaid_invoices"] == 20000
    assert code == 3
    with open_source(url) as opened, pytest.raises(Exception, match="read-only transaction"):
        opened.backend.raw_sql("DELETE FROM logs")
    with (
        open_source(f"sqlite:///{inputs['sqlite']}") as opened,
        pytest.raises(Exception, match="readonly"),
    ):
        opened.backend.raw_sql("DELETE FROM logs")
    url = mysql.create_database("readonly")
    con = mysql.connect("readonly")
    con.cursor().execute("CREATE TABLE logs (id bigint)")
    con.close()
    with open_source(url) as opened, pytest.raises(Exception, match="READ ONLY transaction"):
        opened.backend.raw_sql("DELETE FROM logs")


def test_a_password_is_never_printed(
    inputs: dict[str, Path], new_api_pg: str, postgres: Postgres, tmp_path: Path
) -> None:
    common = [
        *("monitor", "--register", inputs["register"], "--receivables", inputs["receivables"]),
        *("--customers", inputs["map"], "--as-of", AS_OF.isoformat()),
    ]
    wrong = "Wr0ng-Secret-xyz"
    failed = run_creditbook(*common, "--usage", postgres.url("newapi", password=wrong))
    assert failed.returncode == 2
    assert wrong not in failed.stdout + failed.stderr
    assert f"{postgres.user}:***@127.0.0.1:{postgres.port}/newapi" in failed.stderr
    assert "password authentication failed" in failed.stderr
    # the right password from the environment: the URL is shown redacted, never the password
    os.environ["CREDITBOOK_USAGE_URL"] = new_api_pg
    try:
        out = tmp_path / "m.json"
        ran = run_creditbook(*common, "--json", "-o", out)
    finally:
        del os.environ["CREDITBOOK_USAGE_URL"]
    assert ran.returncode == 3
    assert PASSWORD not in ran.stdout + ran.stderr + out.read_text("utf-8")
    assert "creditbook:***@127.0.0.1" in ran.stderr
    check_against_generator(json.loads(ran.stdout))


# ------------------------------------------------------------- provider cost reports


def test_provider_cost_reports_as_saved_json_pages(inputs: dict[str, Path], tmp_path: Path) -> None:
    """OpenAI's organization costs (dollars, Unix-second buckets, grouped by project) and
    Anthropic's cost report (cents as decimal strings, RFC 3339 buckets, grouped by workspace)."""
    openai, anthropic = tmp_path / "openai", tmp_path / "anthropic"
    openai.mkdir()
    anthropic.mkdir()
    for page in range(2):
        buckets = []
        for back in range(page * 20, page * 20 + 20):
            day = AS_OF.toordinal() - back
            start = (day - 719163) * 86400
            usd = LISTED.spike_usd if back == 0 else LISTED.daily_usd
            results = [
                {
                    "object": "organization.costs.result",
                    "amount": {"value": usd / 2, "currency": "usd"},
                    "line_item": model,
                    "project_id": LISTED.username,
                }
                for model in ("gpt-6-astra, input", "gpt-6.1-sol, output")
            ]
            buckets.append(
                {
                    "object": "bucket",
                    "start_time": start,
                    "end_time": start + 86400,
                    "results": results,
                }
            )
        page_json = {"object": "page", "data": buckets, "has_more": page == 0, "next_page": None}
        (openai / f"page{page}.json").write_text(json.dumps(page_json))
    from datetime import date, timedelta

    buckets = []
    for back in range(40):
        day = AS_OF - timedelta(days=back)
        cents = Decimal(LUMEN.daily_usd * 100)
        buckets.append(
            {
                "starting_at": f"{day}T00:00:00Z",
                "ending_at": f"{day + timedelta(days=1)}T00:00:00Z",
                "results": [
                    {
                        "currency": "USD",
                        "amount": str(cents / 4 + Decimal("0.25")),
                        "workspace_id": LUMEN.username,
                        "description": "Claude Usage - Input Tokens",
                        "cost_type": "tokens",
                        "model": "claude-sonnet-5.5",
                    },
                    {
                        "currency": "USD",
                        "amount": str(cents * 3 / 4 - Decimal("0.25")),
                        "workspace_id": LUMEN.username,
                        "description": "Claude Usage - Output Tokens",
                        "cost_type": "tokens",
                        "model": "claude-sonnet-5.5",
                    },
                ],
            }
        )
    (anthropic / "cost_report.json").write_text(json.dumps({"data": buckets, "has_more": False}))
    _, payload = monitor(inputs, str(openai), tmp_path)
    listed = by_code(payload)[LISTED.credit_code]["metrics"]
    for name in ("daily_spend", "trailing_7d_average", "spend_30d", "unbilled_usage"):
        assert listed[name] == pytest.approx(float(expected(LISTED)[name])), name
    _, payload = monitor(inputs, str(anthropic / "cost_report.json"), tmp_path)
    assert by_code(payload)[LUMEN.credit_code]["metrics"]["spend_30d"] == 30 * LUMEN.daily_usd
    assert date.fromisoformat(payload["as_of"]) == AS_OF
