"""The shipped policy: its worked examples, consistency checks on load, and its content hash."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
import yaml

from creditbook.core.policy import Example, Policy, parse_policy
from creditbook.core.policy_check import run_example
from creditbook.core.prices import PriceTable
from creditbook.data import default_policy

SHIPPED = default_policy()
assert SHIPPED.examples is not None
CASES = SHIPPED.examples.cases

PolicyData = dict[str, Any]


def shipped_data() -> PolicyData:
    """The shipped policy YAML as plain data, fresh for each edit."""
    data: PolicyData = yaml.safe_load(
        resources.files("creditbook.data").joinpath("policy.yaml").read_text("utf-8")
    )
    return data


def loaded(data: PolicyData) -> Policy:
    return parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def tier_named(data: PolicyData, tier_id: str) -> dict[str, Any]:
    return next(tier for tier in data["tiers"] if tier["id"] == tier_id)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_worked_example(case: Example, policy: Policy, prices: PriceTable) -> None:
    assert policy.examples is not None
    result = run_example(policy, prices, policy.examples.base, case)
    assert result.passed, result.summary


def test_policy_carries_enough_worked_examples() -> None:
    assert len(CASES) >= 8
    assert len({case.name for case in CASES}) == len(CASES)


def test_worked_examples_cover_every_decision_and_an_input_error() -> None:
    decisions = {case.expect.get("decision") for case in CASES}
    assert {"approve", "approve_with_conditions", "counter_offer", "prepaid_only"} <= decisions
    assert any("error_at" in case.expect for case in CASES)


def test_a_wrong_expectation_fails_its_example(policy: Policy, prices: PriceTable) -> None:
    assert policy.examples is not None
    wrong = CASES[0].model_copy(update={"expect": {**CASES[0].expect, "tier": "T5"}})
    result = run_example(policy, prices, policy.examples.base, wrong)
    assert not result.passed
    assert "tier" in result.summary


def break_last_tier(data: PolicyData) -> None:
    data["tiers"][-1]["when"] = {"score": {"gte": 0}}


def break_hard_rule_tier(data: PolicyData) -> None:
    data["hard_rules"][0]["max_tier"] = "T9"


def break_tier_fact(data: PolicyData) -> None:
    tier_named(data, "T2")["when"] = {"scor": {"gte": 60}}


def break_hard_rule_fact(data: PolicyData) -> None:
    data["hard_rules"][0]["when"] = {"days_late": {"gt": 30}}


def break_over_limit_playbook(data: PolicyData) -> None:
    first_restriction = next(
        step
        for step in data["stop_loss"]
        if step["trigger"] == "over_limit" and set(step["actions"]) - {"notify"}
    )
    first_restriction["actions"] = ["suspend_service"]


def break_over_limit_hard_stop(data: PolicyData) -> None:
    data["stop_loss"] = [
        step
        for step in data["stop_loss"]
        if not (step["trigger"] == "over_limit" and "suspend_service" in step["actions"])
    ]


def break_playbook_limits(data: PolicyData) -> None:
    del data["playbook_limits"]["overdue"]


def break_tier_order(data: PolicyData) -> None:
    tier_named(data, "T3")["max_limit"] = 9000000


def break_default_tier_structure(data: PolicyData) -> None:
    data["tiers"][-1]["structure"] = "deposit_backed"


def break_missing_fx_rate(data: PolicyData) -> None:
    data["fx"]["rates"] = {}


def break_too_few_examples(data: PolicyData) -> None:
    data["examples"]["cases"] = data["examples"]["cases"][:3]


BROKEN = {
    "last tier not a default row": (break_last_tier, "the last tier must be the default row"),
    "hard rule names an unknown tier": (break_hard_rule_tier, "unknown tier 'T9'"),
    "tier uses an unknown fact": (break_tier_fact, "tier T2: unknown fact 'scor'"),
    "hard rule uses an unknown fact": (break_hard_rule_fact, "unknown fact 'days_late'"),
    "over-limit first step suspends service": (
        break_over_limit_playbook,
        "the first over-limit restriction must pause new quota",
    ),
    "over-limit playbook without a hard stop": (
        break_over_limit_hard_stop,
        "stop_loss: over limit has no hard stop",
    ),
    "playbook limits missing a trigger": (
        break_playbook_limits,
        "playbook_limits is missing overdue",
    ),
    "worse tier more generous": (break_tier_order, "tier T3 must not be more generous than T2"),
    "default tier not prepaid": (
        break_default_tier_structure,
        "the default (last) tier must be prepaid",
    ),
    "fx rate missing": (break_missing_fx_rate, "fx.rates is missing USD"),
    "fewer than 8 worked examples": (break_too_few_examples, "at least 8"),
}


@pytest.mark.parametrize("breakage, message", BROKEN.values(), ids=BROKEN.keys())
def test_broken_policy_is_rejected_on_load(
    breakage: Callable[[PolicyData], None], message: str
) -> None:
    data = shipped_data()
    breakage(data)
    with pytest.raises(ValueError, match=re.escape(message)):
        loaded(data)


def test_score_factor_cannot_refer_to_the_score() -> None:
    data = shipped_data()
    data["score_factors"][0]["bands"][0]["when"] = {"score": {"gte": 50}}
    with pytest.raises(ValueError, match="score"):
        loaded(data)


def test_worse_tier_with_a_longer_billing_cycle_is_rejected() -> None:
    data = shipped_data()
    tier_named(data, "T4")["max_billing_cycle_days"] = 30
    with pytest.raises(ValueError, match="tier T4 must not be more generous than T3"):
        loaded(data)


def test_an_unedited_round_trip_loads_the_same_policy() -> None:
    assert loaded(shipped_data()) == SHIPPED


def test_policy_hash_is_stable() -> None:
    assert default_policy().content_hash() == SHIPPED.content_hash()
    assert loaded(shipped_data()).content_hash() == SHIPPED.content_hash()
    assert len(SHIPPED.content_hash()) == 64


def test_policy_hash_ignores_the_worked_examples() -> None:
    data = shipped_data()
    data["examples"]["cases"][0]["name"] = "renamed example"
    data["examples"]["base"]["profile"]["requested_limit"] = 1
    assert loaded(data).content_hash() == SHIPPED.content_hash()
    del data["examples"]
    assert loaded(data).content_hash() == SHIPPED.content_hash()


def test_the_monitoring_block_at_its_default_keeps_the_hash_of_policies_without_it() -> None:
    """Policies hashed before the monitoring block existed (days in UTC) keep their hash; a
    reseller's own day boundary is a rule, so it is hashed."""
    data = shipped_data()
    assert data["monitoring"] == {"utc_offset": "+00:00"}
    del data["monitoring"]
    assert loaded(data).content_hash() == SHIPPED.content_hash()
    data["monitoring"] = {"utc_offset": "+08:00"}
    assert loaded(data).content_hash() != SHIPPED.content_hash()
    data["monitoring"] = {"utc_offset": "8"}
    with pytest.raises(ValueError, match="utc_offset"):
        loaded(data)


@pytest.mark.parametrize(
    "edit",
    [
        lambda data: data["appetite"].update(max_unsecured_exposure=2000001),
        lambda data: data["fx"]["rates"].update(USD=7.11),
        lambda data: tier_named(data, "T2").update(limit_multiple=2.5),
        lambda data: data["score_factors"][0]["bands"][0].update(points=19),
        lambda data: data["hard_rules"][0].update(review_interval_days=29),
    ],
    ids=["appetite", "fx rate", "tier multiple", "score points", "review interval"],
)
def test_policy_hash_changes_when_a_number_changes(edit: Callable[[PolicyData], None]) -> None:
    data = shipped_data()
    edit(data)
    assert loaded(data).content_hash() != SHIPPED.content_hash()
