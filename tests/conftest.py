"""Shared fixtures: the shipped policy and prices, a fixed clock, one sound application, and the
database servers and Spark session the portfolio tests read from.

Hypothesis profiles: `default` (every test run, CI included), `report` (scripts/reliability.py)
and `fuzz` (a long campaign: `HYPOTHESIS_PROFILE=fuzz python -m pytest tests/core/test_fuzz.py`, see
README "Fuzzing").
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import settings
from servers import MySQL, Postgres, mysql_server, postgres_cluster, spark_session

from creditbook.core.assess import Assessment, assess
from creditbook.core.models import Decision
from creditbook.core.policy import Policy
from creditbook.core.policy_check import merged
from creditbook.core.prices import PriceTable
from creditbook.data import default_policy, default_prices

Raw = dict[str, Any]

settings.register_profile("default", max_examples=300, deadline=None, print_blob=True)
settings.register_profile("report", max_examples=5_000, deadline=None, print_blob=True)
settings.register_profile("fuzz", max_examples=50_000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# An existing large private customer with a clean record: tier T2, approved as asked (150,000).
# Spend: qwen3-max at its 0–32k context tier (16k a request) 20,000 × ¥2.5 + 4,000 × ¥10 = ¥90,000
# a month, peak ¥117,000.
SOUND_APPLICATION: Raw = {
    "profile": {
        "customer_name": "示例客户 Example Co.",
        "credit_code": "91110000802100433B",
        "entity_type": "private_large",
        "years_in_business": 8,
        "procurement": "formal_po_contract",
        "payment_terms_days": 30,
        "relationship_months": 18,
        "on_time_ratio_12m": 0.97,
        "max_days_overdue_12m": 3,
        "overdue_events_12m": 1,
        "requested_limit": 150000,
        "currency": "CNY",
        "application_date": "2026-11-28",
    },
    "consumption": [
        {
            "provider": "aliyun_bailian",
            "model": "qwen3-max",
            "input_mtok_month": 20000,
            "output_mtok_month": 4000,
            "peak_factor": 1.3,
            "context_ktok": 16,
        }
    ],
    "buffers": {"billing_cycle_days": 15},
}


@pytest.fixture(scope="session")
def policy() -> Policy:
    return default_policy()


@pytest.fixture(scope="session")
def prices() -> PriceTable:
    return default_prices()


@pytest.fixture(scope="session")
def evaluated_at() -> datetime:
    return datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def base_application() -> Callable[..., Raw]:
    """`base_application()` → a fresh sound application; `base_application(override)` deep-merges."""

    def build(override: Mapping[str, Any] | None = None) -> Raw:
        return merged(copy.deepcopy(SOUND_APPLICATION), copy.deepcopy(override or {}))

    return build


@pytest.fixture(scope="session")
def assess_raw(
    policy: Policy, prices: PriceTable, evaluated_at: datetime
) -> Callable[[Any], Assessment]:
    return lambda raw: assess(raw, policy, prices, evaluated_at=evaluated_at)


@pytest.fixture(scope="session")
def decide(assess_raw: Callable[[Any], Assessment]) -> Callable[[Any], Decision]:
    """The decision for an application that must be free of input errors."""

    def run(raw: Any) -> Decision:
        result = assess_raw(raw)
        problems = [issue.render("en") for issue in result.issues]
        assert result.decision is not None, f"no decision: {problems}"
        return result.decision

    return run


# Servers the portfolio tests read from, each started once per run (here, not in a conftest of
# their own: test modules import this one as `conftest`).
@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with postgres_cluster() as server:
        yield server


@pytest.fixture(scope="session")
def spark() -> Any:
    return spark_session()


@pytest.fixture(scope="session")
def mysql() -> Iterator[MySQL]:
    with mysql_server() as server:
        yield server
