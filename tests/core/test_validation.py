"""Validation: pydantic's field errors and the named checks, each an Issue located by its path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from creditbook.core.assess import Assessment
from creditbook.core.models import MAX_VALUES, Application
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Issue, Severity
from creditbook.core.validation import CHECKS, MAX_REPORTED, Context, parse_application, validate

ERROR, WARNING = Severity.ERROR, Severity.WARNING
OVER_LIMIT_STEP = {
    "trigger": "over_limit",
    "threshold": 1,
    "actions": ["pause_new_quota", "disable_high_cost_models", "request_emergency_approval"],
    "recovery": ["payment_received"],
}
OVER_LIMIT_STOP = {
    "trigger": "over_limit",
    "threshold": 1.5,
    "actions": ["suspend_service"],
    "recovery": ["payment_received"],
}
ABNORMAL_STEP = {
    "trigger": "abnormal_usage",
    "threshold": 3,
    "actions": ["rate_limit"],
    "recovery": ["usage_normalized"],
}
OVERDUE_STEP = {
    "trigger": "overdue",
    "threshold": 15,
    "actions": ["require_topup", "request_emergency_approval"],
    "recovery": ["payment_received"],
}
OVERDUE_STOP = {
    "trigger": "overdue",
    "threshold": 60,
    "actions": ["suspend_service"],
    "recovery": ["payment_received"],
}
VALID_PLAYBOOK = [OVER_LIMIT_STEP, OVER_LIMIT_STOP, ABNORMAL_STEP, OVERDUE_STEP, OVERDUE_STOP]


def profile(**fields: Any) -> dict[str, Any]:
    return {"profile": fields}


def buffers(**fields: Any) -> dict[str, Any]:
    return {"buffers": fields}


def ramp(*steps: tuple[int, int]) -> dict[str, Any]:
    return buffers(ramp=[{"from_day": day, "limit": limit} for day, limit in steps])


def consumption(*lines: dict[str, Any]) -> dict[str, Any]:
    return {"consumption": list(lines)}


def line(**fields: Any) -> dict[str, Any]:
    """A priced consumption line (DeepSeek flash, 10 Mtok input) with fields replaced."""
    return {"provider": "deepseek", "model": "deepseek-flash", "input_mtok_month": 10, **fields}


@dataclass(frozen=True)
class CheckCase:
    check: str
    override: dict[str, Any]
    severity: Severity
    location: str


CHECK_CASES = (
    CheckCase(
        "check_credit_code", profile(credit_code="91110000802100433A"), ERROR, "profile.credit_code"
    ),
    CheckCase(
        "check_credit_code", profile(credit_code="9111000080210043"), ERROR, "profile.credit_code"
    ),
    CheckCase("check_credit_code", profile(credit_code=None), ERROR, "profile.credit_code"),
    CheckCase(
        "check_history_has_on_time_ratio",
        profile(on_time_ratio_12m=None),
        ERROR,
        "profile.on_time_ratio_12m",
    ),
    CheckCase(
        "check_history_has_on_time_ratio",
        profile(relationship_months=0),
        WARNING,
        "profile.relationship_months",
    ),
    CheckCase(
        "check_overdue_history_consistent",
        profile(consecutive_overdue_invoices=2),
        WARNING,
        "profile.consecutive_overdue_invoices",
    ),
    CheckCase(
        "check_overdue_history_consistent",
        profile(overdue_events_12m=0),
        WARNING,
        "profile.overdue_events_12m",
    ),
    CheckCase(
        "check_overdue_history_consistent",
        profile(current_overdue_amount=5000),
        WARNING,
        "profile.current_days_overdue",
    ),
    CheckCase(
        "check_renewal_date",
        profile(contract_renewal_date="2026-11-01"),
        ERROR,
        "profile.contract_renewal_date",
    ),
    CheckCase(
        "check_renewal_date",
        profile(contract_renewal_date="2026-11-28"),
        ERROR,
        "profile.contract_renewal_date",
    ),
    CheckCase(
        "check_renewal_date",
        profile(contract_renewal_date="2036-11-29"),
        ERROR,
        "profile.contract_renewal_date",
    ),
    CheckCase(
        "check_guarantee_amount_has_type",
        profile(guarantee_amount=1000),
        ERROR,
        "profile.guarantee_type",
    ),
    CheckCase(
        "check_guarantee_amount_has_type",
        profile(guarantee_type="bank_guarantee"),
        WARNING,
        "profile.guarantee_amount",
    ),
    CheckCase(
        "check_peak_not_below_average",
        consumption(line(peak_factor=0.8)),
        ERROR,
        "consumption[0].peak_factor",
    ),
    CheckCase("check_consumption_lines_priced", consumption(), ERROR, "consumption"),
    CheckCase(
        "check_consumption_lines_priced",
        consumption(line(), line(provider="openai", model="gpt-imaginary")),
        ERROR,
        "consumption[1].model",
    ),
    CheckCase(
        "check_consumption_lines_priced",
        consumption(line(provider="other", model="self-hosted")),
        ERROR,
        "consumption[0].model",
    ),
    CheckCase(
        "check_consumption_lines_priced",
        consumption(line(input_mtok_month=0)),
        ERROR,
        "consumption[0].input_mtok_month",
    ),
    CheckCase(
        "check_stated_spend_matches_tokens",
        consumption(line(input_mtok_month=20000, monthly_spend=1000)),
        WARNING,
        "consumption[0].monthly_spend",
    ),
    CheckCase("check_ramp_never_decreases", ramp((5, 1000)), ERROR, "buffers.ramp[0].from_day"),
    CheckCase(
        "check_ramp_never_decreases", ramp((0, 1000), (0, 2000)), ERROR, "buffers.ramp[1].from_day"
    ),
    CheckCase(
        "check_ramp_never_decreases", ramp((0, 2000), (30, 1000)), ERROR, "buffers.ramp[1].limit"
    ),
    CheckCase(
        "check_ramp_never_decreases",
        ramp((0, 1000), (30, 900000)),
        WARNING,
        "buffers.ramp[1].limit",
    ),
    CheckCase(
        "check_auto_recharge_pair",
        buffers(auto_recharge_threshold=100),
        ERROR,
        "buffers.auto_recharge_amount",
    ),
    CheckCase(
        "check_auto_recharge_pair",
        buffers(auto_recharge_amount=100),
        ERROR,
        "buffers.auto_recharge_threshold",
    ),
    CheckCase(
        "check_stop_loss_playbook",
        {"stop_loss": [OVER_LIMIT_STEP, OVER_LIMIT_STOP, ABNORMAL_STEP]},
        ERROR,
        "stop_loss",
    ),
    CheckCase(
        "check_stop_loss_playbook",
        {"stop_loss": [*VALID_PLAYBOOK, OVERDUE_STOP]},
        ERROR,
        "stop_loss[5]",
    ),
    CheckCase(
        "check_stop_loss_playbook",
        {
            "stop_loss": [
                {**OVER_LIMIT_STEP, "actions": ["suspend_service"]},
                OVER_LIMIT_STOP,
                ABNORMAL_STEP,
                OVERDUE_STEP,
                OVERDUE_STOP,
            ]
        },
        ERROR,
        "stop_loss[0]",
    ),
    CheckCase(
        "check_relationship_within_business_age",
        profile(relationship_months=240),
        WARNING,
        "profile.relationship_months",
    ),
)


def case_id(case: CheckCase) -> str:
    return f"{case.check}:{case.location}"


def parsed(raw: dict[str, Any]) -> Application:
    app, issues = parse_application(raw)
    assert app is not None, issues
    return app


def assert_bilingual(issue: Issue) -> None:
    assert issue.message.zh.strip() and issue.message.en.strip()
    assert issue.message.zh != issue.message.en


def located(issues: tuple[Issue, ...] | list[Issue]) -> dict[str, Severity]:
    return {issue.location: issue.severity for issue in issues}


@pytest.fixture(scope="module")
def context(policy: Policy, prices: PriceTable) -> Context:
    return Context(policy=policy, prices=prices)


def test_every_named_check_has_a_case() -> None:
    assert {check.__name__ for check in CHECKS} == {case.check for case in CHECK_CASES}


def test_the_sound_application_raises_no_issue(
    base_application: Callable[..., dict[str, Any]], context: Context
) -> None:
    assert validate(parsed(base_application()), context) == []


def test_the_valid_custom_playbook_raises_no_issue(
    base_application: Callable[..., dict[str, Any]], context: Context
) -> None:
    assert validate(parsed(base_application({"stop_loss": VALID_PLAYBOOK})), context) == []


@pytest.mark.parametrize("case", CHECK_CASES, ids=case_id)
def test_named_check_reports_a_located_bilingual_issue(
    case: CheckCase, base_application: Callable[..., dict[str, Any]], context: Context
) -> None:
    check = next(check for check in CHECKS if check.__name__ == case.check)
    issues = list(check(parsed(base_application(case.override)), context))
    hits = [issue for issue in issues if issue.location == case.location]
    assert hits, f"{case.check} reported {[issue.render('en') for issue in issues]}"
    assert all(issue.severity is case.severity for issue in hits)
    for issue in hits:
        assert_bilingual(issue)


@pytest.mark.parametrize(
    "case", [case for case in CHECK_CASES if case.severity is WARNING], ids=case_id
)
def test_warnings_travel_with_the_decision(
    case: CheckCase,
    base_application: Callable[..., dict[str, Any]],
    assess_raw: Callable[[Any], Assessment],
) -> None:
    result = assess_raw(base_application(case.override))
    assert result.decision is not None
    assert located(result.decision.issues).get(case.location) is WARNING


@pytest.mark.parametrize(
    "case", [case for case in CHECK_CASES if case.severity is ERROR], ids=case_id
)
def test_errors_block_the_decision(
    case: CheckCase,
    base_application: Callable[..., dict[str, Any]],
    assess_raw: Callable[[Any], Assessment],
) -> None:
    result = assess_raw(base_application(case.override))
    assert result.decision is None
    assert located(result.issues).get(case.location) is ERROR


def test_foreign_company_needs_no_credit_code(
    base_application: Callable[..., dict[str, Any]], context: Context
) -> None:
    app = parsed(base_application(profile(country="SG", credit_code=None)))
    assert validate(app, context) == []


def test_lower_case_credit_code_is_accepted(
    base_application: Callable[..., dict[str, Any]], context: Context
) -> None:
    app = parsed(base_application(profile(credit_code="91310000ma1fl7jf8p")))
    assert app.profile.credit_code == "91310000MA1FL7JF8P"
    assert validate(app, context) == []


# ------------------------------------------------------------ field errors

FIELD_ERRORS = {
    "unknown field (typo)": (profile(requested_limt=1000), "profile.requested_limt"),
    "bad enum": (profile(entity_type="bank"), "profile.entity_type"),
    "payment terms not offered": (profile(payment_terms_days=31), "profile.payment_terms_days"),
    "on-time ratio above 1": (profile(on_time_ratio_12m=1.5), "profile.on_time_ratio_12m"),
    "NaN decimal": (profile(requested_limit=Decimal("NaN")), "profile.requested_limit"),
    "Infinity decimal": (buffers(deposit=Decimal("Infinity")), "buffers.deposit"),
    "NaN float": (profile(years_in_business=float("nan")), "profile.years_in_business"),
    "infinite float": (
        consumption(line(input_mtok_month=float("inf"))),
        "consumption[0].input_mtok_month",
    ),
    "impossible date": (profile(application_date="2026-02-30"), "profile.application_date"),
    "negative deposit": (buffers(deposit=-1), "buffers.deposit"),
    "negative overdue amount": (
        profile(current_overdue_amount=-100),
        "profile.current_overdue_amount",
    ),
    "negative monthly spend": (consumption(line(monthly_spend=-5)), "consumption[0].monthly_spend"),
    "zero monthly spend": (consumption(line(monthly_spend=0)), "consumption[0].monthly_spend"),
    "zero requested limit": (profile(requested_limit=0), "profile.requested_limit"),
    "text for a number": (profile(requested_limit="a lot"), "profile.requested_limit"),
    "unrealistic requested limit": (
        profile(requested_limit=10**12 + 1),
        "profile.requested_limit",
    ),
    "unrealistic deposit as text": (buffers(deposit="1e30"), "buffers.deposit"),
    "unrealistic token volume": (
        consumption(line(output_mtok_month=Decimal("1e10"))),
        "consumption[0].output_mtok_month",
    ),
    "unrealistic days overdue": (
        profile(current_days_overdue=3651),
        "profile.current_days_overdue",
    ),
    "count as a huge Decimal": (
        profile(overdue_events_12m=Decimal("1e99999999")),
        "profile.overdue_events_12m",
    ),
    "count as a tiny Decimal": (
        profile(max_days_overdue_12m=Decimal("1e-99999999")),
        "profile.max_days_overdue_12m",
    ),
    "ramp step far out": (ramp((0, 1000), (3651, 2000)), "buffers.ramp[1].from_day"),
    "control character in the name": (
        profile(customer_name="Acme\x00 Ltd"),
        "profile.customer_name",
    ),
    "lone surrogate in the sales owner": (profile(sales_owner="\ud800"), "profile.sales_owner"),
    "U+FFFF in a model name": (consumption(line(model="deepseek\uffff")), "consumption[0].model"),
    "sales owner too long": (profile(sales_owner="x" * 201), "profile.sales_owner"),
    "application date before 2000": (
        profile(application_date="1899-12-31"),
        "profile.application_date",
    ),
    "application date after 2099": (
        profile(application_date="2100-01-01"),
        "profile.application_date",
    ),
    "10,001 consumption lines": (consumption(*[line()] * 10_001), "consumption"),
    "101 ramp steps": (ramp(*((day, 1000) for day in range(101))), "buffers.ramp"),
}


@pytest.mark.parametrize("override, location", FIELD_ERRORS.values(), ids=FIELD_ERRORS.keys())
def test_field_error_becomes_a_located_issue(
    override: dict[str, Any], location: str, base_application: Callable[..., dict[str, Any]]
) -> None:
    app, issues = parse_application(base_application(override))
    assert app is None
    assert [issue.location for issue in issues] == [location]
    assert issues[0].severity is ERROR
    assert_bilingual(issues[0])


def test_missing_field_message_says_required(
    base_application: Callable[..., dict[str, Any]],
) -> None:
    raw = base_application()
    del raw["profile"]["requested_limit"]
    _, issues = parse_application(raw)
    assert [(issue.location, issue.message.en) for issue in issues] == [
        ("profile.requested_limit", "required field is missing")
    ]


def test_bad_enum_message_lists_the_allowed_values(
    base_application: Callable[..., dict[str, Any]],
) -> None:
    _, issues = parse_application(base_application(profile(procurement="tender")))
    assert "'tender'" in issues[0].message.en
    for allowed in ("formal_po_contract", "contract_only", "ad_hoc"):
        assert allowed in issues[0].message.en


@pytest.mark.parametrize("raw", [[], "application", 42, None], ids=repr)
def test_non_object_input_is_one_error(raw: Any) -> None:
    app, issues = parse_application(raw)
    assert app is None
    assert len(issues) == 1 and issues[0].severity is ERROR
    assert_bilingual(issues[0])


def test_all_field_errors_are_collected_at_once(
    base_application: Callable[..., dict[str, Any]],
) -> None:
    raw = base_application({**profile(entity_type="bank"), **buffers(deposit=-1)})
    del raw["profile"]["customer_name"]
    _, issues = parse_application(raw)
    assert sorted(issue.location for issue in issues) == [
        "buffers.deposit",
        "profile.customer_name",
        "profile.entity_type",
    ]


def test_all_check_errors_are_collected_at_once(
    base_application: Callable[..., dict[str, Any]], assess_raw: Callable[[Any], Assessment]
) -> None:
    raw = base_application(
        {
            **profile(contract_renewal_date="2026-10-01", guarantee_amount=50000),
            **consumption(line(peak_factor=0.5)),
        }
    )
    result = assess_raw(raw)
    assert result.decision is None
    errors = {issue.location for issue in result.issues if issue.severity is ERROR}
    assert errors == {
        "profile.contract_renewal_date",
        "profile.guarantee_type",
        "consumption[0].peak_factor",
    }


def test_over_limit_playbook_that_only_notifies_is_an_error(
    base_application: Callable[..., dict[str, Any]], assess_raw: Callable[[Any], Assessment]
) -> None:
    notify_only = {**OVER_LIMIT_STEP, "actions": ["notify"]}
    playbook = [notify_only, ABNORMAL_STEP, OVERDUE_STEP, OVERDUE_STOP]
    result = assess_raw(base_application({"stop_loss": playbook}))
    assert result.decision is None
    assert "stop_loss[0]" in {issue.location for issue in result.issues}


def test_unrealistic_values_say_so_and_state_the_bound(
    base_application: Callable[..., dict[str, Any]],
) -> None:
    _, issues = parse_application(base_application(profile(requested_limit=Decimal("1e300"))))
    assert [issue.message.en for issue in issues] == [
        "is unrealistically large (at most 1,000,000,000,000)"
    ]


def test_a_renewal_ten_years_on_is_accepted(
    base_application: Callable[..., dict[str, Any]], context: Context
) -> None:
    app = parsed(base_application(profile(contract_renewal_date="2036-11-28")))
    assert validate(app, context) == []


def test_the_many_problems_of_a_huge_application_are_counted_not_all_listed(
    base_application: Callable[..., dict[str, Any]],
) -> None:
    raw = base_application(profile(**{f"field_{n}": n for n in range(MAX_REPORTED + 500)}))
    _, issues = parse_application(raw)
    assert len(issues) == MAX_REPORTED + 1
    assert issues[-1].location == "$"
    assert issues[-1].message.en == "500 more problems not listed"


def test_an_application_with_too_many_values_is_refused_whole(
    base_application: Callable[..., dict[str, Any]],
) -> None:
    _, issues = parse_application(
        base_application(consumption(*[[0] * 1000] * (MAX_VALUES // 1000)))
    )
    assert len(issues) == 1 and issues[0].location == "$"
    assert f"more than {MAX_VALUES:,} values" in issues[0].message.en


@pytest.mark.parametrize(
    "key, location", [("", "profile.''"), ("a\x1bb", "profile.'a\\x1bb'")], ids=repr
)
def test_an_unknown_key_that_cannot_be_shown_as_is_is_quoted(
    key: str, location: str, base_application: Callable[..., dict[str, Any]]
) -> None:
    _, issues = parse_application(base_application(profile(**{key: 1})))
    assert [issue.location for issue in issues] == [location]


@pytest.mark.parametrize(
    ("override", "location"),
    [
        (profile(years_in_business=True), "profile.years_in_business"),
        (profile(overdue_events_12m=True), "profile.overdue_events_12m"),
        (profile(requested_limit=False), "profile.requested_limit"),
        (profile(payment_terms_days=False), "profile.payment_terms_days"),
        (buffers(billing_cycle_days=True), "buffers.billing_cycle_days"),
    ],
)
def test_true_or_false_is_not_a_number(
    base_application: Callable[..., dict[str, Any]], override: dict[str, Any], location: str
) -> None:
    """Python's true == 1 and false == 0 must not turn a JSON boolean into a count or a term."""
    _, issues = parse_application(base_application(override))
    assert [(i.location, i.message.en.partition(":")[0]) for i in issues] == [
        (location, "must be a number, not true/false")
    ]
