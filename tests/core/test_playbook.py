"""Playbooks with teeth: every trigger restricts service in time, over limit and overdue end in a
hard stop by the policy's maximum, after a step that requests emergency approval."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from creditbook.core.assess import Assessment
from creditbook.core.models import Action, Recovery, StopLossStep, Trigger
from creditbook.core.playbook import hard_stop_threshold, playbook_problems, with_escalation
from creditbook.core.policy import Policy
from creditbook.core.records import Text

A = Action
OVER, ABNORMAL, OVERDUE = Trigger.OVER_LIMIT, Trigger.ABNORMAL_USAGE, Trigger.OVERDUE


def step(trigger: Trigger, threshold: str, *actions: Action) -> StopLossStep:
    return StopLossStep(
        trigger=trigger,
        threshold=Decimal(threshold),
        actions=actions,
        recovery=(Recovery.PAYMENT_RECEIVED,),
    )


OVER_LIMIT = [
    step(OVER, "1", A.PAUSE_NEW_QUOTA, A.DISABLE_HIGH_COST_MODELS, A.REQUEST_EMERGENCY_APPROVAL),
    step(OVER, "1.5", A.SUSPEND_SERVICE),
]
ABNORMAL_USAGE = [step(ABNORMAL, "3", A.RATE_LIMIT)]
OVERDUE_STEPS = [
    step(OVERDUE, "15", A.REQUIRE_TOPUP, A.REQUEST_EMERGENCY_APPROVAL),
    step(OVERDUE, "60", A.SUSPEND_SERVICE),
]
VALID = [*OVER_LIMIT, *ABNORMAL_USAGE, *OVERDUE_STEPS]


def problems(policy: Policy, steps: list[StopLossStep]) -> list[tuple[int | None, Text]]:
    return playbook_problems(steps, policy.playbook_limits)


def only_problem(policy: Policy, steps: list[StopLossStep]) -> tuple[int | None, Text]:
    found = problems(policy, steps)
    assert len(found) == 1, [message.en for _, message in found]
    return found[0]


def test_the_default_playbook_passes(policy: Policy) -> None:
    assert problems(policy, list(policy.stop_loss)) == []


def test_a_playbook_within_the_limits_passes(policy: Policy) -> None:
    assert problems(policy, VALID) == []


def test_notify_only_overdue_at_3650_days_is_an_error_naming_the_trigger(
    policy: Policy,
    base_application: Callable[..., dict[str, Any]],
    assess_raw: Callable[[Any], Assessment],
) -> None:
    late_notice = step(OVERDUE, "3650", A.NOTIFY)
    found = problems(policy, [*OVER_LIMIT, *ABNORMAL_USAGE, late_notice])
    assert {index for index, _ in found} == {3}
    assert any("逾期 ≥ 15 天" in m.zh and "overdue ≥ 15 days" in m.en for _, m in found)
    assert any("逾期 ≥ 60 天" in m.zh and "overdue ≥ 60 days" in m.en for _, m in found)
    assert all("“逾期”" in m.zh and "overdue" in m.en for _, m in found)
    raw = base_application(
        {
            "stop_loss": [
                s.model_dump(mode="json") for s in (*OVER_LIMIT, *ABNORMAL_USAGE, late_notice)
            ]
        }
    )
    result = assess_raw(raw)
    assert result.decision is None
    assert "stop_loss[3]" in {issue.location for issue in result.issues}


def test_restricting_later_than_the_policy_allows_is_an_error(policy: Policy) -> None:
    late = [*OVER_LIMIT, step(ABNORMAL, "2", A.NOTIFY), step(ABNORMAL, "4", A.RATE_LIMIT)]
    index, message = only_problem(policy, [*late, *OVERDUE_STEPS])
    assert index == 3
    assert "日消耗 ≥ 7 日均值 × 4" in message.zh and "日消耗 ≥ 7 日均值 × 3" in message.zh
    assert "7-day average × 3" in message.en


def test_requesting_approval_does_not_restrict_service(policy: Policy) -> None:
    asking = [*OVER_LIMIT, step(ABNORMAL, "3", A.NOTIFY, A.REQUEST_EMERGENCY_APPROVAL)]
    index, message = only_problem(policy, [*asking, *OVERDUE_STEPS])
    assert index == 2
    assert "never restrict service" in message.en


def test_over_limit_without_a_hard_stop_is_an_error(policy: Policy) -> None:
    index, message = only_problem(policy, [OVER_LIMIT[0], *ABNORMAL_USAGE, *OVERDUE_STEPS])
    assert index == 0
    assert "超额度" in message.zh and "额度使用率 ≥ 150%" in message.zh
    assert "over limit has no hard stop" in message.en and "limit use ≥ 150%" in message.en


def test_a_hard_stop_beyond_150_percent_is_an_error(policy: Policy) -> None:
    late_stop = [OVER_LIMIT[0], step(OVER, "2", A.SUSPEND_SERVICE)]
    index, message = only_problem(policy, [*late_stop, *ABNORMAL_USAGE, *OVERDUE_STEPS])
    assert index == 1
    assert "额度使用率 ≥ 200%" in message.zh and "额度使用率 ≥ 150%" in message.zh
    assert "limit use ≥ 200%" in message.en and "limit use ≥ 150%" in message.en


def test_switching_to_prepaid_is_a_hard_stop(policy: Policy) -> None:
    prepaid = [OVER_LIMIT[0], step(OVER, "1.5", A.SWITCH_TO_PREPAID)]
    assert problems(policy, [*prepaid, *ABNORMAL_USAGE, *OVERDUE_STEPS]) == []


@pytest.mark.parametrize(
    "over_limit",
    [
        [
            step(OVER, "1", A.PAUSE_NEW_QUOTA, A.DISABLE_HIGH_COST_MODELS),
            step(OVER, "1.5", A.SUSPEND_SERVICE),
        ],
        [
            step(OVER, "1", A.PAUSE_NEW_QUOTA, A.DISABLE_HIGH_COST_MODELS),
            step(OVER, "1.5", A.REQUEST_EMERGENCY_APPROVAL, A.SUSPEND_SERVICE),
        ],
    ],
    ids=["no emergency approval", "approval only at the hard stop"],
)
def test_a_hard_stop_without_an_earlier_emergency_approval_is_an_error(
    policy: Policy, over_limit: list[StopLossStep]
) -> None:
    index, message = only_problem(policy, [*over_limit, *ABNORMAL_USAGE, *OVERDUE_STEPS])
    assert index == 1
    assert "提请紧急审批" in message.zh and "超额度" in message.zh
    assert "requests emergency approval" in message.en and "over limit" in message.en


def test_every_breach_is_reported_bilingual(policy: Policy) -> None:
    notify_only = [step(trigger, "9", A.NOTIFY) for trigger in Trigger]
    found = problems(policy, notify_only)
    # over limit: no restriction, no hard stop, no first pause; abnormal usage: no restriction;
    # overdue: no restriction, no hard stop.
    assert [index for index, _ in found] == [0, 0, 1, 2, 2, 0]
    assert all(m.zh != m.en and m.zh.strip() and m.en.strip() for _, m in found)


def test_hard_stop_threshold_is_the_first_step_that_ends_credit(policy: Policy) -> None:
    assert hard_stop_threshold(policy.stop_loss, OVER) == Decimal("1.5")
    assert hard_stop_threshold(policy.stop_loss, OVERDUE) == Decimal(30)  # switch to prepaid
    assert hard_stop_threshold(policy.stop_loss, ABNORMAL) is None
    assert hard_stop_threshold(VALID, OVERDUE) == Decimal(60)
    assert hard_stop_threshold([], OVER) is None


def test_nothing_escalates_beyond_a_hard_stop(policy: Policy) -> None:
    assert policy.final_escalation[ABNORMAL]
    stopping = [
        *OVER_LIMIT,
        step(ABNORMAL, "3", A.RATE_LIMIT),
        step(ABNORMAL, "5", A.SUSPEND_SERVICE),
    ]
    rules = with_escalation([*stopping, *OVERDUE_STEPS], policy.final_escalation)
    assert [rule.escalation for rule in rules] == [
        (A.SUSPEND_SERVICE,),
        (),
        (A.SUSPEND_SERVICE,),
        (),
        (A.SUSPEND_SERVICE,),
        (),
    ]
    ending_softly = with_escalation(ABNORMAL_USAGE, policy.final_escalation)
    assert ending_softly[0].escalation == policy.final_escalation[ABNORMAL]
