"""Validation: pydantic's field errors in plain words, then a list of small named checks.

Every problem is an Issue located by its contract path (`consumption[2].model`); adapters that know
the workbook layout add the cell. Errors block the decision, warnings travel with it.
"""

from __future__ import annotations

import itertools
import reprlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from creditbook.core import uscc
from creditbook.core.models import (
    MAX_CONSUMPTION_LINES,
    MAX_RENEWAL_YEARS,
    MAX_VALUES,
    Application,
    EntityType,
    GuaranteeType,
    Provider,
)
from creditbook.core.money import money, percent
from creditbook.core.playbook import playbook_problems
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Issue, Path, error, warning
from creditbook.core.spend import spend_gap


@dataclass(frozen=True)
class Context:
    policy: Policy
    prices: PriceTable


# ------------------------------------------------------------ field errors

MAX_REPORTED = 1_000  # field errors listed; more are counted (each issue costs kilobytes)


class _Brief(reprlib.Repr):
    """repr, shortened: deep nesting cut off, unprintable characters escaped."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother = 2, 40, 40

    def repr_int(self, x: int, level: int) -> str:
        try:
            return super().repr_int(x, level)
        except ValueError:  # Python will not print an int of more than 4300 digits
            return f"<{x.bit_length()}-bit integer>"


BRIEF = _Brief()


def _shown(value: Any) -> str:
    shown = BRIEF.repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


MISSING = ("必填项缺失", "required field is missing")


def _field_message(kind: str, ctx: Mapping[str, Any], value: Any) -> tuple[str, str]:
    got = _shown(value)
    bound = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", "≥")}
    bound |= {"less_than": ("lt", "<"), "less_than_equal": ("le", "≤")}
    if kind == "missing":
        return MISSING
    if kind == "extra_forbidden":
        return f"未知字段（是否拼写错误？）：{got}", f"unknown field (a typo?): {got}"
    if kind in ("enum", "literal_error"):
        options = ctx.get("expected", "")
        return f"取值 {got} 无效，应为：{options}", f"{got} is not allowed; use one of {options}"
    if kind in bound:
        key, symbol = bound[kind]
        limit = ctx.get(key)
        return f"必须 {symbol} {limit}，收到 {got}", f"must be {symbol} {limit}, got {got}"
    if kind == "unrealistic":
        most = f"{ctx.get('most'):,}"
        return f"数值大得不现实（上限 {most}）", f"is unrealistically large (at most {most})"
    if kind == "whole_number":
        return f"必须是整数，收到 {got}", f"must be a whole number, got {got}"
    if kind == "number_not_bool":
        return f"应为数字，不是是/否：{got}", f"must be a number, not true/false: {got}"
    if kind == "unprintable":
        code = ctx.get("code")
        return (
            f"包含无法打印、也无法写入工作簿的字符 {code}，请删除",
            f"contains the character {code}, which cannot be printed or kept in a workbook; "
            "remove it",
        )
    if kind == "string_unicode":
        return (
            f"包含无效的 Unicode 字符（孤立代理项）：{got}",
            f"contains text that is not valid Unicode (a lone surrogate): {got}",
        )
    if kind == "finite_number":
        return f"必须是有限数字，收到 {got}", f"must be a finite number, got {got}"
    if kind.startswith(("decimal", "int", "float")):
        return f"必须是数字，收到 {got}", f"must be a number, got {got}"
    if kind.startswith(("date", "datetime")):
        return (
            f"必须是真实日期（YYYY-MM-DD），收到 {got}",
            f"must be a real date (YYYY-MM-DD), got {got}",
        )
    if kind == "string_too_short":
        return "不能为空", "must not be empty"
    if kind == "string_too_long":
        return "内容过长", f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "string_pattern_mismatch":
        return f"格式不对：{got}", f"has the wrong form: {got}"
    if kind == "too_short":
        minimum = ctx.get("min_length")
        return f"至少需要 {minimum} 项", f"needs at least {minimum} item(s)"
    if kind == "too_long":
        maximum = f"{ctx.get('max_length'):,}"
        return f"项目过多：最多 {maximum} 项", f"has too many items (at most {maximum})"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"应为一组字段（对象），收到 {got}", f"must be an object with fields, got {got}"
    if kind in ("list_type", "tuple_type"):
        return f"应为列表，收到 {got}", f"must be a list, got {got}"
    if kind == "string_type":
        return f"应为文本，收到 {got}", f"must be text, got {got}"
    return f"取值无效：{got}", f"is not valid: {got}"


def field_issues(exc: ValidationError) -> list[Issue]:
    """The first MAX_REPORTED field errors as issues, and how many more there are."""
    details = exc.errors(include_url=False)
    issues = []
    for detail in details[:MAX_REPORTED]:
        path: Path = tuple(part for part in detail["loc"] if isinstance(part, int | str))
        zh, en = _field_message(detail["type"], detail.get("ctx") or {}, detail.get("input"))
        issues.append(error(path, zh, en))
    more = len(details) - MAX_REPORTED
    if more > 0:
        issues.append(
            error((), f"另有 {more:,} 个问题未列出", f"{more:,} more problems not listed")
        )
    return issues


def _holds_more_values(raw: Any, most: int) -> bool:
    """Whether `raw` holds more than `most` values, counted without recursion."""
    count, todo = 1, [raw]
    while todo:
        value = todo.pop()
        if isinstance(value, Mapping):
            children: Collection[Any] = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        count += len(children)
        if count > most:
            return True
        todo += children
    return False


def parse_application(raw: Any) -> tuple[Application | None, list[Issue]]:
    if not isinstance(raw, Mapping):
        return None, [error((), "申请应为 JSON 对象", "the application must be a JSON object")]
    if _holds_more_values(raw, MAX_VALUES):
        # Refused whole: validating it would cost a located issue (kilobytes) per bad value.
        return None, [
            error(
                (),
                f"申请内容过多：超过 {MAX_VALUES:,} 个值",
                f"the application is too large: more than {MAX_VALUES:,} values (one with "
                f"{MAX_CONSUMPTION_LINES:,} consumption lines has about 100,000)",
            )
        ]
    try:
        return Application.model_validate(raw), []
    except ValidationError as exc:
        return None, field_issues(exc)


# ----------------------------------------------------------- named checks

Check = Callable[[Application, Context], Iterable[Issue]]


def check_credit_code(app: Application, ctx: Context) -> Iterator[Issue]:
    profile = app.profile
    path = ("profile", "credit_code")
    if profile.country != "CN":
        return
    if not profile.credit_code:
        if profile.entity_type is not EntityType.INDIVIDUAL:
            yield error(
                path, "中国企业必须填写统一社会信用代码", "a Chinese company needs its credit code"
            )
        return
    problem = uscc.problem(profile.credit_code)
    if problem:
        zh, en = problem
        yield error(path, f"统一社会信用代码{zh}", f"the unified social credit code {en}")


def check_history_has_on_time_ratio(app: Application, ctx: Context) -> Iterator[Issue]:
    profile = app.profile
    if profile.relationship_months > 0 and profile.on_time_ratio_12m is None:
        yield error(
            ("profile", "on_time_ratio_12m"),
            "已有合作记录时必须填写近 12 个月按时付款率",
            "an on-time ratio is required when the customer has history with us",
        )
    history = (
        profile.max_days_overdue_12m,
        profile.overdue_events_12m,
        profile.consecutive_overdue_invoices,
        profile.current_overdue_amount,
    )
    if profile.relationship_months == 0 and any(history):
        yield warning(
            ("profile", "relationship_months"),
            "合作月数为 0（新客户），却填写了逾期记录，请核对",
            "relationship is 0 months (new customer) but overdue history is filled in; please check",
        )


def check_overdue_history_consistent(app: Application, ctx: Context) -> Iterator[Issue]:
    profile = app.profile
    if profile.consecutive_overdue_invoices > profile.overdue_events_12m:
        yield warning(
            ("profile", "consecutive_overdue_invoices"),
            "连续逾期账单数大于近 12 个月逾期次数，请核对",
            "more consecutive overdue invoices than overdue events in 12 months; please check",
        )
    if profile.max_days_overdue_12m > 0 and profile.overdue_events_12m == 0:
        yield warning(
            ("profile", "overdue_events_12m"),
            "有最长逾期天数但逾期次数为 0，请核对",
            "days overdue are given but no overdue events; please check",
        )
    if profile.current_overdue_amount > 0 and profile.current_days_overdue == 0:
        yield warning(
            ("profile", "current_days_overdue"),
            "有当前逾期金额但未填写当前逾期天数",
            "an overdue amount is outstanding but the days overdue now are not given",
        )


def check_renewal_date(app: Application, ctx: Context) -> Iterator[Issue]:
    profile = app.profile
    renewal, applied = profile.contract_renewal_date, profile.application_date
    if renewal is None:
        return
    path = ("profile", "contract_renewal_date")
    if renewal <= applied:
        yield error(
            path,
            f"合同续约日 {renewal} 必须晚于申请日 {applied}",
            f"the contract renewal date {renewal} must be after the application date {applied}",
        )
    # Compared as (year, month, day): ten years after 29 February need not be a real date.
    latest = (applied.year + MAX_RENEWAL_YEARS, applied.month, applied.day)
    if (renewal.year, renewal.month, renewal.day) > latest:
        yield error(
            path,
            f"合同续约日 {renewal} 晚于申请日 {applied} 之后 {MAX_RENEWAL_YEARS} 年，不现实",
            f"the contract renewal date {renewal} is more than {MAX_RENEWAL_YEARS} years after "
            f"the application date {applied}",
        )


def check_guarantee_amount_has_type(app: Application, ctx: Context) -> Iterator[Issue]:
    profile = app.profile
    if profile.guarantee_amount > 0 and profile.guarantee_type is GuaranteeType.NONE:
        yield error(
            ("profile", "guarantee_type"),
            "填写了担保金额，但担保方式为“无”",
            "a guarantee amount is given but the guarantee type is none",
        )
    if profile.guarantee_type is not GuaranteeType.NONE and profile.guarantee_amount == 0:
        yield warning(
            ("profile", "guarantee_amount"),
            "有担保方式但担保金额为 0，担保不计入风险缓冲",
            "a guarantee type is given with amount 0; it adds no secured buffer",
        )


def check_peak_not_below_average(app: Application, ctx: Context) -> Iterator[Issue]:
    for index, line in enumerate(app.consumption):
        if line.peak_factor < 1:
            yield error(
                ("consumption", index, "peak_factor"),
                f"峰值系数 {line.peak_factor} 小于 1：峰值月不会低于平均月",
                f"peak factor {line.peak_factor} is below 1: the peak month cannot be below average",
            )


def check_consumption_lines_priced(app: Application, ctx: Context) -> Iterator[Issue]:
    if not app.consumption:
        yield error(
            ("consumption",), "至少需要一行预计消耗", "at least one consumption line is needed"
        )
        return
    for index, line in enumerate(app.consumption):
        if line.monthly_spend is not None:
            continue
        name = f"{line.provider.value}/{line.model}"
        row = ctx.prices.row_for(line, peak_only=ctx.policy.pricing.peak_only)
        if line.provider is Provider.OTHER or row is None:
            yield error(
                ("consumption", index, "model"),
                f"第 {index + 1} 行 {name} 不在价格表中，请填写月消耗金额",
                f"line {index + 1}: {name} is not in the price table; give its monthly_spend",
            )
        elif not (line.input_mtok_month or line.cached_input_mtok_month or line.output_mtok_month):
            yield error(
                ("consumption", index, "input_mtok_month"),
                f"第 {index + 1} 行 {name} 没有填写 token 用量或月消耗金额",
                f"line {index + 1}: {name} has neither token volumes nor a monthly_spend",
            )


def check_stated_spend_matches_tokens(app: Application, ctx: Context) -> Iterator[Issue]:
    currency = app.profile.currency
    tolerance = percent(ctx.policy.pricing.spend_tolerance)
    for index, line in enumerate(app.consumption):
        gap = spend_gap(line, currency, ctx.policy, ctx.prices)
        if gap is None:
            continue
        stated, priced = (money(amount, currency) for amount in gap)
        name = f"{line.provider.value}/{line.model}"
        yield warning(
            ("consumption", index, "monthly_spend"),
            f"第 {index + 1} 行 {name} 申报月消耗 {stated}，按价格表计算 token 用量为 {priced}，"
            f"相差超过 {tolerance}；按较高的金额计算",
            f"line {index + 1}: {name} states a monthly spend of {stated} but its tokens cost "
            f"{priced} at list price, more than {tolerance} apart; the higher figure is used",
        )


def check_ramp_never_decreases(app: Application, ctx: Context) -> Iterator[Issue]:
    ramp = app.buffers.ramp
    if ramp and ramp[0].from_day != 0:
        yield error(
            ("buffers", "ramp", 0, "from_day"),
            "分阶段额度必须从第 0 天开始",
            "a staged ramp must start on day 0",
        )
    for index, (earlier, later) in enumerate(itertools.pairwise(ramp), start=1):
        if later.from_day <= earlier.from_day:
            yield error(
                ("buffers", "ramp", index, "from_day"),
                "分阶段额度的起始天数必须递增",
                "ramp steps must start on increasing days",
            )
        if later.limit < earlier.limit:
            yield error(
                ("buffers", "ramp", index, "limit"),
                f"分阶段额度不能下降：{later.limit} 低于上一阶段 {earlier.limit}",
                f"ramp limits never decrease: {later.limit} is below the previous {earlier.limit}",
            )
    if ramp and ramp[-1].limit > app.profile.requested_limit:
        yield warning(
            ("buffers", "ramp", len(ramp) - 1, "limit"),
            "分阶段额度高于申请额度，将按批准额度封顶",
            "the ramp goes above the requested limit; it is capped at the approved limit",
        )


def check_auto_recharge_pair(app: Application, ctx: Context) -> Iterator[Issue]:
    buffers = app.buffers
    if (buffers.auto_recharge_threshold is None) != (buffers.auto_recharge_amount is None):
        missing = (
            "auto_recharge_amount"
            if buffers.auto_recharge_amount is None
            else ("auto_recharge_threshold")
        )
        yield error(
            ("buffers", missing),
            "自动充值需要同时填写触发余额和充值金额",
            "auto-recharge needs both a threshold and an amount",
        )


def check_stop_loss_playbook(app: Application, ctx: Context) -> Iterator[Issue]:
    if not app.stop_loss:
        return
    for index, message in playbook_problems(app.stop_loss, ctx.policy.playbook_limits):
        path: Path = ("stop_loss",) if index is None else ("stop_loss", index)
        yield error(path, message.zh, message.en)


def check_relationship_within_business_age(app: Application, ctx: Context) -> Iterator[Issue]:
    profile = app.profile
    if Decimal(profile.relationship_months) > profile.years_in_business * 12 + 12:
        yield warning(
            ("profile", "relationship_months"),
            "合作月数超过了企业经营年限，请核对",
            "the relationship is longer than the business has existed; please check",
        )


CHECKS: tuple[Check, ...] = (
    check_credit_code,
    check_history_has_on_time_ratio,
    check_overdue_history_consistent,
    check_renewal_date,
    check_guarantee_amount_has_type,
    check_peak_not_below_average,
    check_consumption_lines_priced,
    check_stated_spend_matches_tokens,
    check_ramp_never_decreases,
    check_auto_recharge_pair,
    check_stop_loss_playbook,
    check_relationship_within_business_age,
)


def validate(app: Application, ctx: Context) -> list[Issue]:
    return [issue for check in CHECKS for issue in check(app, ctx)]
