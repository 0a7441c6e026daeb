"""`creditbook simulate`: the vectorised path against the per-application engine, and the command."""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from cli_run import run_creditbook
from openpyxl import load_workbook
from openpyxl_reader import read_policy_rows

from creditbook.core.assess import parse_and_validate
from creditbook.core.engine import evaluate
from creditbook.core.models import Application
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.uscc import check_character
from creditbook.data import default_policy, default_prices, example_applications
from creditbook.portfolio.columns import Unsupported
from creditbook.portfolio.frames import facts_frame, spend_frame
from creditbook.portfolio.simulate import read_portfolio, simulate
from creditbook.portfolio.vectorised import decision_figures, evaluate_frame
from creditbook.workbook.flatten import flatten

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_WORKBOOKS = ROOT / "workbook" / "examples"
CLOCK = datetime(2026, 11, 28, tzinfo=UTC)
FIGURES = ("tier", "score", "decision", "approved_limit", "structure", "unsecured_exposure")


# ------------------------------------------------------------------ applications


def random_application(rng: random.Random, prices: PriceTable) -> dict[str, Any]:
    """A plausible application: every entity type, both currencies, priced and stated lines."""
    months = rng.choice([0, 0, 0, 3, 8, 14, 30, 60])
    profile: dict[str, Any] = {
        "customer_name": f"Customer {rng.randrange(10**6)}",
        "entity_type": rng.choice(
            [
                "listed",
                "state_owned",
                "public_sector",
                "private_large",
                "private_sme",
                "startup",
                "individual",
            ]
        ),
        "country": rng.choice(["CN", "CN", "CN", "HK", "US"]),
        "years_in_business": rng.choice([0, 0.5, 1, 2.5, 3, 4, 6, 9.75, 12, 30]),
        "procurement": rng.choice(["formal_po_contract", "contract_only", "ad_hoc"]),
        "payment_terms_days": rng.choice([0, 15, 30, 45, 60, 90]),
        "relationship_months": months,
        "currency": rng.choice(["CNY", "CNY", "USD"]),
        "requested_limit": rng.choice([5000, 30000, 99999.99, 150000, 480000, 2500000, 9000000]),
        "application_date": "2026-11-28",
    }
    if profile["country"] == "CN":
        body = f"91110000MA{rng.randrange(10**7):07d}"
        profile["credit_code"] = body + check_character(body)
    if months:
        profile |= {
            "on_time_ratio_12m": rng.choice([1, 0.99, 0.98, 0.965, 0.95, 0.9, 0.85, 0.8, 0.6]),
            "max_days_overdue_12m": rng.choice([0, 0, 3, 7, 20, 31, 45, 61, 90]),
            "overdue_events_12m": rng.choice([0, 0, 1, 2, 4, 6]),
            "consecutive_overdue_invoices": rng.choice([0, 0, 0, 1, 2, 3]),
        }
        if rng.random() < 0.5:
            profile["paid_invoices_12m"] = rng.choice([0, 2, 3, 12])
        if rng.random() < 0.3:
            profile["current_limit"] = rng.choice([20000, 100000, 1000000])
            profile["new_materials"] = rng.sample(
                ["audited_financials", "bank_statements", "added_guarantee", "purchase_commitment"],
                rng.choice([0, 0, 1, 2]),
            )
        if rng.random() < 0.2:
            profile |= {
                "current_overdue_amount": rng.choice([500, 12000.5, 80000]),
                "current_days_overdue": rng.choice([3, 20, 40]),
            }
    guarantee = rng.choice(
        [
            "none",
            "none",
            "none",
            "parent_guarantee",
            "bank_guarantee",
            "letter_of_credit",
            "credit_insurance",
        ]
    )
    profile["guarantee_type"] = guarantee
    if guarantee != "none":
        profile["guarantee_amount"] = rng.choice([20000, 100000, 750000])
    lines = []
    for _ in range(rng.randint(1, 3)):
        row = rng.choice(prices.rows)
        line: dict[str, Any] = {
            "provider": row.provider.value,
            "model": row.model,
            "peak_factor": rng.choice([1, 1.15, 1.3, 1.5, 2, 2.75]),
            "scenario": rng.choice(["existing", "existing", "new"]),
        }
        if rng.random() < 0.25:
            line["monthly_spend"] = rng.choice([800, 4321.57, 25000, 180000.01])
        else:
            line["input_mtok_month"] = rng.choice([3, 40, 250.5, 1200, 20000])
            line["output_mtok_month"] = rng.choice([0, 1, 7.25, 300, 4000])
            if rng.random() < 0.3:
                line["cached_input_mtok_month"] = rng.choice([10, 333.3])
        lines.append(line)
    buffers: dict[str, Any] = {"billing_cycle_days": rng.choice([7, 15, 30])}
    if rng.random() < 0.3:
        buffers["deposit"] = rng.choice([5000, 40000, 300000])
    if rng.random() < 0.2:
        buffers["prepaid_balance"] = rng.choice([1000, 20000.25])
    if rng.random() < 0.15:
        buffers["ramp"] = [
            {"from_day": 0, "limit": rng.choice([10000, 60000])},
            {"from_day": 45, "limit": rng.choice([60000, 200000])},
        ]
    return {"profile": profile, "consumption": lines, "buffers": buffers}


def tie_application() -> dict[str, Any]:
    """Need exactly on a half cent after a day count that is not a whole number of months:
    ¥300,000.01 a month, peak ×1.5, weight ½ → weighted 375,000.015 × (7 + 0 + 3) / 30."""
    return {
        "profile": {
            "customer_name": "Half-cent Co.",
            "credit_code": "91110000802100433B",
            "entity_type": "private_large",
            "years_in_business": 8,
            "procurement": "formal_po_contract",
            "payment_terms_days": 0,
            "relationship_months": 18,
            "on_time_ratio_12m": 0.99,
            "requested_limit": 900000,
            "application_date": "2026-11-28",
        },
        "consumption": [
            {
                "provider": "other",
                "model": "in-house",
                "monthly_spend": 300000.01,
                "peak_factor": 1.5,
            }
        ],
        "buffers": {"billing_cycle_days": 7},
    }


def valid(raws: list[dict[str, Any]]) -> list[Application]:
    apps = []
    for raw in raws:
        app, _ = parse_and_validate(raw, default_policy(), default_prices())
        if app is not None:
            apps.append(app)
    return apps


@pytest.fixture(scope="module")
def sample() -> list[Application]:
    rng = random.Random(20261128)
    raws = [raw for _, raw in example_applications()] + [tie_application()]
    raws += [random_application(rng, default_prices()) for _ in range(400)]
    apps = valid(raws)
    assert len(apps) > 380
    return apps


# ---------------------------------------------------------------------- policies


def edited(change: dict[str, Any]) -> Policy:
    """The shipped policy with some values replaced (dotted paths, list indices as numbers)."""
    data = default_policy().model_dump(exclude={"examples"})
    for path, value in change.items():
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return Policy.model_validate(data)


def stricter() -> Policy:
    return edited(
        {
            "version": "stricter",
            "tiers.0.when": {"score": {"gte": 85}},
            "tiers.1.when": {"score": {"gte": 70}},
            "tiers.2.when": {"score": {"gte": 55}},
            "tiers.3.when": {"score": {"gte": 40}},
        }
    )


def other_fx() -> Policy:
    return edited(
        {
            "version": "fx",
            "fx.rates": {"USD": Decimal("6.93")},
            "need_limit.grace_days": 3,
            "need_limit.peak_weight": Decimal("0.35"),
            "rounding.limit_unit": {"CNY": Decimal(500), "USD": Decimal(50)},
            "structures.payment_terms": [60, 30, 0],
            "new_customer.min_paid_invoices": 4,
            "increase.materials": {
                "bank_statements": Decimal("1.1"),
                "added_guarantee": Decimal(3),
            },
        }
    )


def other_multiples() -> Policy:
    policy = default_policy()
    extra = {
        "id": "volatile_spend",
        "when": {"high_cost_share": {"gt": Decimal("0.5")}, "country": {"in": ("CN", "HK")}},
        "max_tier": "T3",
        "reason": {"zh": "高成本占比过高", "en": "high-cost share above half"},
        "condition": {"zh": "每周复核消耗", "en": "weekly usage review"},
    }
    unknown = {
        "id": "thin_record",
        "when": {
            "has_guarantee": {"eq": False},
            "years_in_business": {"lt": Decimal("2.5")},
            "on_time_ratio_12m": {"ne": None},
        },
        "max_tier": "T4",
        "reason": {"zh": "经营年限短且无担保", "en": "short history, no guarantee"},
    }
    rules = [rule.model_dump() for rule in policy.hard_rules] + [extra, unknown]
    return edited(
        {
            "version": "multiples",
            "tiers.0.limit_multiple": Decimal(4),
            "tiers.1.limit_multiple": Decimal("2.5"),
            "tiers.2.limit_multiple": Decimal("1.2"),
            "tiers.2.deposit_ratio": Decimal("0.25"),
            "tiers.3.limit_multiple": Decimal("0.8"),
            "tiers.1.max_limit": Decimal(1500000),
            "appetite.max_unsecured_exposure": Decimal(1234567),
            "new_customer_ramp": [
                {"from_day": 0, "share": Decimal("0.3")},
                {"from_day": 30, "share": Decimal("0.6")},
                {"from_day": 90, "share": Decimal(1)},
            ],
            "hard_rules": rules,
        }
    )


POLICIES = {
    "default": default_policy,
    "stricter": stricter,
    "fx": other_fx,
    "multiples": other_multiples,
}


def engine_rows(apps: list[Application], policy: Policy) -> list[tuple[Any, ...]]:
    return [
        decision_figures(evaluate(app, policy, default_prices(), evaluated_at=CLOCK))
        for app in apps
    ]


# --------------------------------------------------------------------- exactness


def table_rows(apps: list[Application]) -> list[dict[str, Any]]:
    """Each application as one table row: its fields flattened, Python values kept (Decimal,
    int, date, text); an empty list is an empty cell (the field's default)."""
    return [
        {path: value for path, value in flatten(app.model_dump(mode="python")) if value != "[]"}
        for app in apps
    ]


def write_parquet(apps: list[Application], path: Path) -> Path:
    """Typed columns: amounts and ratios decimal128, counts int64, dates date32, labels text."""
    rows = table_rows(apps)
    names = sorted({name for row in rows for name in row})
    table = pa.table({name: pa.array([row.get(name) for row in rows]) for name in names})
    kinds = {str(table.schema.field(name).type).split("(")[0] for name in names}
    assert {"decimal128", "int64", "date32[day]", "string"} <= kinds
    pq.write_table(table, path)
    return path


def write_csv_table(apps: list[Application], path: Path) -> Path:
    rows = table_rows(apps)
    names = sorted({name for row in rows for name in row})

    def shown(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value.value if isinstance(value, Enum) else value)

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows([shown(row.get(name)) for name in names] for row in rows)
    return path


@pytest.fixture(scope="module")
def tables(sample: list[Application], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tables")
    return {
        "parquet": write_parquet(sample, folder / "book.parquet"),
        "csv": write_csv_table(sample, folder / "book.csv"),
    }


@cache
def engine_figures(name: str, apps: tuple[Application, ...]) -> list[tuple[Any, ...]]:
    return engine_rows(list(apps), POLICIES[name]())


@pytest.mark.parametrize("source", ["objects", "parquet", "csv"])
@pytest.mark.parametrize("name", POLICIES)
def test_vectorised_path_gives_exactly_the_engine_figures(
    sample: list[Application], tables: dict[str, Path], name: str, source: str
) -> None:
    """The applications as objects, or read back from a Parquet or CSV table, give the
    engine's figures under every policy."""
    policy = POLICIES[name]()
    apps = sample
    if source != "objects":
        portfolio = read_portfolio([tables[source]], default_policy())
        assert portfolio.skipped == []
        apps = [app for app, _ in portfolio.apps]
        assert apps == sample  # every field read back exactly
        assert portfolio.files[:2] == [f"{tables[source]}:2", f"{tables[source]}:3"]
    facts, lines = facts_frame([(app, default_prices()) for app in apps], policy)
    frame = evaluate_frame(facts, lines, policy)
    vectorised = [tuple(row) for row in frame[list(FIGURES)].itertuples(index=False)]
    vectorised = [
        tuple(v.item() if isinstance(v, np.generic) else v for v in r) for r in vectorised
    ]
    assert vectorised == engine_figures(name, tuple(sample))
    assert frame["tier"].nunique() >= 4
    # most kinds of decision are met under each policy
    assert frame["decision"].nunique() >= (4 if name == "default" else 3)


def test_the_half_cent_tie_is_taken_through_the_engine_expression() -> None:
    app = valid([tie_application()])
    policy = edited({"need_limit.grace_days": 3, "rounding.limit_unit.CNY": Decimal("0.01")})
    facts, lines = facts_frame([(app[0], default_prices())], policy)
    spend = spend_frame(facts, lines, policy)
    expected, peak = int(spend.expected[0]), int(spend.peak[0])
    assert (expected, peak) == (30000001, 45000002)
    assert (2 * expected + (peak - expected)) * 10 % (2 * 30) * 2 == 2 * 30  # exactly ½ cent
    frame = evaluate_frame(facts, lines, policy)
    assert frame["approved_limit"].tolist() == [12500001]  # bound by the need, to the cent
    assert engine_rows(app, policy)[0][3] == 12500001


def test_the_unchanged_policy_gives_no_difference(sample: list[Application]) -> None:
    facts, lines = facts_frame([(app, default_prices()) for app in sample], default_policy())
    before = evaluate_frame(facts, lines, default_policy())
    after = evaluate_frame(facts, lines, edited({"version": "copy"}))
    assert before.equals(after)


def test_a_draft_the_vectorised_path_cannot_follow_is_refused(sample: list[Application]) -> None:
    facts, lines = facts_frame([(app, default_prices()) for app in sample[:5]], default_policy())
    substring = edited({"tiers.0.when": {"entity_type": {"in": "listed_company"}}})
    with pytest.raises(Unsupported, match="`in` needs a list"):
        evaluate_frame(facts, lines, substring)
    ordered_text = edited({"tiers.0.when": {"score": {"gte": "seventy"}}})
    with pytest.raises(Unsupported, match="needs a number"):
        evaluate_frame(facts, lines, ordered_text)


def test_sub_cent_money_is_refused_not_rounded() -> None:
    raw = tie_application()
    raw["profile"]["requested_limit"] = Decimal("150000.005")
    with pytest.raises(Unsupported, match="requested_limit"):
        facts_frame([(valid([raw])[0], default_prices())], default_policy())


# ----------------------------------------------------------------- on real files


@pytest.fixture()
def portfolio_dir(tmp_path: Path) -> Path:
    """The example workbooks, the example JSON applications, and a decision JSON to skip."""
    folder = tmp_path / "book"
    shutil.copytree(EXAMPLE_WORKBOOKS, folder / "workbooks")
    for name, raw in example_applications():
        (folder / "json").mkdir(parents=True, exist_ok=True)
        (folder / "json" / name).write_text(json.dumps(raw, default=str), "utf-8")
    (folder / "json" / "decision.json").write_text('{"decision": "approve"}', "utf-8")
    return folder


def test_a_stricter_draft_moves_the_prime_customers_down(portfolio_dir: Path) -> None:
    draft = edited({"version": "prime-95", "tiers.0.when": {"score": {"gte": 95}}})
    summary, table, portfolio = simulate([portfolio_dir], draft, default_policy())
    assert portfolio.skipped == []  # the decision JSON is not an application: not listed
    assert summary["applications"] == 14
    prime = table["tier_before"] == "T1"
    assert prime.sum() == 4
    assert (table["changed"] == prime).all()
    assert (table.loc[prime, "tier_after"] == "T2").all()
    assert summary["tier_changed"] == 4 and summary["changed"] == 4
    limit_drop = (table["approved_limit_before"] - table["approved_limit_after"]).sum()
    assert summary["unsecured_exposure_change"] <= 0 and limit_drop >= 0


def test_the_folders_read_workbooks_and_json_alike(portfolio_dir: Path) -> None:
    portfolio = read_portfolio([portfolio_dir], default_policy())
    facts = portfolio.facts.assign(file=[Path(f).stem for f in portfolio.files])
    by_kind = facts.groupby(facts["file"])["requested_limit"].nunique()
    assert (by_kind == 1).all()  # each example read from its workbook and its JSON agrees


# ------------------------------------------------------------------- the command


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, str | Enum | date):
        return json.dumps(str(value.value if isinstance(value, Enum) else value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    pairs = (f"{json.dumps(str(key))} = {toml_value(item)}" for key, item in value.items())
    return "{" + ", ".join(pairs) + "}"


def without_nulls(value: Any) -> Any:
    """TOML has no null: drop null fields, and the score bands that match a missing fact
    (the shipped `eq: null` band scores the same 0 points as the default row after it)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [without_nulls(v) for v in value if not matches_missing(v)]
    return value


def matches_missing(value: Any) -> bool:
    when = value.get("when", {}) if isinstance(value, dict) else {}
    return any(None in comparisons.values() for comparisons in when.values())


def write_toml(path: Path, policy: Policy) -> None:
    data = without_nulls(policy.model_dump(exclude={"examples"}))
    path.write_text("\n".join(f"{key} = {toml_value(v)}" for key, v in data.items()), "utf-8")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_creditbook("simulate", *args)


def test_cli_yaml_draft_writes_an_xlsx_table_with_a_boolean_changed(
    portfolio_dir: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load((ROOT / "creditbook" / "data" / "policy.yaml").read_text("utf-8"))
    data["tiers"][0]["when"] = {"score": {"gte": 95}}
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    out = tmp_path / "diff.xlsx"
    result = run_cli("--policy", draft, portfolio_dir, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "tier_changed: 4" in result.stdout and "skipped_files: 0" in result.stdout
    table = pd.read_excel(out, sheet_name="Diff", engine="openpyxl")
    assert table["changed"].dtype == bool and table["changed"].sum() == 4
    assert len(table) == 14
    wb = load_workbook(out)
    assert "SimulationDiff" in wb["Diff"].tables
    assert wb["Diff"]["A1"].style == "cb_header"


def test_cli_toml_draft_unchanged_policy_writes_csv_without_changes(
    portfolio_dir: Path, tmp_path: Path
) -> None:
    draft = tmp_path / "draft.toml"
    write_toml(draft, default_policy())
    out = tmp_path / "diff.csv"
    result = run_cli("--policy", draft, portfolio_dir, "-o", out, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["summary"]["changed"] == 0 and len(payload["rows"]) == 14
    assert payload["summary"]["unsecured_exposure_change"] == 0
    table = pd.read_csv(out)
    assert table["changed"].dtype == bool and not table["changed"].any()
    assert (table["approved_limit_before"] == table["approved_limit_after"]).all()


def test_cli_workbook_policy_sheet_draft(portfolio_dir: Path, tmp_path: Path) -> None:
    draft = tmp_path / "draft.xlsm"
    shutil.copy(EXAMPLE_WORKBOOKS / "listed_company.xlsm", draft)
    wb = load_workbook(draft, keep_vba=True)
    rows = read_policy_rows(wb)
    assert rows is not None
    row = next(row for row, path, _ in rows if path == "tiers[0].when.score.gte")
    wb["Policy"][f"C{row}"] = 95
    wb.save(draft)
    result = run_cli("--policy", draft, portfolio_dir, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    changed = [row for row in payload["rows"] if row["changed"]]
    assert len(changed) == payload["summary"]["tier_changed"] == 4
    assert {(row["tier_before"], row["tier_after"]) for row in changed} == {("T1", "T2")}


def test_cli_refuses_a_draft_it_cannot_simulate_exactly(
    portfolio_dir: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load((ROOT / "creditbook" / "data" / "policy.yaml").read_text("utf-8"))
    data["tiers"][0]["when"] = {"entity_type": {"in": "listed"}}
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    result = run_cli("--policy", draft, portfolio_dir)
    assert result.returncode == 2
    assert "cannot simulate exactly" in result.stderr
