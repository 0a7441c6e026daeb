"""Stop-loss playbooks: the doctrine a playbook must follow, and its escalation path."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from creditbook.core.conditions import show
from creditbook.core.labels import LABELS
from creditbook.core.models import Action, StopLossRule, StopLossStep, Trigger
from creditbook.core.money import percent
from creditbook.core.records import Frozen, Number, Text, text

FIRST_OVER_LIMIT_ACTIONS = (Action.PAUSE_NEW_QUOTA, Action.DISABLE_HIGH_COST_MODELS)
INFORM_ONLY = frozenset({Action.NOTIFY, Action.REQUEST_EMERGENCY_APPROVAL})  # service unchanged
HARD_STOP = frozenset({Action.SWITCH_TO_PREPAID, Action.SUSPEND_SERVICE})  # credit ends

Problems = list[tuple[int | None, Text]]


class PlaybookLimit(Frozen):
    """The latest thresholds a policy allows for one trigger: by `tighten_by` a step restricts
    service; by `hard_stop_by` (when set) a step is a hard stop, after a step that requests
    emergency approval."""

    tighten_by: Annotated[Number, Field(gt=0)]
    hard_stop_by: Annotated[Number, Field(gt=0)] | None = None


def _restricts(step: StopLossStep) -> bool:
    return bool(set(step.actions) - INFORM_ONLY)


def _is_hard_stop(step: StopLossStep) -> bool:
    return not HARD_STOP.isdisjoint(step.actions)


def hard_stop_threshold(steps: Sequence[StopLossStep], trigger: Trigger) -> Decimal | None:
    """The threshold of the first step of `trigger` that suspends service or switches to prepaid."""
    return next((s.threshold for s in steps if s.trigger is trigger and _is_hard_stop(s)), None)


def threshold_text(trigger: Trigger, threshold: Decimal) -> Text:
    """A threshold in its trigger's unit: 额度使用率 ≥ 150%, 逾期 ≥ 60 天, 日消耗 ≥ 7 日均值 × 3."""
    if trigger is Trigger.OVER_LIMIT:
        return text(f"额度使用率 ≥ {percent(threshold)}", f"limit use ≥ {percent(threshold)}")
    if trigger is Trigger.OVERDUE:
        return text(f"逾期 ≥ {show(threshold)} 天", f"overdue ≥ {show(threshold)} days")
    return text(
        f"日消耗 ≥ 7 日均值 × {show(threshold)}",
        f"daily spend ≥ 7-day average × {show(threshold)}",
    )


def playbook_problems(
    steps: Sequence[StopLossStep], limits: Mapping[Trigger, PlaybookLimit]
) -> Problems:
    """(step index or None, message) for every way the playbook breaks the doctrine or the
    policy's limits."""
    problems: Problems = []
    for trigger in Trigger:
        label = LABELS[trigger]
        indexed = [(index, step) for index, step in enumerate(steps) if step.trigger is trigger]
        if not indexed:
            problems.append(
                (
                    None,
                    text(
                        f"止损方案缺少“{label.zh}”触发条件",
                        f"the playbook has no {label.en.lower()} step",
                    ),
                )
            )
            continue
        for (_, earlier), (index, later) in itertools.pairwise(indexed):
            if later.threshold <= earlier.threshold:
                problems.append(
                    (
                        index,
                        text(
                            f"“{label.zh}”的阈值必须逐级升高：{show(later.threshold)} 不高于上一级 "
                            f"{show(earlier.threshold)}",
                            f"{label.en.lower()} thresholds must escalate: {show(later.threshold)} is not "
                            f"above the previous {show(earlier.threshold)}",
                        ),
                    )
                )
        problems += _limit_problems(trigger, indexed, limits[trigger])
    return problems + _first_over_limit_problems(steps)


def _limit_problems(
    trigger: Trigger, indexed: Sequence[tuple[int, StopLossStep]], limit: PlaybookLimit
) -> Problems:
    """A trigger's steps against the policy: restrict service in time, then stop in time."""
    zh, en = LABELS[trigger].zh, LABELS[trigger].en.lower()
    last = indexed[-1][0]
    problems: Problems = []
    by = threshold_text(trigger, limit.tighten_by)
    restricting = [(index, step) for index, step in indexed if _restricts(step)]
    if not restricting:
        problems.append(
            (
                last,
                text(
                    f"“{zh}”从不限制服务（通知或提请审批不算）：政策要求最迟在{by.zh}时限制服务",
                    f"the {en} steps never restrict service (notifying or requesting approval does "
                    f"not count): the policy requires a restriction by {by.en} at the latest",
                ),
            )
        )
    elif restricting[0][1].threshold > limit.tighten_by:
        index, step = restricting[0]
        at = threshold_text(trigger, step.threshold)
        problems.append(
            (
                index,
                text(
                    f"“{zh}”第一次限制服务在{at.zh}，晚于政策上限{by.zh}",
                    f"{en} first restricts service at {at.en}, later than the policy's maximum "
                    f"of {by.en}",
                ),
            )
        )
    if limit.hard_stop_by is None:
        return problems
    by = threshold_text(trigger, limit.hard_stop_by)
    stops = [(index, step) for index, step in indexed if _is_hard_stop(step)]
    if not stops:
        problems.append(
            (
                last,
                text(
                    f"“{zh}”缺少硬止损（暂停服务或转为预付）：政策要求最迟在{by.zh}时执行",
                    f"{en} has no hard stop (suspend service or switch to prepaid): the policy "
                    f"requires one by {by.en} at the latest",
                ),
            )
        )
        return problems
    index, stop = stops[0]
    at = threshold_text(trigger, stop.threshold)
    if stop.threshold > limit.hard_stop_by:
        problems.append(
            (
                index,
                text(
                    f"“{zh}”的硬止损在{at.zh}，晚于政策上限{by.zh}",
                    f"the {en} hard stop at {at.en} is later than the policy's maximum of {by.en}",
                ),
            )
        )
    if not any(
        Action.REQUEST_EMERGENCY_APPROVAL in step.actions and step.threshold < stop.threshold
        for _, step in indexed
    ):
        problems.append(
            (
                index,
                text(
                    f"“{zh}”在硬止损（{at.zh}）之前缺少“提请紧急审批”的步骤",
                    f"{en} has no step that requests emergency approval before its hard stop at "
                    f"{at.en}",
                ),
            )
        )
    return problems


def _first_over_limit_problems(steps: Sequence[StopLossStep]) -> Problems:
    over_limit = [(i, step) for i, step in enumerate(steps) if step.trigger is Trigger.OVER_LIMIT]
    restricting = [(i, step) for i, step in over_limit if _restricts(step)]
    first_ok = bool(restricting) and set(FIRST_OVER_LIMIT_ACTIONS) <= set(restricting[0][1].actions)
    if over_limit and (not first_ok or Action.SUSPEND_SERVICE in restricting[0][1].actions):
        return [
            (
                restricting[0][0] if restricting else over_limit[0][0],
                text(
                    "超额度后的第一步限制必须是暂停新增额度并关闭高成本模型，不能只通知，也不能直接停服",
                    "the first over-limit restriction must pause new quota and disable high-cost "
                    "models: not only notify, and not suspend service",
                ),
            )
        ]
    return []


def with_escalation(
    steps: Sequence[StopLossStep], final: Mapping[Trigger, Sequence[Action]]
) -> tuple[StopLossRule, ...]:
    """Each step escalates to the next step of its trigger; the last one to the policy's final,
    unless it is a hard stop: nothing escalates beyond one."""
    rules = []
    for index, step in enumerate(steps):
        later = [other for other in steps[index + 1 :] if other.trigger is step.trigger]
        if later:
            escalation = tuple(later[0].actions)
        else:
            escalation = () if _is_hard_stop(step) else tuple(final.get(step.trigger, ()))
        rules.append(
            StopLossRule(
                trigger=step.trigger,
                threshold=step.threshold,
                actions=step.actions,
                escalation=escalation,
                recovery=step.recovery,
            )
        )
    return tuple(rules)
