"""Properties of the evaluation over generated valid applications (hypothesis)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from creditbook.core.models import (
    Currency,
    Decision,
    EntityType,
    GuaranteeType,
    Material,
    Procurement,
    Structure,
)
from creditbook.core.policy import Policy
from creditbook.data import default_prices

Raw = dict[str, Any]
Decide = Callable[[Any], Decision]
PRICED_MODELS = [(row.provider.value, row.model) for row in default_prices().rows]
HARD_SECURITY = {GuaranteeType.BANK_GUARANTEE.value, GuaranteeType.LETTER_OF_CREDIT.value}
GUARANTEES = [kind.value for kind in GuaranteeType if kind is not GuaranteeType.NONE]
MATERIALS = [material.value for material in Material]
# Worse structures rank higher: a kind further from monthly settlement, then a shorter time to
# the first due day.
STRUCTURE_RANK = [
    Structure.MONTHLY_SETTLEMENT,
    Structure.LIMITED_MONTHLY_SETTLEMENT,
    Structure.DEPOSIT_BACKED,
    Structure.PREPAID,
]

properties = settings(max_examples=200, deadline=None)


def amounts(high: int, low: int = 0) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=2)


def counts(high: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=high)


def peaks() -> st.SearchStrategy[Raw]:
    return st.fixed_dictionaries(
        {
            "peak_factor": st.decimals(min_value=1, max_value=3, places=2),
            "scenario": st.sampled_from(["existing", "new"]),
        }
    )


@st.composite
def priced_lines(draw: st.DrawFn) -> Raw:
    provider, model = draw(st.sampled_from(PRICED_MODELS))
    return {
        "provider": provider,
        "model": model,
        "input_mtok_month": draw(st.decimals(min_value=1, max_value=50000, places=1)),
        "output_mtok_month": draw(st.decimals(min_value=0, max_value=10000, places=1)),
        **draw(peaks()),
    }


@st.composite
def stated_lines(draw: st.DrawFn) -> Raw:
    return {
        "provider": "other",
        "model": "stated",
        "monthly_spend": draw(amounts(500000, low=1)),
        "cost_class": draw(st.sampled_from(["high", "standard", "low"])),
        **draw(peaks()),
    }


@st.composite
def payment_histories(draw: st.DrawFn) -> Raw:
    return {
        "max_days_overdue_12m": draw(counts(120)),
        "overdue_events_12m": draw(counts(12)),
        "consecutive_overdue_invoices": draw(counts(6)),
        "current_overdue_amount": draw(st.one_of(st.just(Decimal(0)), amounts(200000))),
        "current_days_overdue": draw(counts(90)),
    }


@st.composite
def applications(draw: st.DrawFn) -> Raw:
    """A valid application: every field the doctrine weighs, varied within its contract."""
    relationship = draw(st.sampled_from([0, 0, 3, 8, 14, 30, 60]))
    guarantee_type = draw(st.sampled_from(["none", *GUARANTEES]))
    applied = date(2026, 11, 28)
    profile = {
        "customer_name": "Generated Co.",
        "credit_code": "91110000802100433B",
        "entity_type": draw(st.sampled_from([kind.value for kind in EntityType])),
        "procurement": draw(st.sampled_from([kind.value for kind in Procurement])),
        "years_in_business": draw(st.decimals(min_value=0, max_value=40, places=1)),
        "payment_terms_days": draw(st.sampled_from([0, 15, 30, 45, 60, 90])),
        "relationship_months": relationship,
        "on_time_ratio_12m": draw(st.decimals(min_value=0, max_value=1, places=2))
        if relationship
        else None,
        **draw(payment_histories()),
        "guarantee_type": guarantee_type,
        "guarantee_amount": Decimal(0) if guarantee_type == "none" else draw(amounts(1000000)),
        "requested_limit": draw(amounts(5000000, low=1000)),
        "current_limit": draw(st.one_of(st.just(Decimal(0)), amounts(3000000, low=1000))),
        "new_materials": draw(st.lists(st.sampled_from(MATERIALS), unique=True, max_size=2)),
        "paid_invoices_12m": draw(st.one_of(st.none(), counts(12))),
        "currency": draw(st.sampled_from(["CNY", "USD"])),
        "application_date": applied.isoformat(),
    }
    if draw(st.booleans()):
        profile["contract_renewal_date"] = (
            applied + timedelta(days=draw(st.integers(1, 400)))
        ).isoformat()
    lines = draw(st.lists(st.one_of(priced_lines(), stated_lines()), min_size=1, max_size=3))
    return {
        "profile": profile,
        "consumption": lines,
        "buffers": {
            "deposit": draw(st.one_of(st.just(Decimal(0)), amounts(500000))),
            "prepaid_balance": draw(st.one_of(st.just(Decimal(0)), amounts(200000))),
            "billing_cycle_days": draw(st.sampled_from([7, 15, 30])),
        },
    }


def changed(raw: Raw, section: str, **fields: Any) -> Raw:
    out = copy.deepcopy(raw)
    out[section].update(fields)
    return out


def worse(raw: Raw, history: Raw, on_time_drop: Decimal) -> Raw:
    """The same application with a payment history at least as bad in every respect."""
    profile = raw["profile"]
    worse_history = {key: profile[key] + extra for key, extra in history.items()}
    if profile["on_time_ratio_12m"] is not None:
        worse_history["on_time_ratio_12m"] = max(
            profile["on_time_ratio_12m"] - on_time_drop, Decimal(0)
        )
    return changed(raw, "profile", **worse_history)


@properties
@given(applications())
def test_approved_never_exceeds_requested(decide: Decide, raw: Raw) -> None:
    decision = decide(raw)
    assert 0 <= decision.approved_limit <= decision.requested_limit


@properties
@given(applications())
def test_approved_within_appetite_plus_secured_buffers(
    decide: Decide, policy: Policy, raw: Raw
) -> None:
    decision = decide(raw)
    profile, buffers = raw["profile"], raw["buffers"]
    appetite = policy.from_base(
        policy.appetite.max_unsecured_exposure, Currency(profile["currency"])
    )
    hard_guarantee = (
        profile["guarantee_amount"] if profile["guarantee_type"] in HARD_SECURITY else 0
    )
    secured = buffers["deposit"] + buffers["prepaid_balance"] + hard_guarantee
    assert decision.approved_limit <= appetite + secured


@properties
@given(applications(), amounts(1000000, low=Decimal("0.01")))
def test_more_deposit_never_lowers_the_limit(decide: Decide, raw: Raw, extra: Decimal) -> None:
    more = changed(raw, "buffers", deposit=raw["buffers"]["deposit"] + extra)
    assert decide(more).approved_limit >= decide(raw).approved_limit


@properties
@given(applications(), payment_histories(), st.decimals(min_value=0, max_value=1, places=2))
def test_worse_payment_history_never_helps(
    decide: Decide, policy: Policy, raw: Raw, history: Raw, on_time_drop: Decimal
) -> None:
    before, after = decide(raw), decide(worse(raw, history, on_time_drop))
    assert after.approved_limit <= before.approved_limit
    assert after.score <= before.score
    assert policy.tier_rank(after.tier) >= policy.tier_rank(before.tier)


@properties
@given(applications(), st.sampled_from(GUARANTEES), amounts(1000000))
def test_adding_a_guarantee_never_lowers_the_score(
    decide: Decide, raw: Raw, guarantee_type: str, amount: Decimal
) -> None:
    unguaranteed = changed(raw, "profile", guarantee_type="none", guarantee_amount=Decimal(0))
    guaranteed = changed(raw, "profile", guarantee_type=guarantee_type, guarantee_amount=amount)
    assert decide(guaranteed).score >= decide(unguaranteed).score


@properties
@given(applications())
def test_evaluation_is_deterministic(decide: Decide, raw: Raw) -> None:
    first, second = decide(raw), decide(copy.deepcopy(raw))
    assert first == second
    assert first.model_dump_json() == second.model_dump_json()


@properties
@given(applications())
def test_score_breakdown_sums_to_the_score(decide: Decide, raw: Raw) -> None:
    decision = decide(raw)
    assert sum(line.points for line in decision.score_breakdown) == decision.score


@properties
@given(applications())
def test_new_customers_start_small(decide: Decide, raw: Raw) -> None:
    decision = decide(changed(raw, "profile", relationship_months=0, on_time_ratio_12m=None))
    assert decision.structure is not Structure.MONTHLY_SETTLEMENT
    assert decision.review_interval_days <= 30
    assert decision.next_review_date <= date(2026, 11, 28) + timedelta(days=30)


def strictness(decision: Decision) -> tuple[int, int]:
    due = decision.exposure.first_invoice_due_day
    return STRUCTURE_RANK.index(decision.structure), -due if decision.approved_limit else 0


@properties
@given(applications())
def test_an_approved_line_covers_expected_spend_to_its_first_due_day(
    decide: Decide, raw: Raw
) -> None:
    decision = decide(raw)
    exposure = decision.exposure
    if decision.approved_limit and exposure.expected_monthly_spend:
        assert exposure.days_to_exhaust is not None
        assert exposure.days_to_exhaust >= exposure.first_invoice_due_day
        due = exposure.first_invoice_due_day
        assert decision.approved_limit * 30 >= exposure.expected_monthly_spend * due


@properties
@given(
    applications(),
    amounts(1000000),
    amounts(500000),
    st.sampled_from(sorted(HARD_SECURITY)),
    amounts(1000000),
)
def test_more_security_never_lowers_the_limit_or_worsens_the_structure(
    decide: Decide, raw: Raw, deposit: Decimal, prepaid: Decimal, kind: str, guarantee: Decimal
) -> None:
    buffers, profile = raw["buffers"], raw["profile"]
    more = changed(
        raw,
        "buffers",
        deposit=buffers["deposit"] + deposit,
        prepaid_balance=buffers["prepaid_balance"] + prepaid,
    )
    if profile["guarantee_type"] in ("none", kind):
        more["profile"].update(
            guarantee_type=kind, guarantee_amount=profile["guarantee_amount"] + guarantee
        )
    before, after = decide(raw), decide(more)
    assert after.approved_limit >= before.approved_limit
    assert strictness(after) <= strictness(before)


@properties
@given(applications(), amounts(3000000, low=1000))
def test_an_increase_without_new_materials_never_exceeds_the_current_limit(
    decide: Decide, raw: Raw, current: Decimal
) -> None:
    raw = changed(raw, "profile", current_limit=current, new_materials=[])
    assert decide(raw).approved_limit <= current


@properties
@given(applications())
def test_provider_cost_at_risk_is_within_the_hard_stop_draw(decide: Decide, raw: Raw) -> None:
    exposure = decide(raw).exposure
    assert 0 <= exposure.provider_cost_at_risk <= exposure.hard_stop_draw
