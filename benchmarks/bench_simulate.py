"""How fast `creditbook simulate` re-evaluates a portfolio, against the per-application engine:

    python benchmarks/bench_simulate.py [--rows 1000000] [--sample 2000] [--seed 7]

Builds the facts frame of --rows synthetic applications directly (realistic mixes of entity types,
histories, currencies, 1–3 priced consumption lines each), then in one run times
(a) the vectorised path: `evaluate_frame` under the shipped policy and under a stricter draft, and
    the changed-row count between them, over all rows;
(b) `creditbook.core.engine.evaluate` under both policies on the first --sample of the same applications
    (built as `Application` objects from the frame's rows), and checks that both paths agree there.
Prints both rates and the speed-up. Not part of pytest: timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

from creditbook.core.engine import evaluate
from creditbook.core.models import Application, Currency
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceRow
from creditbook.data import default_policy, default_prices
from creditbook.portfolio.frames import (
    CATEGORIES,
    FACT_COLUMNS,
    LINE_COLUMNS,
    LINE_SCALE,
    MATERIALS,
    RATIO_SCALE,
    YEARS_SCALE,
)
from creditbook.portfolio.vectorised import DIFF_COLUMNS, decision_figures, differs, evaluate_frame

TARGET_SECONDS, TARGET_SPEED_UP = 5.0, 50.0
ENTITIES = {
    "listed": 0.05,
    "state_owned": 0.07,
    "public_sector": 0.05,
    "private_large": 0.2,
    "private_sme": 0.4,
    "startup": 0.18,
    "individual": 0.05,
}
GUARANTEES = {
    "none": 0.75,
    "parent_guarantee": 0.08,
    "bank_guarantee": 0.06,
    "letter_of_credit": 0.03,
    "credit_insurance": 0.08,
}


def pick(rng: np.random.Generator, weights: dict[Any, float], size: int) -> Any:
    keys = list(weights)
    return np.asarray(keys)[rng.choice(len(keys), size, p=np.asarray(list(weights.values())))]


def synthetic(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(facts, lines, token volumes per line) in the shapes `creditbook.portfolio.simulate` builds."""
    rng = np.random.default_rng(seed)
    months = np.where(rng.random(rows) < 0.3, 0, rng.geometric(1 / 18, rows))
    existing = months > 0
    guarantee = pick(rng, GUARANTEES, rows)
    hard = np.isin(guarantee, ["bank_guarantee", "letter_of_credit"])

    def money(low: float, high: float, share: float, unit: int = 1000) -> Any:
        amounts = np.exp(rng.uniform(np.log(low), np.log(high), rows)) // unit * unit * 100
        return np.where(rng.random(rows) < share, amounts, 0).astype(np.int64)

    facts = pd.DataFrame(
        {
            "customer": [f"Customer {i}" for i in range(rows)],
            "credit_code": "",
            "currency": np.where(rng.random(rows) < 0.15, "USD", "CNY"),
            "country": pick(rng, {"CN": 0.9, "HK": 0.06, "US": 0.04}, rows),
            "entity_type": pick(rng, ENTITIES, rows),
            "procurement": pick(
                rng, {"formal_po_contract": 0.45, "contract_only": 0.35, "ad_hoc": 0.2}, rows
            ),
            "guarantee_type": guarantee,
            "years_in_business": rng.integers(0, 81, rows) * YEARS_SCALE // 2,
            "relationship_months": months,
            "paid_invoices_12m": np.minimum(months, 12),
            "current_limit": np.where(
                existing & (rng.random(rows) < 0.3), money(10000, 2000000, 1.0), 0
            ),
            "materials": np.where(rng.random(rows) < 0.2, rng.integers(0, 16, rows), 0),
            "on_time_ratio_12m": np.where(
                existing, RATIO_SCALE - rng.geometric(0.4, rows) * RATIO_SCALE // 50, 0
            ).clip(0),
            "max_days_overdue_12m": np.where(
                existing & (rng.random(rows) < 0.4), rng.integers(1, 90, rows), 0
            ),
            "overdue_events_12m": np.where(existing, rng.poisson(0.8, rows), 0),
            "consecutive_overdue_invoices": np.where(existing, rng.poisson(0.3, rows), 0),
            "current_days_overdue": np.where(
                existing & (rng.random(rows) < 0.05), rng.integers(1, 60, rows), 0
            ),
            "current_overdue_amount": np.where(existing, money(1000, 200000, 0.05), 0),
            "requested_terms_days": rng.choice([0, 15, 30, 45, 60, 90], rows),
            "billing_cycle_days": rng.choice([7, 15, 30], rows, p=[0.1, 0.2, 0.7]),
            "requested_limit": money(10000, 5000000, 1.0),
            "deposit": money(5000, 500000, 0.2),
            "prepaid_balance": money(1000, 100000, 0.1, 100),
            "hard_guarantee": np.where(hard, money(50000, 1000000, 1.0), 0),
            "ramp_first": -1,
            "ramp_rest_max": -1,
        },
        columns=[*FACT_COLUMNS],
    )
    for name in CATEGORIES:
        facts[name] = facts[name].astype("category")

    prices = priced_rows()
    per_app = rng.integers(1, 4, rows)
    app = np.repeat(np.arange(rows), per_app)
    model = rng.integers(0, len(prices), len(app))
    tokens = pd.DataFrame(
        {
            "model": model,
            "input": np.exp(rng.uniform(0, np.log(30000), len(app))).astype(np.int64),
            "output": np.exp(rng.uniform(0, np.log(6000), len(app))).astype(np.int64),
        }
    )
    price_in = np.asarray([int(row.input_per_mtok * LINE_SCALE) for row in prices])[model]
    price_out = np.asarray([int(row.output_per_mtok * LINE_SCALE) for row in prices])[model]
    lines = pd.DataFrame(
        {
            "app": app,
            "amount": tokens["input"].to_numpy() * price_in
            + tokens["output"].to_numpy() * price_out,
            "source_currency": pd.Categorical.from_codes(
                [list(Currency).index(row.currency) for row in prices], list(Currency)
            )[model],
            "peak_factor": rng.choice([10000, 12000, 15000, 20000], len(app)),
            "high_cost": np.asarray([row.cost_class.value == "high" for row in prices])[model],
            "new_scenario": rng.random(len(app)) < 0.2,
        },
        columns=[*LINE_COLUMNS],
    )
    return facts, lines, tokens


def application(facts: pd.DataFrame, lines: pd.DataFrame, tokens: pd.DataFrame, i: int) -> Any:
    """Row i of the frames as the engine's Application."""
    row = facts.iloc[i]
    prices = priced_rows()
    own = np.flatnonzero(lines["app"].to_numpy() == i)
    new = row["relationship_months"] == 0
    return Application.model_validate(
        {
            "profile": {
                "customer_name": row["customer"],
                "country": row["country"],
                "entity_type": row["entity_type"],
                "years_in_business": Decimal(int(row["years_in_business"])) / YEARS_SCALE,
                "procurement": row["procurement"],
                "payment_terms_days": int(row["requested_terms_days"]),
                "relationship_months": int(row["relationship_months"]),
                "on_time_ratio_12m": None
                if new
                else Decimal(int(row["on_time_ratio_12m"])) / RATIO_SCALE,
                "max_days_overdue_12m": int(row["max_days_overdue_12m"]),
                "overdue_events_12m": int(row["overdue_events_12m"]),
                "consecutive_overdue_invoices": int(row["consecutive_overdue_invoices"]),
                "current_overdue_amount": Decimal(int(row["current_overdue_amount"])) / 100,
                "current_days_overdue": int(row["current_days_overdue"]),
                "guarantee_type": row["guarantee_type"],
                "guarantee_amount": Decimal(int(row["hard_guarantee"])) / 100,
                "requested_limit": Decimal(int(row["requested_limit"])) / 100,
                "current_limit": Decimal(int(row["current_limit"])) / 100,
                "new_materials": [
                    material
                    for bit, material in enumerate(MATERIALS)
                    if int(row["materials"]) >> bit & 1
                ],
                "currency": row["currency"],
                "application_date": date(2026, 11, 28),
            },
            "consumption": [
                {
                    "provider": prices[tokens["model"].iat[j]].provider,
                    "model": prices[tokens["model"].iat[j]].model,
                    "input_mtok_month": int(tokens["input"].iat[j]),
                    "output_mtok_month": int(tokens["output"].iat[j]),
                    "context_ktok": prices[tokens["model"].iat[j]].min_context_ktok,
                    "peak_factor": Decimal(int(lines["peak_factor"].iat[j])) / YEARS_SCALE,
                    "scenario": "new" if lines["new_scenario"].iat[j] else "existing",
                }
                for j in own
            ],
            "buffers": {
                "deposit": Decimal(int(row["deposit"])) / 100,
                "prepaid_balance": Decimal(int(row["prepaid_balance"])) / 100,
                "billing_cycle_days": int(row["billing_cycle_days"]),
            },
        }
    )


def priced_rows() -> list[PriceRow]:
    """The rows a line names through its model and `context_ktok` alone: the peak rows that are
    the only peak row of their model's context tier (the engine prices with exactly these)."""
    rows = default_prices().rows

    def tier(row: PriceRow) -> tuple[Any, ...]:
        return row.provider, row.model, row.min_context_ktok

    peak = [row for row in rows if row.peak]
    return [row for row in peak if sum(tier(other) == tier(row) for other in peak) == 1]


def draft_policy() -> Policy:
    """A stricter draft: every tier needs ten more points."""
    data = default_policy().model_dump(exclude={"examples"})
    for tier in data["tiers"][:-1]:
        tier["when"]["score"]["gte"] += 10
    data["version"] = "stricter"
    return Policy.model_validate(data)


def engine_figures(app: Application, policy: Policy) -> tuple[Any, ...]:
    return decision_figures(evaluate(app, policy, default_prices(), evaluated_at=datetime.now(UTC)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; numpy {np.__version__}, ", end="")
    print(f"pandas {pd.__version__}")
    current, draft = default_policy(), draft_policy()

    started = time.perf_counter()
    facts, lines, tokens = synthetic(args.rows, args.seed)
    print(
        f"synthetic frames: {args.rows:,} applications, {len(lines):,} consumption lines, ", end=""
    )
    print(f"built in {time.perf_counter() - started:.1f} s (not timed below)")

    started = time.perf_counter()
    before = evaluate_frame(facts, lines, current)
    after = evaluate_frame(facts, lines, draft)
    changed = np.logical_or.reduce([differs(before, after, c) for c in DIFF_COLUMNS])
    vectorised = time.perf_counter() - started
    vector_rate = args.rows / vectorised
    print(
        f"(a) vectorised, both policies: {vectorised:.2f} s for {args.rows:,} applications ", end=""
    )
    print(f"= {vector_rate:,.0f} applications/s; {int(changed.sum()):,} changed")

    apps = [application(facts, lines, tokens, i) for i in range(args.sample)]
    started = time.perf_counter()
    engine = [(engine_figures(app, current), engine_figures(app, draft)) for app in apps]
    engine_seconds = time.perf_counter() - started
    engine_rate = args.sample / engine_seconds
    print(
        f"(b) engine, both policies: {engine_seconds:.2f} s for {args.sample:,} applications ",
        end="",
    )
    print(f"= {engine_rate:,.0f} applications/s")

    def figures(frame: pd.DataFrame, i: int) -> tuple[Any, ...]:
        return tuple(
            v.item() if hasattr(v, "item") else v for v in frame.iloc[i][list(DIFF_COLUMNS)]
        )

    agree = all(engine[i] == (figures(before, i), figures(after, i)) for i in range(args.sample))
    print(f"sample: vectorised figures equal the engine's: {'yes' if agree else 'NO'}")
    speed_up = vector_rate / engine_rate
    print(f"vectorised {vectorised:.2f} s (target < {TARGET_SECONDS:.0f} s): ", end="")
    print("pass" if vectorised < TARGET_SECONDS else "miss")
    print(f"speed-up {speed_up:,.0f}× (target ≥ {TARGET_SPEED_UP:.0f}×): ", end="")
    print("pass" if speed_up >= TARGET_SPEED_UP else "miss")


if __name__ == "__main__":
    main()
