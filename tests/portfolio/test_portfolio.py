"""`creditbook register` and `creditbook monitor` on real evaluated workbooks (`creditbook demo`)
and real CSV files: the register repeats each Decision's figures, flags reviews and failing files,
totals the book against the appetite; monitor fires the policy's triggers and stop-loss steps."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from lo import convert, needs_soffice
from usage_csv import daily, write_csv

from creditbook.cli import main
from creditbook.core.models import Currency
from creditbook.data import default_policy, default_prices
from creditbook.portfolio.monitor import customers_of
from creditbook.portfolio.register import build_register, find_workbooks, read_register

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "artifacts"
POLICY = default_policy()
AS_OF = "2026-12-20"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Evaluated demo workbooks + decision JSON in approved/; in other/: a tampered copy, a
    never-evaluated workbook and a file that is not a workbook."""
    root = tmp_path_factory.mktemp("book")
    assert main(["demo", "--out", str(root / "approved"), "--jobs", "2"]) == 0
    other = root / "other" / "deeper"
    other.mkdir(parents=True)
    wb = openpyxl.load_workbook(root / "approved" / "listed_company.xlsm", keep_vba=True)
    wb["Profile"]["C21"] = 900000  # the requested limit, typed in after the approval
    wb.save(other / "tampered.xlsm")
    shutil.copy(ROOT / "workbook" / "examples" / "usd_customer.xlsm", other / "blank.xlsm")
    (other / "broken.xlsx").write_text("not a workbook")
    return root


@pytest.fixture(scope="module")
def decisions(book: Path) -> dict[str, dict[str, Any]]:
    return {
        str(path.with_suffix(".xlsm")): json.loads(path.read_text("utf-8"))
        for path in sorted((book / "approved").glob("*.json"))
    }


@pytest.fixture(scope="module")
def outputs(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("register")
    for name in ("register.xlsx", "register.csv", "register.parquet"):
        assert main(["register", str(book), "-o", str(out / name), "--as-of", AS_OF]) == 0
    return out


def register_of(book: Path, as_of: date, *, verify: bool = False) -> pd.DataFrame:
    return build_register(
        find_workbooks([book]), [POLICY], default_prices(), as_of, verify=verify, jobs=2
    )


def by_file(register: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["file"]: row for row in register.to_dict("records")}


# ------------------------------------------------------------------ register


def test_rows_repeat_the_decisions_figures(
    outputs: Path, decisions: dict[str, dict[str, Any]]
) -> None:
    rows = by_file(pd.read_parquet(outputs / "register.parquet"))
    for file, decision in decisions.items():
        row = rows[file]
        currency = Currency(decision["currency"])
        rate = float(POLICY.fx.rates[currency]) if currency != POLICY.base_currency else 1.0
        exposure = decision["exposure"]
        code = None if pd.isna(row["credit_code"]) else row["credit_code"]
        assert (row["customer"], code) == (
            decision["customer_name"],
            decision["credit_code"],
        )
        assert (row["decision"], row["tier"], row["structure"], row["currency"]) == (
            decision["decision"],
            decision["tier"],
            decision["structure"],
            decision["currency"],
        )
        assert row["approved_limit"] == pytest.approx(float(decision["approved_limit"]))
        assert row["approved_limit_base"] == pytest.approx(float(decision["approved_limit"]) * rate)
        assert row["required_deposit"] == pytest.approx(float(decision["required_deposit"]))
        assert row["unsecured_exposure"] == pytest.approx(float(exposure["unsecured_exposure"]))
        assert row["unsecured_exposure_base"] == pytest.approx(
            float(exposure["unsecured_exposure"]) * rate
        )
        assert row["high_cost_share"] == pytest.approx(float(exposure["high_cost_share"]))
        assert row["peak_monthly_spend"] == pytest.approx(float(exposure["peak_monthly_spend"]))
        assert row["next_review_date"] == date.fromisoformat(decision["next_review_date"])
        assert (row["status"], row["verify_status"], row["policy_status"]) == (
            "evaluated",
            "unchanged",
            "official",
        )
        assert not row["verify_failing"]
    assert any(Currency(d["currency"]) is not POLICY.base_currency for d in decisions.values())


def test_review_due_within_14_days_and_overdue_follow_the_as_of_date(
    book: Path, decisions: dict[str, dict[str, Any]]
) -> None:
    file, decision = next(iter(decisions.items()))
    review = date.fromisoformat(decision["next_review_date"])
    expected = {
        review - timedelta(days=20): ("", 20),
        review - timedelta(days=14): ("due_14d", 14),
        review: ("due_14d", 0),
        review + timedelta(days=1): ("overdue", -1),
    }
    for as_of, (flag, days) in expected.items():
        row = by_file(register_of(book, as_of))[file]
        assert (row["review"], row["days_to_review"]) == (flag, days), as_of


def test_tampered_never_evaluated_and_unreadable_files_are_rows_not_crashes(
    outputs: Path, book: Path
) -> None:
    rows = by_file(pd.read_parquet(outputs / "register.parquet"))
    other = book / "other" / "deeper"
    tampered = rows[str(other / "tampered.xlsm")]
    assert (tampered["status"], tampered["verify_status"], tampered["verify_failing"]) == (
        "evaluated",
        "changed",
        True,
    )
    assert tampered["customer"] == "上海星河数据股份有限公司"  # the approved snapshot
    blank = rows[str(other / "blank.xlsm")]
    assert (blank["status"], blank["verify_status"], blank["verify_failing"]) == (
        "never_evaluated",
        "never_evaluated",
        True,
    )
    broken = rows[str(other / "broken.xlsx")]
    assert (broken["status"], broken["verify_status"], broken["verify_failing"]) == (
        "unreadable",
        "unreadable",
        True,
    )
    assert len(rows) == 10


def test_verifying_changes_only_the_verify_columns(book: Path) -> None:
    """With verify, each row is made where its file is checked (a worker process): the rows are
    those of the register without verify, in the same order, in one process or several."""
    as_of = date.fromisoformat(AS_OF)
    files, officials, prices = find_workbooks([book]), [POLICY], default_prices()
    plain = build_register(files, officials, prices, as_of, verify=False)
    checked = ("verify_status", "policy_status", "verify_failing")
    assert plain["verify_status"].isna().all()
    for jobs in (1, 2):
        verified = build_register(files, officials, prices, as_of, verify=True, jobs=jobs)
        assert verified.drop(columns=list(checked)).equals(plain.drop(columns=list(checked)))
        assert set(verified["verify_status"]) == {
            "unchanged",
            "changed",
            "never_evaluated",
            "unreadable",
        }


def test_totals_against_the_portfolio_appetite(
    outputs: Path, decisions: dict[str, dict[str, Any]]
) -> None:
    def base(decision: dict[str, Any]) -> Decimal:
        amount = Decimal(str(decision["exposure"]["unsecured_exposure"]))
        return POLICY.to_base(amount, Currency(decision["currency"]))

    listed = next(d for f, d in decisions.items() if f.endswith("listed_company.xlsm"))
    total = sum((base(d) for d in decisions.values()), Decimal(0)) + base(listed)  # + tampered
    summary = openpyxl.load_workbook(outputs / "register.xlsx")["Summary"]
    figures = {summary.cell(row, 1).value: summary.cell(row, 2).value for row in range(4, 13)}
    appetite = POLICY.appetite.portfolio_appetite
    assert figures["无担保敞口 Unsecured exposure (CNY)"] == pytest.approx(float(total))
    assert figures["组合风险偏好 Portfolio appetite (CNY)"] == pytest.approx(float(appetite))
    assert figures["剩余空间 Headroom (CNY)"] == pytest.approx(float(appetite - total))
    assert figures["已用比例 Appetite used"] == pytest.approx(float(total / appetite))
    assert figures["工作簿 Workbooks"] == 10
    assert figures["已评估 Evaluated"] == 8
    assert figures["校验未通过 Failing verify"] == 3


def test_xlsx_has_a_table_conditional_formats_and_two_charts(outputs: Path) -> None:
    wb = openpyxl.load_workbook(outputs / "register.xlsx")
    ws = wb["Register"]
    assert list(ws.tables) == ["Register"]
    assert ws.tables["Register"].ref == f"A1:U{ws.max_row}"
    formulas = [rule.formula[0] for rules in ws.conditional_formatting for rule in rules.rules]
    assert formulas == ['$P2="overdue"', '$P2="due_14d"', "$T2=TRUE"]
    charts = wb["Summary"]._charts
    assert [chart.type for chart in charts] == ["bar", "col"]
    reviews = {
        wb["Summary"].cell(row, 1).value: wb["Summary"].cell(row, 2).value
        for row in range(1, wb["Summary"].max_row + 1)
    }
    register = pd.read_excel(outputs / "register.xlsx", sheet_name="Register", engine="calamine")
    due = register["days_to_review"].dropna()
    assert reviews[AS_OF] == int(due.between(0, 6).sum())


def test_csv_and_parquet_round_trip_with_pandas(outputs: Path, book: Path) -> None:
    expected = register_of(book, date.fromisoformat(AS_OF), verify=True)
    parquet = pd.read_parquet(outputs / "register.parquet")
    pd.testing.assert_frame_equal(parquet, expected)
    csv = pd.read_csv(outputs / "register.csv", dtype={"credit_code": str})
    assert list(csv.columns) == list(expected.columns)
    numbers = ["approved_limit_base", "unsecured_exposure_base", "high_cost_share"]
    pd.testing.assert_frame_equal(csv[numbers], expected[numbers].astype(float))
    assert csv["next_review_date"].fillna("").tolist() == [
        "" if value is None else value.isoformat() for value in expected["next_review_date"]
    ]
    customers = [customers_of(read_register(outputs / f"register.{ext}")) for ext in EXTENSIONS]
    assert customers[0] == customers[1] == customers[2] and len(customers[0]) == 8


EXTENSIONS = ("xlsx", "csv", "parquet")


def test_a_folder_without_workbooks_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["register", str(tmp_path), "-o", str(tmp_path / "r.xlsx")]) == 2
    assert "no workbooks" in capsys.readouterr().err
    assert not (tmp_path / "r.xlsx").exists()


@needs_soffice
def test_register_chart_page_renders_in_libreoffice(outputs: Path, tmp_path: Path) -> None:
    pdf = convert(outputs / "register.xlsx", "pdf", tmp_path)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for title in ("Portfolio register", "Unsecured exposure by tier", "Reviews due by week"):
        assert title in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / "register-chart.png"
    png.unlink(missing_ok=True)
    stem = str(png.with_suffix(""))  # pdftoppm adds .png
    subprocess.run(
        ["pdftoppm", "-r", "90", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), stem],
        check=True,
        capture_output=True,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------- monitor

LISTED, SUZHOU, HANGZHOU = "91310000MA1FL7JF8P", "91320000MA1N4B2K88", "91330100MA27XF6T2T"
UNIVERSITY, STATE_OWNED = "123100004250061179", "91110000710935732K"
USAGE_HEADER = "customer,date,provider,model,cost,input_mtok,output_mtok"
AR_HEADER = "invoice,customer,issue_date,due_date,paid_date,amount"


def run_monitor(
    outputs: Path, usage: Path, receivables: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    out = usage.parent / "monitor.json"
    code = main(
        [
            "monitor",
            "--register",
            str(outputs / "register.csv"),
            "--usage",
            str(usage),
            "--receivables",
            str(receivables),
            "--as-of",
            AS_OF,
            "-o",
            str(out),
            *extra,
        ]
    )
    payload = json.loads(out.read_text("utf-8")) if out.exists() else {}
    return code, {c["credit_code"] or c["customer"]: c for c in payload.get("customers", [])}


@pytest.fixture(scope="module")
def troubled(outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("troubled")
    as_of = date.fromisoformat(AS_OF)
    usage = write_csv(
        folder / "usage.csv",
        USAGE_HEADER,
        daily(LISTED, [1000] * 7 + [2500], as_of)  # 2.5 × the trailing 7-day average
        + daily(UNIVERSITY, [1000] * 7 + [3500], as_of)  # 3.5 ×
        + daily(HANGZHOU, [1000] * 6, as_of)  # unbilled 6,000 on a 51,000 limit
        + daily(STATE_OWNED, [2000] * 8, as_of)  # steady: nothing fires
        + ["Lumen Analytics Pte. Ltd.,2026-12-19,anthropic,claude-sonnet-5.5,,10,2"],
    )
    receivables = write_csv(
        folder / "ar.csv",
        AR_HEADER,
        [
            f"H1,{HANGZHOU},2026-12-10,2027-01-09,,46000",  # unpaid, not yet due
            f"S1,{SUZHOU},2026-10-01,2026-10-31,2026-11-05,40000",  # paid 5 days late
            f"S2,{SUZHOU},2026-11-01,2026-12-10,,50000",  # unpaid, 10 days past due
            f"G1,{STATE_OWNED},2026-11-01,2026-12-01,2026-11-28,60000",  # paid early
        ],
    )
    return run_monitor(outputs, usage, receivables)


def fired(customer: dict[str, Any]) -> tuple[list[str], list[tuple[str, float]]]:
    return (
        [t["id"] for t in customer["downgrade_triggers"]],
        [(s["trigger"], s["threshold"]) for s in customer["stop_loss"]],
    )


def test_over_the_limit_pauses_new_quota_and_high_cost_models(
    troubled: tuple[int, dict[str, Any]],
) -> None:
    code, customers = troubled
    hangzhou = customers[HANGZHOU]
    assert code == 3
    assert hangzhou["metrics"]["used"] == 52000
    assert hangzhou["metrics"]["utilisation"] == pytest.approx(52000 / 51000, abs=1e-4)
    assert fired(hangzhou) == (["over_limit_use"], [("over_limit", 0.8), ("over_limit", 1.0)])
    assert hangzhou["actions"] == ["notify", "pause_new_quota", "disable_high_cost_models"]
    assert hangzhou["escalation"] == ["rate_limit", "require_topup", "request_emergency_approval"]
    assert hangzhou["recovery"] == ["payment_received", "deposit_topped_up", "review_approved"]


def test_a_spike_over_the_trailing_average_is_abnormal_usage(
    troubled: tuple[int, dict[str, Any]],
) -> None:
    _, customers = troubled
    listed, university = customers[LISTED], customers[UNIVERSITY]
    assert listed["metrics"]["spend_vs_average"] == 2.5
    assert fired(listed) == ([], [("abnormal_usage", 2.0)])
    assert listed["actions"] == ["notify"]
    assert university["metrics"]["spend_vs_average"] == 3.5
    assert fired(university) == ([], [("abnormal_usage", 2.0), ("abnormal_usage", 3.0)])
    assert university["actions"] == [
        "notify",
        "pause_new_quota",
        "disable_high_cost_models",
        "rate_limit",
    ]


def test_two_consecutive_overdue_invoices_fire_the_downgrade_trigger(
    troubled: tuple[int, dict[str, Any]],
) -> None:
    _, customers = troubled
    suzhou = customers[SUZHOU]
    assert suzhou["metrics"]["overdue_streak"] == 2
    assert suzhou["metrics"]["max_days_past_due"] == 10
    assert fired(suzhou) == (["consecutive_overdue"], [("overdue", 1.0)])
    assert suzhou["recovery"] == ["payment_received"]


def test_a_clean_customer_fires_nothing(troubled: tuple[int, dict[str, Any]]) -> None:
    _, customers = troubled
    assert fired(customers[STATE_OWNED]) == ([], [])
    assert customers[STATE_OWNED]["actions"] == []
    lumen = customers["Lumen Analytics Pte. Ltd."]  # tokens priced in USD: 10 × 2 + 2 × 10
    assert lumen["metrics"]["spend_30d"] == 40
    assert not lumen["action_needed"]


def test_no_action_needed_is_exit_0_and_xlsx_output(outputs: Path, tmp_path: Path) -> None:
    usage = write_csv(
        tmp_path / "usage.csv", USAGE_HEADER, daily(STATE_OWNED, [2000] * 8, date(2026, 12, 20))
    )
    receivables = write_csv(
        tmp_path / "ar.csv", AR_HEADER, [f"G1,{STATE_OWNED},2026-11-01,2026-12-01,2026-11-28,6e4"]
    )
    code, customers = run_monitor(outputs, usage, receivables)
    assert code == 0
    assert not any(customer["action_needed"] for customer in customers.values())
    xlsx = tmp_path / "monitor.xlsx"
    assert (
        main(
            [
                *("monitor", "--register", str(outputs / "register.xlsx"), "--usage", str(usage)),
                *("--receivables", str(receivables), "--as-of", AS_OF, "-o", str(xlsx)),
            ]
        )
        == 0
    )
    ws = openpyxl.load_workbook(xlsx)["Monitor"]
    assert list(ws.tables) == ["Monitor"] and ws.max_row >= 9


def test_a_provider_cost_export_maps_a_project_column(outputs: Path, tmp_path: Path) -> None:
    usage = write_csv(
        tmp_path / "export.csv",
        "date,project,model,cost",
        [f"2026-12-{day}T00:00:00Z,{LISTED},gpt-5.4-mini,1000" for day in range(13, 20)]
        + [f"2026-12-20T00:00:00Z,{LISTED},gpt-5.4-mini,3000"],
    )
    receivables = write_csv(tmp_path / "ar.csv", AR_HEADER, [])
    code, customers = run_monitor(
        outputs, usage, receivables, "--customer-column", "project", "--provider", "openai"
    )
    assert code == 3
    assert fired(customers[LISTED]) == ([], [("abnormal_usage", 2.0), ("abnormal_usage", 3.0)])


def test_a_malformed_row_is_exit_2_naming_file_line_and_column(
    outputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = write_csv(
        tmp_path / "usage.csv",
        USAGE_HEADER,
        [f"{LISTED},2026-12-19,openai,gpt-5.4-mini,100,,", f"{LISTED},2026-12-20,openai,x,abc,,"],
    )
    receivables = write_csv(tmp_path / "ar.csv", AR_HEADER, [])
    code, _ = run_monitor(outputs, usage, receivables)
    assert code == 2
    err = capsys.readouterr().err
    assert f"{usage}:3:5: cost" in err and "cost is not a number ≥ 0: 'abc'" in err
    bad_date = write_csv(
        tmp_path / "ar2.csv", AR_HEADER, [f"X1,{LISTED},2026-13-01,2026-12-31,,100"]
    )
    usage = write_csv(tmp_path / "usage.csv", USAGE_HEADER, [])
    code, _ = run_monitor(outputs, usage, bad_date)
    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad_date}:2:3: issue_date" in err and "issue_date is not a date" in err
