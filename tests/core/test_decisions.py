"""Decisions a credit manager signs: limit and structure decided together, security held counted,
increases need new materials, authority grows with the amount. Spend is stated per line, so these
figures do not move with the price table."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from creditbook.core.assess import assess
from creditbook.core.models import Decision, DecisionKind, Role, Structure
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable

Raw = dict[str, Any]
Decide = Callable[[Any], Decision]


def application(**profile: Any) -> Raw:
    """An established listed customer spending ¥595,000 a month on high-cost models (peak ×1.5),
    asking ¥800,000 on 30-day billing and 30-day terms."""
    raw: Raw = {
        "profile": {
            "customer_name": "高消耗客户 High-cost Co.",
            "credit_code": "91110000802100433B",
            "entity_type": "listed",
            "years_in_business": 12,
            "procurement": "formal_po_contract",
            "payment_terms_days": 30,
            "relationship_months": 24,
            "on_time_ratio_12m": Decimal("0.99"),
            "max_days_overdue_12m": 0,
            "overdue_events_12m": 0,
            "requested_limit": Decimal(800000),
            "currency": "CNY",
            "application_date": "2026-12-01",
        },
        "consumption": [
            {
                "provider": "other",
                "model": "frontier models",
                "monthly_spend": Decimal(595000),
                "cost_class": "high",
                "peak_factor": Decimal("1.5"),
            }
        ],
        "buffers": {"billing_cycle_days": 30},
    }
    raw["profile"].update(profile)
    return raw


def with_lines(raw: Raw, **line: Any) -> Raw:
    out = copy.deepcopy(raw)
    out["consumption"][0].update(line)
    return out


def with_buffers(raw: Raw, **buffers: Any) -> Raw:
    out = copy.deepcopy(raw)
    out["buffers"].update(buffers)
    return out


def test_a_line_that_would_run_out_before_its_first_invoice_gets_a_shorter_cycle(
    decide: Decide,
) -> None:
    """The reviewer's case: ¥800k on 30 + 30 days runs out on day 40 while the invoice is due on
    day 60. The structure tightens until expected spend to the first due day fits the line."""
    decision = decide(application())
    exposure = decision.exposure
    assert decision.approved_limit == 800000
    assert (decision.billing_cycle_days, decision.payment_terms_days) == (7, 30)
    assert exposure.first_invoice_due_day == 37
    assert exposure.days_to_exhaust == 40
    assert exposure.days_to_exhaust >= exposure.first_invoice_due_day
    assert exposure.window_days == 42
    assert decision.decision is DecisionKind.APPROVE_WITH_CONDITIONS


def test_standard_cost_spend_shortens_the_cycle_only_as_far_as_needed(decide: Decide) -> None:
    """Without the concentration rules (standard models), 30 + 30 = 60 days does not fit ¥800k at
    ¥595k a month (¥1.19M to day 60); the least restrictive fit keeps the 30-day terms and moves
    to a 7-day cycle (¥733,833 to day 37), since 15 + 30 = 45 days needs ¥892,500."""
    decision = decide(with_lines(application(), cost_class="standard"))
    assert (decision.billing_cycle_days, decision.payment_terms_days) == (7, 30)
    assert decision.approved_limit * 30 >= decision.exposure.expected_monthly_spend * 37


def test_shorter_terms_when_no_cycle_fits(decide: Decide) -> None:
    """¥300k at ¥595k a month: even 7 + 30 days needs ¥733,833 and 7 + 15 days (22) ¥436,333;
    15 + 0 days fits at ¥297,500."""
    decision = decide(
        with_lines(application(requested_limit=Decimal(300000)), cost_class="standard")
    )
    assert (decision.billing_cycle_days, decision.payment_terms_days) == (15, 0)
    assert decision.decision is DecisionKind.APPROVE_WITH_CONDITIONS
    assert any("账期由申请的 30 天缩短为 0 天" in c.zh for c in decision.conditions)


def test_a_request_smaller_than_a_week_of_spend_is_prepaid(decide: Decide) -> None:
    decision = decide(application(requested_limit=Decimal(100000)))
    assert decision.decision is DecisionKind.PREPAID_ONLY
    assert decision.approved_limit == 0
    assert decision.exposure.days_to_exhaust is None


def test_when_no_structure_fits_a_deposit_makes_it_a_counter_offer(
    policy: Policy, prices: PriceTable, evaluated_at: datetime
) -> None:
    """A T2 customer (tier cap 2 × spend) whose tier cap is too small even for 7 + 0 days would
    need more security: a deposit that lifts the appetite cap is not enough (the tier cap binds),
    so the line is carried by cash: the smallest deposit that makes it fit."""
    tight = policy.model_copy(
        update={
            "appetite": policy.appetite.model_copy(
                update={"max_unsecured_exposure": Decimal(100000)}
            )
        }
    )
    raw = with_lines(application(), cost_class="standard")

    def decide(raw: Raw) -> Decision:
        decision = assess(raw, tight, prices, evaluated_at=evaluated_at).decision
        assert decision is not None
        return decision

    decision = decide(raw)
    assert decision.decision is DecisionKind.COUNTER_OFFER
    assert decision.deposit_shortfall > 0
    first_due = decision.exposure.first_invoice_due_day
    assert decision.approved_limit * 30 >= decision.exposure.expected_monthly_spend * first_due
    with_it = with_buffers(raw, deposit=decision.deposit_shortfall)
    assert decide(with_it).approved_limit >= decision.approved_limit


def test_provider_cost_at_risk_is_the_draw_before_the_hard_stop_less_security(
    decide: Decide, policy: Policy
) -> None:
    decision = decide(application())
    exposure = decision.exposure
    stops = [
        rule.threshold
        for rule in decision.stop_loss
        if rule.trigger.value == "over_limit"
        and {a.value for a in rule.actions} & {"suspend_service", "switch_to_prepaid"}
    ]
    limit_draw = decision.approved_limit * stops[0] if stops else exposure.window_spend_peak
    assert exposure.hard_stop_draw == min(exposure.window_spend_peak, limit_draw)
    assert exposure.upstream_cost_ratio == policy.upstream_cost_ratio["high"]
    expected = exposure.hard_stop_draw * exposure.upstream_cost_ratio - exposure.security_held
    assert exposure.provider_cost_at_risk == max(expected, 0)
    assert "垫付上游成本" in exposure.provider_cost_basis.zh


def test_a_customer_holding_more_cash_than_it_asks_gets_a_deposit_backed_line(
    decide: Decide,
) -> None:
    """A brand-new startup (prepaid tier) holding a ¥150,000 deposit and asking ¥100,000."""
    raw = application(
        entity_type="startup",
        years_in_business=1,
        procurement="ad_hoc",
        relationship_months=0,
        on_time_ratio_12m=None,
        requested_limit=Decimal(100000),
    )
    raw = with_lines(raw, monthly_spend=Decimal(60000), cost_class="standard")
    raw = with_buffers(raw, deposit=Decimal(150000), billing_cycle_days=15)
    decision = decide(raw)
    assert decision.approved_limit == 100000
    assert decision.structure is Structure.DEPOSIT_BACKED
    assert decision.deposit_shortfall == 0
    assert decision.exposure.unsecured_exposure == 0
    assert any(a.role is Role.RISK_MANAGER for a in decision.approvals_required)


def test_the_required_deposit_is_the_shortfall_beyond_what_is_held(decide: Decide) -> None:
    raw = with_buffers(application(), deposit=Decimal(100000))
    decision = decide(raw)  # the concentration rule asks a 20 % deposit: ¥160,000
    assert decision.required_deposit == 160000
    assert decision.deposit_shortfall == 60000


def test_an_increase_without_new_materials_is_capped_at_the_current_limit(
    decide: Decide,
) -> None:
    raw = application(current_limit=Decimal(500000), payment_terms_days=15)
    raw = with_lines(raw, monthly_spend=Decimal(300000), cost_class="standard")
    capped = decide(raw)
    assert capped.approved_limit == 500000
    binding = [cap.id for cap in capped.limit_caps if cap.binding]
    assert binding == ["current"]
    assert any("新材料" in reason.zh for reason in capped.reasons)
    raw["profile"]["new_materials"] = ["audited_financials"]
    unlocked = decide(raw)  # the current limit × 1.5 no longer binds: the need does
    assert unlocked.approved_limit == 625000
    assert [cap.id for cap in unlocked.limit_caps if cap.binding] == ["need"]


def test_one_month_of_history_does_not_make_a_new_customer_established(decide: Decide) -> None:
    raw = application(relationship_months=1, requested_limit=Decimal(2000000))
    raw = with_lines(raw, monthly_spend=Decimal(300000), cost_class="standard")
    decision = decide(raw)
    assert decision.tier == "T3"
    assert decision.structure is Structure.LIMITED_MONTHLY_SETTLEMENT
    trace = " ".join(t.zh for t in decision.tier_trace)
    assert "新客户" in trace and "true" not in trace


def test_a_ratio_trigger_can_always_fire(decide: Decide) -> None:
    raw = with_lines(application(), cost_class="standard")
    raw["consumption"].append(
        {
            "provider": "other",
            "model": "frontier",
            "monthly_spend": Decimal(5000000),
            "cost_class": "high",
        }
    )
    raw["profile"]["requested_limit"] = Decimal(3000000)
    decision = decide(raw)
    shares = [g for g in decision.downgrade_triggers if g.unit == "ratio"]
    assert shares and all(g.threshold < 1 for g in shares)


def test_a_surge_trigger_fires_before_the_line_runs_out(decide: Decide) -> None:
    decision = decide(application())
    surge = next(g for g in decision.downgrade_triggers if g.id == "consumption_surge")
    assert surge.threshold < decision.approved_limit


def test_decision_kinds(decide: Decide) -> None:
    base = with_lines(
        application(payment_terms_days=15, requested_limit=Decimal(400000)),
        monthly_spend=Decimal(200000),
    )
    base["consumption"][0]["cost_class"] = "standard"
    assert decide(base).decision is DecisionKind.APPROVE
    reduced = copy.deepcopy(base)
    reduced["profile"]["requested_limit"] = Decimal(5000000)
    decision = decide(reduced)
    assert decision.decision is DecisionKind.APPROVE_REDUCED
    assert decision.approved_limit < 5000000


def test_a_deposit_alternative_is_what_the_engine_approves_with_that_deposit(
    policy: Policy, prices: PriceTable, evaluated_at: datetime
) -> None:
    small = policy.model_copy(
        update={
            "appetite": policy.appetite.model_copy(
                update={"max_unsecured_exposure": Decimal(300000)}
            )
        }
    )

    def decide(raw: Raw) -> Decision:
        decision = assess(raw, small, prices, evaluated_at=evaluated_at).decision
        assert decision is not None
        return decision

    raw = with_lines(
        application(payment_terms_days=15, requested_limit=Decimal(400000)),
        monthly_spend=Decimal(200000),
        cost_class="standard",
    )
    decision = decide(raw)
    assert (decision.decision, decision.approved_limit) == (DecisionKind.APPROVE_REDUCED, 300000)
    offer = next(a for a in decision.alternatives if a.required_deposit)
    posted = decide(with_buffers(raw, deposit=offer.required_deposit))
    assert (posted.approved_limit, posted.structure) == (offer.limit, offer.structure)
    assert offer.limit == 400000


@pytest.mark.parametrize(
    ("limit", "roles"),
    [
        (Decimal(150000), {Role.FINANCE_MANAGER}),
        (Decimal(800000), {Role.FINANCE_MANAGER, Role.RISK_MANAGER}),
        (Decimal(1500000), {Role.FINANCE_MANAGER, Role.RISK_MANAGER, Role.CFO}),
    ],
)
def test_authority_grows_with_the_amount(decide: Decide, limit: Decimal, roles: set[Role]) -> None:
    raw = with_lines(
        application(requested_limit=limit, payment_terms_days=0),
        monthly_spend=limit * Decimal("0.9"),
        cost_class="standard",
        peak_factor=Decimal(1),
    )
    decision = decide(raw)
    assert decision.approved_limit == limit
    assert {a.role for a in decision.approvals_required} == roles


def test_a_foreign_customer_is_a_policy_factor(decide: Decide) -> None:
    raw = application(country="SG", credit_code=None, currency="USD")
    raw = with_lines(raw, monthly_spend=Decimal(20000), cost_class="standard")
    decision = decide(raw)
    assert decision.tier == "T2"
    assert any(a.role is Role.RISK_MANAGER for a in decision.approvals_required)
    assert any("USD" in reason.en and "rate" in reason.en for reason in decision.reasons)
