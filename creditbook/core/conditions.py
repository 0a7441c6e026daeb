"""Decision-table rows: a `when` condition over named facts, matched with a readable trace.

A condition maps fact names to comparisons, all of which must hold:
`{"score": {"gte": 60}, "entity_type": {"in": ["listed", "state_owned"]}}`. An empty condition is
the explicit default row. A fact that is unknown for this customer (None, e.g. the on-time ratio of
a new customer) satisfies only `eq: null`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from creditbook.core.labels import LABELS
from creditbook.core.models import EntityType, GuaranteeType, Procurement, Structure
from creditbook.core.records import Text, text

Scalar = Decimal | bool | str | None
FactValue = Decimal | bool | str | None
Facts = Mapping[str, FactValue]
Op = Literal["eq", "ne", "in", "gte", "gt", "lte", "lt"]


def _scalar(value: Any) -> Any:
    """YAML gives ints and floats; facts are Decimals. Booleans stay booleans."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, list | tuple):
        return tuple(_scalar(item) for item in value)
    return value


Operand = Annotated[Scalar | tuple[Scalar, ...], BeforeValidator(_scalar)]
Condition = dict[str, Annotated[dict[Op, Operand], Field(min_length=1)]]

FACT_LABELS: dict[str, Text] = {
    "score": text("评分", "score"),
    "entity_type": text("主体类型", "entity type"),
    "years_in_business": text("经营年限", "years in business"),
    "procurement": text("采购流程", "procurement"),
    "relationship_months": text("合作月数", "relationship months"),
    "is_new_customer": text("新客户", "new customer"),
    "paid_invoices_12m": text("近12个月已付账单数", "invoices paid in 12 months"),
    "is_increase": text("提额申请", "limit increase"),
    "on_time_ratio_12m": text("近12个月按时付款率", "on-time ratio 12m"),
    "max_days_overdue_12m": text("近12个月最长逾期天数", "max days overdue 12m"),
    "overdue_events_12m": text("近12个月逾期次数", "overdue events 12m"),
    "consecutive_overdue_invoices": text("连续逾期账单数", "consecutive overdue invoices"),
    "current_overdue_amount": text("当前逾期金额", "current overdue amount"),
    "current_days_overdue": text("当前逾期天数", "current days overdue"),
    "guarantee_type": text("担保方式", "guarantee type"),
    "has_guarantee": text("有担保", "has guarantee"),
    "high_cost_share": text("高成本模型占比", "high-cost share"),
    "new_scenario_share": text("新场景占比", "new-scenario share"),
    "requested_terms_days": text("申请账期天数", "requested terms days"),
    "country": text("国家/地区", "country"),
}
# Facts of the decision itself, for the approval-authority exceptions only.
DECISION_FACT_LABELS: dict[str, Text] = {
    "approved_limit_base": text("批准额度（本位币）", "approved limit (base currency)"),
    "unsecured_exposure_base": text("无担保敞口（本位币）", "unsecured exposure (base currency)"),
    "secured_by_cash": text("以已收现金担保", "secured by cash held"),
    "structure": text("授信结构", "structure"),
}
RATIO_FACTS = {"on_time_ratio_12m", "high_cost_share", "new_scenario_share"}
# Units of the counted facts, as read: 12 年 / 12 years (Chinese; English singular, plural).
FACT_UNITS: dict[str, tuple[str, str, str]] = {
    "years_in_business": ("年", "year", "years"),
    "relationship_months": ("个月", "month", "months"),
    "paid_invoices_12m": ("张", "invoice", "invoices"),
    "max_days_overdue_12m": ("天", "day", "days"),
    "overdue_events_12m": ("次", "time", "times"),
    "consecutive_overdue_invoices": ("期", "invoice", "invoices"),
    "current_days_overdue": ("天", "day", "days"),
    "requested_terms_days": ("天", "day", "days"),
}
ENUM_FACTS = {
    "entity_type": EntityType,
    "procurement": Procurement,
    "guarantee_type": GuaranteeType,
    "structure": Structure,
}

_SYMBOLS: dict[str, str] = {
    "eq": "=",
    "ne": "≠",
    "in": "∈",
    "gte": "≥",
    "gt": ">",
    "lte": "≤",
    "lt": "<",
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
}


def show(value: Any) -> str:
    if isinstance(value, tuple):
        return "{" + ", ".join(show(item) for item in value) + "}"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if value is None:
        return "—"
    return str(value).lower() if isinstance(value, bool) else str(value)


def shown(fact: str, value: Any, *, unit: bool = False) -> Text:
    """A fact's value as people read it: labels for codes, % for ratios, 是/否 for yes and no;
    with `unit`, counts in their unit (where no label beside them names it: 30 个月)."""
    if isinstance(value, tuple):
        parts = [shown(fact, item) for item in value]
        return text("、".join(p.zh for p in parts), ", ".join(p.en for p in parts))
    if isinstance(value, bool):
        return text("是", "yes") if value else text("否", "no")
    if value is None:
        return text("无", "none")
    if fact in ENUM_FACTS and isinstance(value, str):
        return LABELS[ENUM_FACTS[fact](value)]
    if isinstance(value, Decimal):
        shown_number = (
            f"{(value * 100).normalize():f}%" if fact in RATIO_FACTS else f"{value.normalize():,f}"
        )
        if unit and fact in FACT_UNITS:
            zh, one, many = FACT_UNITS[fact]
            return text(f"{shown_number} {zh}", f"{shown_number} {one if value == 1 else many}")
        return text(shown_number, shown_number)
    return text(str(value), str(value))


def _holds(op: str, actual: FactValue, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return actual in expected
    if actual is None or isinstance(actual, bool | str):
        return False
    return _COMPARE[op](actual, expected)


def matches(when: Condition, facts: Facts) -> tuple[bool, tuple[Text, ...]]:
    """Whether every comparison holds, and the trace of each comparison with the value seen."""
    trace = []
    for fact, comparisons in when.items():
        actual = facts[fact]
        for op, expected in comparisons.items():
            if not _holds(op, actual, expected):
                return False, ()
            label = FACT_LABELS.get(fact) or DECISION_FACT_LABELS[fact]
            if isinstance(actual, bool) and op == "eq":  # "新客户：是", not "新客户 true = true"
                seen = shown(fact, actual)
                trace.append(text(f"{label.zh}：{seen.zh}", f"{label.en}: {seen.en}"))
                continue
            now, limit = shown(fact, actual), shown(fact, expected)
            symbol = _SYMBOLS[op]
            trace.append(
                text(
                    f"{label.zh} {now.zh} {symbol} {limit.zh}",
                    f"{label.en} {now.en} {symbol} {limit.en}",
                )
            )
    return True, tuple(trace)


def unknown_facts(when: Condition, *, decided: bool = False) -> list[str]:
    """Facts a row names that do not exist (decision facts only where `decided`)."""
    known = {**FACT_LABELS, **DECISION_FACT_LABELS} if decided else FACT_LABELS
    return [fact for fact in when if fact not in known]
