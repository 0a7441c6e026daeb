"""Stop-loss playbooks: the doctrine a playbook must follow, and its escalation path."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from creditbook.core.conditions import show
from creditbook.core.labels import LABELS
from creditbook.core.models import Action, StopLossRule, StopLossStep, Trigger
from creditbook.core.records import Text, text

FIRST_OVER_LIMIT_ACTIONS = (Action.PAUSE_NEW_QUOTA, Action.DISABLE_HIGH_COST_MODELS)


def playbook_problems(steps: Sequence[StopLossStep]) -> list[tuple[int | None, Text]]:
    """(step index or None, message) for every way the playbook breaks the doctrine."""
    problems: list[tuple[int | None, Text]] = []
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
    over_limit = [(i, step) for i, step in enumerate(steps) if step.trigger is Trigger.OVER_LIMIT]
    restricting = [(i, step) for i, step in over_limit if set(step.actions) - {Action.NOTIFY}]
    first_ok = bool(restricting) and set(FIRST_OVER_LIMIT_ACTIONS) <= set(restricting[0][1].actions)
    if over_limit and (not first_ok or Action.SUSPEND_SERVICE in restricting[0][1].actions):
        problems.append(
            (
                restricting[0][0] if restricting else over_limit[0][0],
                text(
                    "超额度后的第一步限制必须是暂停新增额度并关闭高成本模型，不能只通知，也不能直接停服",
                    "the first over-limit restriction must pause new quota and disable high-cost "
                    "models: not only notify, and not suspend service",
                ),
            )
        )
    return problems


def with_escalation(
    steps: Sequence[StopLossStep], final: Mapping[Trigger, Sequence[Action]]
) -> tuple[StopLossRule, ...]:
    """Each step escalates to the next step of its trigger; the last one to the policy's final."""
    rules = []
    for index, step in enumerate(steps):
        later = [other for other in steps[index + 1 :] if other.trigger is step.trigger]
        escalation = later[0].actions if later else tuple(final.get(step.trigger, ()))
        rules.append(
            StopLossRule(
                trigger=step.trigger,
                threshold=step.threshold,
                actions=step.actions,
                escalation=tuple(escalation),
                recovery=step.recovery,
            )
        )
    return tuple(rules)
