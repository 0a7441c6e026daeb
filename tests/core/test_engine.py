"""The evaluation, rule by rule of the credit doctrine, against the shipped default policy."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from creditbook.core.assess import Assessment, assess
from creditbook.core.models import Action, Decision, DecisionKind, Structure, Trigger
from creditbook.core.policy import Policy, Pricing
from creditbook.core.prices import PriceTable

Build = Callable[..., dict[str, Any]]
Decide = Callable[[Any], Decision]
EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "applications").glob("*.json"))
NO_HISTORY = {"on_time_ratio_12m": None, "max_days_overdue_12m": 0, "overdue_events_12m": 0}
SPOTLESS = {"on_time_ratio_12m": 0.99, "max_days_overdue_12m": 0, "overdue_events_12m": 0}
CENT = Decimal("0.01")
# The sound application's line: ¥90,000 a month at qwen3-max's 0–32k tier.
SOUND_LINE = {
    "provider": "aliyun_bailian",
    "model": "qwen3-max",
    "input_mtok_month": 20000,
    "output_mtok_month": 4000,
    "context_ktok": 16,
}


def example(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"), parse_float=Decimal)


def profile(**fields: Any) -> dict[str, Any]:
    return {"profile": fields}


def lines(*consumption: dict[str, Any]) -> dict[str, Any]:
    return {"consumption": list(consumption)}


def rank(policy: Policy, decision: Decision) -> int:
    return policy.tier_rank(decision.tier)


@pytest.fixture(scope="module")
def example_decisions(decide: Decide) -> dict[str, Decision]:
    return {path.name: decide(example(path)) for path in EXAMPLES}


# ------------------------------------------------------------------ score and tier


def test_the_sound_application_is_approved_as_asked(
    base_application: Build, decide: Decide
) -> None:
    decision = decide(base_application())
    assert (decision.decision, decision.tier) == (DecisionKind.APPROVE, "T2")
    assert decision.approved_limit == decision.requested_limit == Decimal(150000)
    assert decision.structure is Structure.MONTHLY_SETTLEMENT


def test_score_breakdown_sums_to_score(example_decisions: dict[str, Decision]) -> None:
    for decision in example_decisions.values():
        assert sum(line.points for line in decision.score_breakdown) == decision.score


def test_score_breakdown_has_one_line_per_policy_factor(
    example_decisions: dict[str, Decision], policy: Policy
) -> None:
    factors = [factor.id for factor in policy.score_factors]
    for decision in example_decisions.values():
        assert [line.factor for line in decision.score_breakdown] == factors


def test_tier_trace_names_the_score_row_that_fired(base_application: Build, decide: Decide) -> None:
    decision = decide(base_application())
    assert decision.tier_trace[0].en == f"tier T2 Standard: score {decision.score} ≥ 60"
    assert decision.tier_trace[0].zh == f"评级 T2 标准：评分 {decision.score} ≥ 60"


def test_tier_trace_names_the_hard_rule_that_fired(base_application: Build, decide: Decide) -> None:
    decision = decide(
        base_application(profile(consecutive_overdue_invoices=2, overdue_events_12m=2))
    )
    fired = [line.en for line in decision.tier_trace if "2 or more consecutive" in line.en]
    assert fired and "lowered from T2" in fired[0]
    assert "consecutive overdue invoices 2 ≥ 2" in fired[0]
    assert not any("3 or more consecutive" in line.en for line in decision.tier_trace)
    assert not any("_" in line.en for line in decision.tier_trace)  # no rule ids


# ------------------------------------------------------------------ new customers


@pytest.mark.parametrize("entity_type", ["listed", "state_owned", "public_sector", "private_large"])
@pytest.mark.parametrize(
    "guarantee", [{}, {"guarantee_type": "bank_guarantee", "guarantee_amount": 500000}]
)
def test_new_customers_never_get_monthly_settlement(
    entity_type: str, guarantee: dict[str, Any], base_application: Build, decide: Decide
) -> None:
    new = profile(
        entity_type=entity_type,
        years_in_business=30,
        relationship_months=0,
        **NO_HISTORY,
        **guarantee,
    )
    decision = decide(base_application(new))
    assert decision.structure is not Structure.MONTHLY_SETTLEMENT
    assert decision.review_interval_days <= 30
    assert decision.next_review_date <= date(2026, 11, 28) + timedelta(days=30)
    assert any("new customer: yes" in line.en for line in decision.tier_trace)


def test_new_customer_line_opens_in_stages(base_application: Build, decide: Decide) -> None:
    decision = decide(
        base_application(profile(entity_type="listed", relationship_months=0, **NO_HISTORY))
    )
    assert decision.approved_limit > 0
    assert decision.ramp[0].from_day == 0
    assert decision.ramp[0].limit < decision.approved_limit == decision.ramp[-1].limit
    assert [step.limit for step in decision.ramp] == sorted(step.limit for step in decision.ramp)


# ------------------------------------------------------------------ overdue history


@pytest.mark.parametrize(
    "history, at_most",
    [
        ({"consecutive_overdue_invoices": 2, "overdue_events_12m": 2}, "T4"),
        ({"consecutive_overdue_invoices": 3, "overdue_events_12m": 3}, "T5"),
        ({"max_days_overdue_12m": 45}, "T3"),
        ({"max_days_overdue_12m": 75}, "T4"),
        ({"overdue_events_12m": 4}, "T4"),
        ({"current_overdue_amount": 1000, "current_days_overdue": 10}, "T3"),
        ({"current_overdue_amount": 1000, "current_days_overdue": 31}, "T5"),
    ],
)
def test_overdue_history_lowers_the_tier(
    history: dict[str, Any],
    at_most: str,
    base_application: Build,
    decide: Decide,
    policy: Policy,
) -> None:
    clean = decide(base_application(profile(**SPOTLESS)))
    overdue = decide(base_application(profile(**{**SPOTLESS, **history})))
    assert rank(policy, overdue) > rank(policy, clean)
    assert rank(policy, overdue) >= policy.tier_rank(at_most)
    assert overdue.approved_limit <= clean.approved_limit


@pytest.mark.parametrize(
    "history",
    [
        {"consecutive_overdue_invoices": 3, "overdue_events_12m": 3},
        {"current_overdue_amount": 1000, "current_days_overdue": 31},
    ],
)
def test_serious_overdue_means_prepaid_only(
    history: dict[str, Any], base_application: Build, decide: Decide
) -> None:
    decision = decide(base_application(profile(entity_type="listed", **history)))
    assert decision.decision is DecisionKind.PREPAID_ONLY
    assert decision.structure is Structure.PREPAID
    assert decision.approved_limit == 0 and decision.payment_terms_days == 0
    assert decision.downgrade_triggers == ()


def test_thirty_days_overdue_now_is_not_yet_prepaid_only(
    base_application: Build, decide: Decide
) -> None:
    decision = decide(
        base_application(profile(current_overdue_amount=1000, current_days_overdue=30))
    )
    assert decision.structure is not Structure.PREPAID
    assert "all overdue invoices paid before the line opens" in [c.en for c in decision.conditions]


# ------------------------------------------------------------------ stop-loss playbook


def test_default_over_limit_playbook_pauses_before_it_cuts(
    base_application: Build, decide: Decide
) -> None:
    over_limit = [
        rule for rule in decide(base_application()).stop_loss if rule.trigger is Trigger.OVER_LIMIT
    ]
    restricting = [rule for rule in over_limit if set(rule.actions) - {Action.NOTIFY}]
    first = restricting[0]
    assert {Action.PAUSE_NEW_QUOTA, Action.DISABLE_HIGH_COST_MODELS} <= set(first.actions)
    assert Action.SUSPEND_SERVICE not in first.actions
    stop = next(rule for rule in over_limit if Action.SUSPEND_SERVICE in rule.actions)
    assert first.threshold < stop.threshold
    assert any(
        Action.REQUEST_EMERGENCY_APPROVAL in rule.actions and rule.threshold < stop.threshold
        for rule in over_limit
    )


def test_stop_loss_steps_escalate_to_the_next_step_of_their_trigger(
    base_application: Build, decide: Decide, policy: Policy
) -> None:
    rules = decide(base_application()).stop_loss
    assert {rule.trigger for rule in rules} == set(Trigger)
    for trigger in Trigger:
        steps = [rule for rule in rules if rule.trigger is trigger]
        assert [step.threshold for step in steps] == sorted({step.threshold for step in steps})
        for step, following in itertools.pairwise(steps):
            assert step.escalation == following.actions
        assert steps[-1].escalation == policy.final_escalation.get(trigger, ())
        assert all(step.recovery for step in steps)


def test_customer_playbook_replaces_the_default(base_application: Build, decide: Decide) -> None:
    step = {"threshold": 1, "recovery": ["payment_received"]}
    playbook = [
        {
            **step,
            "trigger": "over_limit",
            "actions": [
                "notify",
                "pause_new_quota",
                "disable_high_cost_models",
                "request_emergency_approval",
            ],
        },
        {**step, "trigger": "over_limit", "threshold": 1.5, "actions": ["suspend_service"]},
        {**step, "trigger": "abnormal_usage", "threshold": 3, "actions": ["rate_limit"]},
        {**step, "trigger": "overdue", "actions": ["rate_limit", "request_emergency_approval"]},
        {**step, "trigger": "overdue", "threshold": 60, "actions": ["switch_to_prepaid"]},
    ]
    rules = decide(base_application({"stop_loss": playbook})).stop_loss
    assert [(rule.trigger.value, list(rule.actions)) for rule in rules] == [
        (entry["trigger"], entry["actions"]) for entry in playbook
    ]


# ------------------------------------------------------------------ alternatives


def test_prepaid_only_offers_prepaid_with_auto_recharge_from_expected_spend(
    base_application: Build, decide: Decide, policy: Policy
) -> None:
    decision = decide(
        base_application(profile(consecutive_overdue_invoices=3, overdue_events_12m=3))
    )
    assert decision.decision is DecisionKind.PREPAID_ONLY
    prepaid = [alt for alt in decision.alternatives if alt.structure is Structure.PREPAID]
    assert len(prepaid) == 1
    offer = prepaid[0]
    assert offer.auto_recharge_threshold is not None and offer.auto_recharge_amount is not None
    daily = decision.exposure.expected_monthly_spend / 30
    advice = policy.prepaid_advice
    assert (
        0
        < daily * advice.threshold_days
        <= offer.auto_recharge_threshold
        < daily * advice.threshold_days + 100
    )
    assert (
        0
        < daily * advice.recharge_days
        <= offer.auto_recharge_amount
        < daily * advice.recharge_days + 100
    )
    assert offer.description.en in [condition.en for condition in decision.conditions]


def test_counter_offer_includes_alternatives(base_application: Build, decide: Decide) -> None:
    """A new private company without history is deposit-backed (the tier caps it at one month of
    spend); the alternatives are prepaid, and the deposit that carries the line it needs, exactly
    as the engine decides it with that deposit posted."""
    new = profile(relationship_months=0, requested_limit=1000000, **NO_HISTORY)
    decision = decide(base_application(new))
    assert decision.decision is DecisionKind.COUNTER_OFFER
    structures = [alternative.structure for alternative in decision.alternatives]
    assert Structure.PREPAID in structures and Structure.DEPOSIT_BACKED in structures
    backed = next(alt for alt in decision.alternatives if alt.structure is Structure.DEPOSIT_BACKED)
    assert decision.approved_limit < backed.limit <= decision.requested_limit
    posted = decide(base_application({**new, "buffers": {"deposit": backed.required_deposit}}))
    assert (posted.approved_limit, posted.structure) == (backed.limit, backed.structure)


def test_a_request_far_above_need_is_reduced_to_the_need(
    base_application: Build, decide: Decide
) -> None:
    decision = decide(base_application(profile(requested_limit=1000000)))
    assert decision.decision is DecisionKind.APPROVE_REDUCED
    assert [cap.id for cap in decision.limit_caps if cap.binding] == ["need"]
    assert decision.approved_limit < decision.requested_limit


def test_a_plain_approval_offers_no_alternatives(base_application: Build, decide: Decide) -> None:
    assert decide(base_application()).alternatives == ()


# ------------------------------------------------------------------ review date


@pytest.mark.parametrize(
    "renewal, expected",
    [
        (None, date(2026, 11, 28) + timedelta(days=90)),
        ("2027-01-15", date(2027, 1, 15)),
        ("2027-02-26", date(2027, 2, 26)),
        ("2027-06-30", date(2026, 11, 28) + timedelta(days=90)),
    ],
)
def test_next_review_is_the_earlier_of_interval_and_renewal(
    renewal: str | None, expected: date, base_application: Build, decide: Decide
) -> None:
    decision = decide(base_application(profile(contract_renewal_date=renewal)))
    assert decision.review_interval_days == 90
    assert decision.next_review_date == expected


# ------------------------------------------------------------------ consumption


def test_unknown_model_without_monthly_spend_is_an_error_naming_the_line(
    base_application: Build, assess_raw: Callable[[Any], Assessment]
) -> None:
    known = {"provider": "deepseek", "model": "deepseek-flash", "input_mtok_month": 100}
    unknown = {"provider": "anthropic", "model": "claude-imaginary", "input_mtok_month": 100}
    result = assess_raw(base_application(lines(known, unknown)))
    assert result.decision is None
    assert [issue.location for issue in result.issues] == ["consumption[1].model"]
    assert "anthropic/claude-imaginary" in result.issues[0].message.en


def test_unknown_model_with_monthly_spend_is_evaluated(
    base_application: Build, decide: Decide
) -> None:
    line = {
        "provider": "other",
        "model": "self-hosted",
        "monthly_spend": 25000,
        "cost_class": "low",
    }
    decision = decide(base_application(lines(line)))
    assert decision.exposure.expected_monthly_spend == Decimal(25000)


def test_tokens_times_list_price(base_application: Build, decide: Decide) -> None:
    exposure = decide(base_application()).exposure
    assert exposure.expected_monthly_spend == Decimal(20000 * 2.5 + 4000 * 10)
    assert exposure.peak_monthly_spend == Decimal(90000) * Decimal("1.3")


def test_a_stated_spend_within_tolerance_of_its_tokens_is_used_as_stated(
    base_application: Build, assess_raw: Callable[[Any], Assessment]
) -> None:
    # The tokens cost ¥90,000 (qwen3-max 0–32k tier); ¥80,000 is 11 % below, within 25 %.
    line = {**SOUND_LINE, "monthly_spend": Decimal("80000.5"), "peak_factor": 2}
    result = assess_raw(base_application(lines(line)))
    assert result.issues == ()
    assert result.decision is not None
    exposure = result.decision.exposure
    assert exposure.lines[0].monthly_spend == Decimal("80000.50")
    assert exposure.peak_monthly_spend == Decimal("160001.00")
    assert exposure.lines[0].basis.en == "stated monthly spend"


# DeepSeek v4-pro at its peak rate: 20,000 × ¥9 + 3,850 × ¥27 = ¥283,950 (off-peak half of it).
UNDERSTATED = {
    "provider": "deepseek",
    "model": "deepseek-v4-pro",
    "input_mtok_month": 20000,
    "output_mtok_month": 3850,
    "monthly_spend": 30000,
}


def test_a_stated_spend_far_below_its_tokens_warns_and_the_tokens_are_used(
    base_application: Build, assess_raw: Callable[[Any], Assessment]
) -> None:
    result = assess_raw(base_application(lines(SOUND_LINE, UNDERSTATED)))
    assert result.decision is not None
    [issue] = result.issues
    assert (issue.severity.value, issue.location) == ("warning", "consumption[1].monthly_spend")
    assert "¥30,000" in issue.message.zh and "¥283,950" in issue.message.zh
    assert "deepseek/deepseek-v4-pro" in issue.message.en and "¥283,950" in issue.message.en
    assert issue.message.zh.startswith("第 2 行")
    spend = result.decision.exposure.lines[1]
    assert spend.monthly_spend == Decimal("283950.00")
    assert "deepseek-v4-pro peak" in spend.basis.en
    assert result.decision.exposure.expected_monthly_spend == Decimal("373950.00")


def test_a_stated_spend_far_above_its_tokens_warns_and_is_used(
    base_application: Build, assess_raw: Callable[[Any], Assessment]
) -> None:
    line = {**SOUND_LINE, "monthly_spend": 500000}
    result = assess_raw(base_application(lines(line)))
    assert result.decision is not None
    assert [issue.location for issue in result.issues] == ["consumption[0].monthly_spend"]
    assert "¥500,000" in result.issues[0].message.en and "¥90,000" in result.issues[0].message.en
    assert result.decision.exposure.expected_monthly_spend == Decimal(500000)


def test_the_spend_tolerance_is_the_policy_s(
    base_application: Build, policy: Policy, prices: PriceTable, evaluated_at: datetime
) -> None:
    loose = policy.model_copy(update={"pricing": Pricing(spend_tolerance=Decimal("0.95"))})
    result = assess(base_application(lines(UNDERSTATED)), loose, prices, evaluated_at=evaluated_at)
    assert result.issues == ()
    assert result.decision is not None
    assert result.decision.exposure.expected_monthly_spend == Decimal(30000)


def test_usd_application_converts_cny_prices_at_the_policy_rate(
    base_application: Build, decide: Decide, policy: Policy
) -> None:
    decision = decide(base_application(profile(currency="USD", requested_limit=20000)))
    rate = policy.fx.rates["USD"]
    assert decision.currency.value == "USD"
    assert decision.exposure.expected_monthly_spend == (Decimal(90000) / rate).quantize(CENT)
    assert any("7.1" in reason.en for reason in decision.reasons)


def test_usd_application_prices_usd_lines_as_listed(
    base_application: Build, decide: Decide
) -> None:
    line = {
        "provider": "openai",
        "model": "gpt-4.1",
        "input_mtok_month": 100,
        "output_mtok_month": 10,
    }
    decision = decide(
        base_application({**profile(currency="USD", requested_limit=500), **lines(line)})
    )
    assert decision.exposure.expected_monthly_spend == Decimal(100 * 2 + 10 * 8)


def test_high_cost_share_follows_cost_class(base_application: Build, decide: Decide) -> None:
    consumption = lines(
        {"provider": "anthropic", "model": "claude-opus-5", "monthly_spend": 30000},
        {"provider": "deepseek", "model": "deepseek-flash", "monthly_spend": 10000},
        {"provider": "openai", "model": "gpt-6-astra", "monthly_spend": 20000, "cost_class": "low"},
        {"provider": "other", "model": "reranker", "monthly_spend": 40000, "cost_class": "high"},
    )
    exposure = decide(base_application(consumption)).exposure
    assert exposure.high_cost_share == Decimal("0.7")
    assert [line.cost_class.value for line in exposure.lines] == ["high", "low", "low", "high"]


# ------------------------------------------------------------------ exposure


def test_exposure_stays_within_the_approved_limit(
    example_decisions: dict[str, Decision], policy: Policy
) -> None:
    for decision in example_decisions.values():
        exposure = decision.exposure
        assert 0 <= exposure.unsecured_exposure <= decision.approved_limit
        drawn = (exposure.hard_stop_draw * exposure.upstream_cost_ratio).quantize(CENT)
        assert exposure.provider_cost_at_risk == max(drawn - exposure.security_held, 0)
        assert exposure.hard_stop_draw <= exposure.window_spend_peak


def test_required_deposit_reduces_unsecured_exposure(
    base_application: Build, decide: Decide, policy: Policy
) -> None:
    decision = decide(
        base_application(profile(relationship_months=0, **NO_HISTORY, entity_type="listed"))
    )
    assert (
        decision.required_deposit
        == decision.approved_limit * policy.tier(decision.tier).deposit_ratio
    )
    assert (
        decision.exposure.unsecured_exposure == decision.approved_limit - decision.required_deposit
    )


def test_hard_guarantee_and_deposit_are_secured(base_application: Build, decide: Decide) -> None:
    secured = decide(
        base_application(
            {
                **profile(guarantee_type="letter_of_credit", guarantee_amount=50000),
                "buffers": {"deposit": 30000, "prepaid_balance": 10000},
            }
        )
    )
    assert secured.exposure.secured_buffers == Decimal(90000)
    assert secured.exposure.unsecured_exposure == secured.approved_limit - Decimal(90000)


# ------------------------------------------------------------------ governance


def test_credit_decisions_carry_the_doctrine_downgrade_triggers(
    base_application: Build, decide: Decide
) -> None:
    triggers = {item.id: item for item in decide(base_application()).downgrade_triggers}
    assert {
        "consecutive_overdue",
        "consumption_surge",
        "high_cost_share_rise",
        "over_limit_use",
    } <= set(triggers)
    assert triggers["over_limit_use"].threshold == Decimal(150000)
    # 120 % of the stated peak, but at most 80 % of the line, so it fires before the line runs out
    assert triggers["consumption_surge"].threshold == min(
        Decimal(117000) * Decimal("1.2"), Decimal(150000) * Decimal("0.8")
    )


def test_upgrade_conditions_need_materials_guarantee_or_commitment(
    example_decisions: dict[str, Decision], policy: Policy
) -> None:
    words = {
        "new_materials": "statements",
        "added_guarantee": "guarantee",
        "purchase_commitment": "commitment",
    }
    required = {rule.id: words[rule.requires] for rule in policy.upgrade_conditions}
    assert set(words.values()) == set(required.values())
    for decision in example_decisions.values():
        conditions = {item.id: item.description for item in decision.upgrade_conditions}
        assert set(conditions) == set(required)
        for rule_id, word in required.items():
            assert word in conditions[rule_id].en
            assert "{threshold}" not in conditions[rule_id].en + conditions[rule_id].zh


def test_prepaid_only_upgrade_conditions_leave_a_path_to_credit(
    base_application: Build, decide: Decide
) -> None:
    decision = decide(
        base_application(profile(consecutive_overdue_invoices=3, overdue_events_12m=3))
    )
    assert decision.decision is DecisionKind.PREPAID_ONLY
    amounts = [item for item in decision.upgrade_conditions if item.unit == "amount"]
    assert amounts and all(item.threshold > 0 for item in amounts)


# ------------------------------------------------------------------ audit and serialization


def test_fingerprint_changes_with_any_input(base_application: Build, decide: Decide) -> None:
    fingerprint = decide(base_application()).audit.fingerprint
    changes = [
        profile(requested_limit=150001),
        profile(customer_name="Another Co."),
        {"buffers": {"deposit": 1}},
        profile(application_date="2026-11-29"),
    ]
    others = {decide(base_application(change)).audit.fingerprint for change in changes}
    assert fingerprint not in others and len(others) == len(changes)


def test_fingerprint_ignores_how_a_number_is_written(
    base_application: Build, decide: Decide
) -> None:
    short = decide(base_application(profile(requested_limit=Decimal("10.5"))))
    padded = decide(base_application(profile(requested_limit=Decimal("10.50"))))
    assert short.audit.fingerprint == padded.audit.fingerprint
    assert short.audit.application_hash == padded.audit.application_hash


def test_audit_records_policy_and_engine(
    base_application: Build, decide: Decide, policy: Policy
) -> None:
    audit = decide(base_application()).audit
    assert (audit.policy_id, audit.policy_version) == (policy.id, policy.version)
    assert audit.policy_hash == policy.content_hash()
    assert audit.engine_version


MONEY_FIELDS = ("approved_limit", "requested_limit", "required_deposit", "deposit_shortfall")
EXPOSURE_MONEY = (
    "expected_monthly_spend",
    "peak_monthly_spend",
    "need_based_limit",
    "secured_buffers",
    "unsecured_exposure",
    "provider_cost_at_risk",
)


def test_money_is_decimal_in_python_and_a_json_number(
    base_application: Build, decide: Decide
) -> None:
    decision = decide(base_application(profile(requested_limit=Decimal("150000.50"))))
    dumped = json.loads(decision.model_dump_json())
    for field in MONEY_FIELDS:
        assert isinstance(getattr(decision, field), Decimal)
        assert type(dumped[field]) in (int, float)
    for field in (*EXPOSURE_MONEY, "high_cost_share"):
        assert isinstance(getattr(decision.exposure, field), Decimal)
        assert type(dumped["exposure"][field]) in (int, float)
    assert dumped["requested_limit"] == 150000.5
    assert (
        Decimal(str(dumped["exposure"]["peak_monthly_spend"]))
        == decision.exposure.peak_monthly_spend
    )


def test_new_customer_with_a_small_line_is_evaluated(
    base_application: Build, decide: Decide
) -> None:
    new = profile(entity_type="listed", relationship_months=0, requested_limit=1000, **NO_HISTORY)
    small = lines(
        {"provider": "other", "model": "small", "monthly_spend": 1000, "cost_class": "standard"}
    )
    decision = decide(base_application({**new, **small}))
    assert decision.approved_limit == Decimal(1000)
    assert all(step.limit > 0 for step in decision.ramp)
