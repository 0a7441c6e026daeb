"""What finance sees from `creditbook monitor`: the workbook (Summary with bars, one sheet per
customer with its line chart), the actions CSV, the terminal table and its progress bar, on the
demo book's register and generated usage, through the real command."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from cli_run import ROOT, run_creditbook
from lo import convert, needs_soffice
from openpyxl.chart import LineChart
from usage_csv import daily, write_csv

from creditbook.cli import main
from creditbook.core.models import Currency, Structure
from creditbook.data import default_policy
from creditbook.portfolio.monitor import Customer, Spend, monitor
from creditbook.portfolio.monitor_report import actions_csv, sheet_names, write_monitor
from creditbook.portfolio.progress import Progress, Waiting

AS_OF = date(2026, 12, 20)
LISTED, SUZHOU, HANGZHOU = "91310000MA1FL7JF8P", "91320000MA1N4B2K88", "91330100MA27XF6T2T"
UNIVERSITY, STATE_OWNED = "123100004250061179", "91110000710935732K"
HANGZHOU_NAME = "杭州云栖智能客服有限公司"
USAGE_HEADER = "customer,date,provider,model,cost,input_mtok,output_mtok"
AR_HEADER = "invoice,customer,issue_date,due_date,paid_date,amount"


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("book")
    assert main(["demo", "--out", str(root / "approved"), "--jobs", "2"]) == 0
    out = root / "register.csv"
    assert (
        main(["register", str(root), "-o", str(out), "--as-of", "2026-12-20", "--no-verify"]) == 0
    )
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """40 days of usage: Hangzhou past its 51,000 limit for days, a spike for the listed company
    and the university, a steady state-owned customer; Suzhou 10 days past due."""
    folder = tmp_path_factory.mktemp("usage")
    usage = write_csv(
        folder / "usage.csv",
        USAGE_HEADER,
        daily(HANGZHOU, ["1500"] * 40, AS_OF)  # 10 days unbilled (15,000) + the unpaid 46,000
        + daily(LISTED, ["1000.10"] * 39 + ["2500"], AS_OF)  # 2.5 × the 7-day average today
        + daily(UNIVERSITY, ["1000"] * 39 + ["3500"], AS_OF)  # 3.5 ×
        + daily(STATE_OWNED, ["2000"] * 40, AS_OF)  # steady: nothing fires
        + ["Lumen Analytics Pte. Ltd.,2026-12-19,anthropic,claude-sonnet-5.5,,10,2"],
    )
    receivables = write_csv(
        folder / "ar.csv",
        AR_HEADER,
        [
            f"H1,{HANGZHOU},2026-12-10,2027-01-09,,46000",
            f"S1,{SUZHOU},2026-10-01,2026-10-31,2026-11-05,40000",
            f"S2,{SUZHOU},2026-11-01,2026-12-10,,50000",
            f"G1,{STATE_OWNED},2026-11-01,2026-12-01,2026-11-28,60000",
        ],
    )
    return usage, receivables


@pytest.fixture(scope="module")
def run(
    register: Path, inputs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The real command, once per language, writing the workbook, the actions and the JSON."""
    out = tmp_path_factory.mktemp("monitor")
    usage, receivables = inputs
    results: dict[str, Any] = {}
    for lang in ("zh", "en"):
        args = ("monitor", "--register", register, "--usage", usage, "--receivables", receivables)
        result = run_creditbook(
            *args,
            *("--as-of", AS_OF.isoformat(), "--lang", lang),
            *("-o", out / f"monitor-{lang}.xlsx", "--actions", out / f"actions-{lang}.csv"),
        )
        results[lang] = result
    results["json"] = run_creditbook(
        *("monitor", "--register", register, "--usage", usage, "--receivables", receivables),
        *("--as-of", AS_OF.isoformat(), "--json"),
    )
    results["out"] = out
    return results


def summary_rows(path: Path) -> list[tuple[Any, ...]]:
    ws = openpyxl.load_workbook(path)["Summary"]
    return [row for row in ws.iter_rows(min_row=5, values_only=True) if row[1]]


# --------------------------------------------------------------------------- workbook


def test_summary_puts_the_customers_needing_action_first(run: dict[str, Any]) -> None:
    assert run["en"].returncode == 3, run["en"].stderr  # an action is needed: exit 3 stays
    rows = summary_rows(run["out"] / "monitor-en.xlsx")
    ws = openpyxl.load_workbook(run["out"] / "monitor-en.xlsx")["Summary"]
    headers = [cell.value for cell in ws[4]]
    assert headers == [
        "Status",
        "Customer",
        "Credit code",
        "Approved limit",
        "Used (incl. unbilled)",
        "Limit used",
        "Day ÷ average",
        "Days past due",
        "Reached",
        "Actions",
        "Since",
        "Details",
    ]
    status = {row[2] or row[1]: row[0] for row in rows}
    assert status[UNIVERSITY] == "Act: Rate limit"  # 3.5 × reaches the rate limit step
    assert status[HANGZHOU] == "Act: Disable high-cost models"  # past 100 % of its limit
    assert status[SUZHOU] == "Act: Notify"  # 10 days past due: the first overdue step
    assert status[STATE_OWNED] == "OK"
    order = [row[2] or row[1] for row in rows]
    # severity, then utilisation: Suzhou's unpaid 50,000 is 16.7 % of its line, the listed
    # company's 41,504 is 5.2 %
    assert order[:4] == [UNIVERSITY, HANGZHOU, SUZHOU, LISTED]
    assert order.index(STATE_OWNED) > 3
    utilisation = [row[5] for row in rows]
    assert utilisation[1] == pytest.approx(61000 / 51000, abs=1e-4)
    ok = [row for row in rows if row[0] == "OK"]
    shares = [row[5] for row in ok if row[5] is not None]
    assert shares == sorted(shares, reverse=True)  # within a severity, the fullest line first


def test_utilisation_is_a_data_bar_and_rows_link_to_their_sheets(run: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(run["out"] / "monitor-en.xlsx")
    ws = wb["Summary"]
    assert ws["F4"].value == "Limit used"
    bars = [
        (str(ranges.sqref), rule)
        for ranges in ws.conditional_formatting
        for rule in ranges.rules
        if rule.type == "dataBar"
    ]
    assert len(bars) == 1
    sqref, rule = bars[0]
    assert sqref == f"F5:F{4 + 7}"  # every customer's utilisation, nothing else
    assert [(v.type, float(v.val)) for v in rule.dataBar.cfvo] == [("num", 0.0), ("num", 1.0)]
    assert ws["F5"].number_format == "0.0%" and ws["D5"].number_format == '"¥"#,##0.00'
    links = {ws.cell(row, 2).value: ws.cell(row, 12).hyperlink.location for row in range(5, 12)}
    assert len(links) == 7
    for customer, location in links.items():
        sheet = location.split("!")[0].strip("'")
        assert wb[sheet]["A1"].value == customer


def test_each_customer_sheet_charts_daily_spend_the_average_and_the_limit(
    run: dict[str, Any],
) -> None:
    wb = openpyxl.load_workbook(run["out"] / "monitor-en.xlsx")
    assert wb.sheetnames[:2] == ["Summary", "Monitor"] and len(wb.sheetnames) == 2 + 7
    ws = wb[HANGZHOU_NAME]
    header = [ws.cell(12, column).value for column in range(1, 5)]
    assert header == ["Date", "Day's spend", "7-day average", "Approved limit"]
    days = list(ws.iter_rows(min_row=13, max_row=42, max_col=4, values_only=True))
    assert days[0][0].date() == AS_OF - timedelta(days=29) and days[-1][0].date() == AS_OF
    assert {row[1] for row in days} == {1500} and {row[3] for row in days} == {51000}
    assert {row[2] for row in days} == {1500}  # 40 days of usage: every average is full
    charts = ws._charts
    assert len(charts) == 2 and all(isinstance(chart, LineChart) for chart in charts)
    refs = [series.val.numRef.f for series in charts[0].series]
    sheet = f"'{HANGZHOU_NAME}'"
    assert refs == [f"{sheet}!$B$13:$B$42", f"{sheet}!$C$13:$C$42", f"{sheet}!$D$13:$D$42"]
    titles = [series.tx.strRef.f for series in charts[0].series]
    assert titles == [f"{sheet}!B12", f"{sheet}!C12", f"{sheet}!D12"]
    assert charts[0].series[0].cat.numRef.f == f"{sheet}!$A$13:$A$42"
    close_up = [series.val.numRef.f for series in charts[1].series]  # the same, without the limit
    assert close_up == refs[:2]
    listed = wb["上海星河数据股份有限公司"]
    last = [listed.cell(42, column).value for column in range(2, 4)]
    assert last == [2500, 1000.1]  # today's spike against the 7 days before
    customers = json.loads(run["json"].stdout)["customers"]
    listed_json = next(c for c in customers if c["credit_code"] == LISTED)
    assert listed_json["metrics"]["trailing_7d_average"] == 1000.1  # the same figure


def test_headers_follow_the_language(run: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(run["out"] / "monitor-zh.xlsx")
    headers = [cell.value for cell in wb["Summary"][4]]
    assert headers[:3] == ["状态", "客户", "统一社会信用代码"]
    assert wb["Summary"]["A1"].value == "额度监控"
    assert wb[HANGZHOU_NAME]["B12"].value == "当日消耗"
    rows = summary_rows(run["out"] / "monitor-zh.xlsx")
    assert rows[0][0] == "需处理：限流"


def test_sheet_names_are_valid_and_unique_for_long_and_repeated_names() -> None:
    long = "深圳市前海" + "超长名称" * 10 + "有限公司"
    names = sheet_names(
        [long, long, "A/B: [test]*?", "a/b: [TEST]*?", "summary", "'quoted'", "History", ""],
        ("Summary", "Monitor"),
    )
    assert all(len(name) <= 31 for name in names)
    assert len({name.casefold() for name in names} | {"summary", "monitor"}) == len(names) + 2
    assert not any(set(name) & set("[]:*?/\\") for name in names)
    assert not any(name.startswith("'") or name.endswith("'") for name in names)
    assert names[0] == long[:31] and names[1] == long[:27] + " (2)"
    assert names[2:6] == ["A_B_ _test___", "a_b_ _TEST___ (2)", "summary (2)", "quoted"]
    assert names[6] == "History (2)" and names[7] == "_"
    wb = openpyxl.Workbook()
    for name in names:
        wb.create_sheet(name)  # openpyxl refuses an invalid name
    saved = io.BytesIO()
    wb.save(saved)
    assert openpyxl.load_workbook(saved).sheetnames[1:] == names


# ------------------------------------------------------------------------- actions CSV


def actions(run: dict[str, Any], lang: str) -> list[dict[str, str]]:
    raw = (run["out"] / f"actions-{lang}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese labels right
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_actions_csv_lists_each_action_reached_with_threshold_value_and_since(
    run: dict[str, Any],
) -> None:
    rows = actions(run, "en")
    hangzhou = [row for row in rows if row["credit_code"] == HANGZHOU]
    assert [(r["trigger_id"], r["action_id"]) for r in hangzhou] == [
        ("over_limit", "notify"),
        ("over_limit", "pause_new_quota"),
        ("over_limit", "disable_high_cost_models"),
    ]
    notify, pause, _ = hangzhou
    assert notify["customer"] == HANGZHOU_NAME and notify["usage_keys"] == HANGZHOU
    assert notify["action"] == "Notify"
    assert notify["threshold"] == "Over limit: credit used ≥ 80 % of the limit"
    assert pause["threshold"] == "Over limit: credit used ≥ 100 % of the limit"
    assert notify["value"] == pause["value"] == "119.6 %"
    # 80 % since the unbilled usage alone passed 40,800 (28 × 1,500 = 42,000, on 8 December);
    # 100 % since the usage after the invoice of 10 December (46,000 unpaid) passed 5,000
    assert notify["since"] == "2026-12-08"
    assert pause["since"] == "2026-12-14"
    university = [row for row in rows if row["credit_code"] == UNIVERSITY]
    assert [r["action_id"] for r in university] == [
        "notify",
        "pause_new_quota",
        "disable_high_cost_models",
        "rate_limit",
    ]
    assert university[0]["value"] == "3.50 ×" and university[0]["since"] == "2026-12-20"
    assert university[3]["threshold"] == (
        "Abnormal usage: day's spend ≥ 3 × the average of the 7 days before"
    )
    suzhou = [row for row in rows if row["credit_code"] == SUZHOU]
    assert [(r["action_id"], r["value"], r["since"]) for r in suzhou] == [
        ("notify", "10 days", "2026-12-11")
    ]
    assert suzhou[0]["usage_keys"] == ""  # no usage named this customer
    assert not [row for row in rows if row["credit_code"] == STATE_OWNED]


def test_the_actions_csv_speaks_chinese_and_keeps_its_ids(run: dict[str, Any]) -> None:
    rows = actions(run, "zh")
    first = next(row for row in rows if row["credit_code"] == HANGZHOU)
    assert first["action"] == "通知" and first["action_id"] == "notify"
    assert first["threshold"] == "超额度：额度使用率 ≥ 80 %"
    suzhou = next(row for row in rows if row["credit_code"] == SUZHOU)
    assert suzhou["value"] == "10 天" and suzhou["threshold"] == "逾期：逾期 ≥ 1 天"


# ----------------------------------------------------------------------------- terminal


def test_the_terminal_table_is_unchanged_and_the_json_adds_keys_invoice_and_series(
    run: dict[str, Any],
) -> None:
    lines = run["en"].stdout.splitlines()
    assert lines[0].split()[:2] == ["status", "customer"]
    assert "Act: Rate limit" in lines[1] and "华东理工智能计算研究院" in lines[1]
    assert "\r" not in run["en"].stderr  # no progress bar into a pipe
    payload = json.loads(run["json"].stdout)
    assert run["json"].returncode == 3 and payload["action_needed"] is True
    assert payload["utc_offset"] == "+00:00"
    assert set(payload["customers"][0]) == {
        "customer",
        "credit_code",
        "currency",
        "approved_limit",
        "structure",
        "metrics",
        "downgrade_triggers",
        "stop_loss",
        "actions",
        "escalation",
        "recovery",
        "action_needed",
        "usage_keys",
        "last_invoice_date",
        "unbilled_since",
        "daily",
    }
    customers = {c["credit_code"]: c for c in payload["customers"]}
    listed, hangzhou = customers[LISTED], customers[HANGZHOU]
    assert listed["usage_keys"] == [LISTED]  # the generic file's customer column named it
    assert listed["last_invoice_date"] is None and listed["unbilled_since"] is None
    assert hangzhou["last_invoice_date"] == "2026-12-10"
    assert hangzhou["unbilled_since"] == "2026-12-11"
    # the 30 days the customer's sheet draws, money as exact decimal strings
    series = listed["daily"]
    assert [d["date"] for d in series[:1] + series[-1:]] == ["2026-11-21", "2026-12-20"]
    assert len(series) == 30
    assert series[-1] == {
        "date": "2026-12-20",
        "spend": "2500.00",
        "trailing_7d_average": "1000.10",
    }
    assert series[0]["spend"] == "1000.10"
    assert {c["credit_code"]: c["daily"][-1]["spend"] for c in payload["customers"]}[
        SUZHOU
    ] == "0.00"


def read_all(leader: int) -> bytes:
    """Everything written to a pseudo-terminal whose other end is closed."""
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed: all was read
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    return drawn


def test_progress_draws_on_a_terminal_only() -> None:
    leader, follower = pty.openpty()
    with (
        os.fdopen(follower, "w", encoding="utf-8") as terminal,
        Progress("usage.csv", 200, stream=terminal, delay=0, interval=0) as bar,
    ):
        for _ in range(200):
            bar.advance()
    drawn = read_all(leader).decode("utf-8")
    assert drawn.startswith("\rusage.csv [") and "[" + "#" * 30 + "] 100%" in drawn
    assert drawn.endswith("\n")
    piped = io.StringIO()
    with Progress("usage.csv", 200, stream=piped, delay=0, interval=0) as bar:
        bar.advance(200)
    assert piped.getvalue() == ""


def test_the_command_draws_the_bar_on_a_terminal_stderr(
    register: Path, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A usage file whose query takes over half a second (2.5 million rows), stderr on a
    pseudo-terminal: DuckDB's progress of the query is drawn there as a bar, and stdout (a pipe)
    holds only the JSON."""
    usage = write_csv(
        tmp_path / "usage.csv",
        USAGE_HEADER,
        [
            f"{STATE_OWNED},{AS_OF - timedelta(days=row % 60)},openai,gpt-5.4-mini,3.5,,"
            for row in range(2_500_000)
        ],
    )
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "creditbook", "monitor", "--register", str(register)]
    command += ["--usage", str(usage), "--receivables", str(inputs[1]), "--json"]
    process = subprocess.Popen(
        [*command, "--as-of", AS_OF.isoformat()],
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    os.close(follower)
    stdout, _ = process.communicate(timeout=600)
    drawn = read_all(leader)
    assert process.returncode == 3
    assert f"reading usage: {usage} (duckdb) [".encode() in drawn
    assert b"] 100%" in drawn
    assert json.loads(stdout)["as_of"] == AS_OF.isoformat()


def test_waiting_draws_the_time_and_the_engine_share_on_a_terminal_only() -> None:
    """A step that reports nothing itself: a spinner with the seconds while the engine cannot
    say how far it is, a bar once it can, the full bar when the step ends; nothing in a pipe."""
    leader, follower = pty.openpty()
    shares = iter([None, None, 0.25, 0.5])
    gone = threading.Event()

    def share() -> float | None:
        value = next(shares, 0.5)
        if value == 0.5:
            gone.set()
        return value

    with (
        os.fdopen(follower, "w", encoding="utf-8") as terminal,
        Waiting("reading usage", share, stream=terminal, delay=0, interval=0.01),
    ):
        assert gone.wait(10)
    drawn = read_all(leader).decode("utf-8")
    assert drawn.startswith("\rreading usage |  0 s\rreading usage /  0 s")
    assert "[" + "#" * 7 + "." * 23 + "]  25%" in drawn
    assert drawn.rstrip("\r\n").endswith("[" + "#" * 30 + "] 100%  0 s") and drawn.endswith("\n")
    piped = io.StringIO()
    with Waiting("reading usage", lambda: 0.5, stream=piped, delay=0, interval=0.01):
        time.sleep(0.05)
    assert piped.getvalue() == ""


# -------------------------------------------------------------------------------- render


@needs_soffice
def test_the_summary_and_a_customer_sheet_render_in_libreoffice(
    run: dict[str, Any], tmp_path: Path
) -> None:
    """LibreOffice opens the workbook and prints the Summary and every customer's sheet."""
    pdf = convert(run["out"] / "monitor-en.xlsx", "pdf", tmp_path)
    shown = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    shown = " ".join(shown.split())  # the page is scaled to fit: words are spaced apart
    assert "Credit monitoring" in shown and "Act: Rate limit" in shown
    assert shown.count("Daily spend, 7-day average and limit") == 7  # a chart per customer
    assert shown.count("Daily spend and 7-day average, without the limit") == 7
    assert HANGZHOU_NAME in shown and "Day's spend" in shown


def test_a_customer_named_like_a_formula_stays_text_everywhere(tmp_path: Path) -> None:
    """Names come from the workbooks: one that looks like a formula is text in the CSV (an
    apostrophe first), in its sheet's title cell, and a valid sheet name."""
    name = '=HYPERLINK("http://x/?a:b","[click]")'
    customer = Customer(
        name, "", Currency.CNY, Decimal(1000), Structure.MONTHLY_SETTLEMENT, Decimal(0), Decimal(0)
    )
    # 300 a day over the four days up to as-of (index 0: the days before the first)
    spend = Spend.of(AS_OF - timedelta(days=3), [0, 300, 300, 300, 300], [0] * 5, 1, 1, ["=key"])
    (health,) = monitor([customer], {name: spend}, [], default_policy(), AS_OF)
    assert health.keys == ("=key",) and health.action_needed  # 1,200 used of 1,000
    assert health.daily == tuple((AS_OF - timedelta(days=b), 30000) for b in (3, 2, 1, 0))
    rows = list(csv.reader(io.StringIO(actions_csv([health], "en").decode("utf-8-sig"))))
    assert rows[1][1] == "'" + name and rows[1][2] == "'=key"
    path = tmp_path / "monitor.xlsx"
    write_monitor([health], AS_OF, path, "en")
    wb = openpyxl.load_workbook(path)
    (sheet,) = wb.sheetnames[2:]
    assert sheet == '=HYPERLINK("http___x__a_b","_cl'  # 31 characters, none of []:/?
    assert wb[sheet]["A1"].value == name and wb[sheet]["A1"].data_type == "s"
    assert wb["Summary"]["B5"].value == name and wb["Summary"]["B5"].data_type == "s"
