"""The Approval sheet as a plan of rows: what each cell says and which named format it wears.

Pure: the openpyxl writer (files, CLI) and the xlwings writer (Evaluate button) both apply the same
plan, so the approval reads the same whichever way it was produced. The plan also carries the audit
snapshot (hidden columns) that `creditbook verify` checks later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from creditbook.core.labels import LABELS
from creditbook.core.models import Application, Decision
from creditbook.core.money import money, percent, quantity
from creditbook.core.playbook import threshold_text
from creditbook.core.records import Lang, Text, text
from creditbook.workbook.cells import CellValue
from creditbook.workbook.flatten import flatten
from creditbook.workbook.layout import column_letter
from creditbook.workbook.styles import BADGES

FIRST_COLUMN = 2  # column B
COLUMN_WIDTHS = (24.0, 18.0, 30.0, 26.0, 30.0)  # B..F
LAST_COLUMN = FIRST_COLUMN + len(COLUMN_WIDTHS) - 1  # column F
SNAPSHOT_COLUMN = 10  # J (path) and K (value), hidden in the template
CHARS_PER_WIDTH_UNIT = 1.0
LINE_HEIGHT = 14.0


@dataclass(frozen=True)
class Cell:
    value: CellValue
    style: str = "cb_text"
    number_format: str | None = None


@dataclass(frozen=True)
class Line:
    """One sheet row from column B; `span` merges the last cell across to column F."""

    cells: tuple[Cell, ...]
    span: bool
    height: float

    @property
    def merged_columns(self) -> tuple[int, int] | None:
        """First and last column of the merged last cell; None when the line merges nothing."""
        end = FIRST_COLUMN + len(self.cells) - 1
        return (end, LAST_COLUMN) if self.span and end < LAST_COLUMN else None


@dataclass(frozen=True)
class PolicyStatus:
    official: bool
    note: Text


@dataclass
class Plan:
    """A sheet's rows from column B; `row_breaks` are the rows a new printed page starts after,
    `title_rows` the first and last row printed again at the top of each continuation page."""

    lines: list[Line] = field(default_factory=list)
    snapshot: list[tuple[str, CellValue]] = field(default_factory=list)
    row_breaks: list[int] = field(default_factory=list)
    title_rows: tuple[int, int] | None = None
    column_widths: tuple[float, ...] = COLUMN_WIDTHS  # columns B onwards

    @property
    def width(self) -> int:
        return len(COLUMN_WIDTHS)

    @property
    def print_area(self) -> str:
        """The lines' cells, B1 to F of the last line."""
        first, last = column_letter(FIRST_COLUMN), column_letter(LAST_COLUMN)
        return f"{first}1:{last}{len(self.lines)}"


def both(value: Text) -> str:
    return value.render("both")


def _lines(value: str, width: float) -> int:
    """Wrapped lines of a text in a column `width` wide (CJK characters take two places)."""
    places = width * CHARS_PER_WIDTH_UNIT
    return sum(
        max(1, math.ceil(sum(2 if ord(c) > 0x2E7F else 1 for c in part) / places))
        for part in value.split("\n")
    )


def _fit(cells: Sequence[Cell], span: bool) -> float:
    """Row height that shows every cell's wrapped text (Excel does not autofit merged cells)."""
    lines = 1
    for index, cell in enumerate(cells):
        last = span and index == len(cells) - 1
        width = sum(COLUMN_WIDTHS[index:]) if last else COLUMN_WIDTHS[index]
        if isinstance(cell.value, str):
            lines = max(lines, _lines(cell.value, width))
    return lines * LINE_HEIGHT + 4


def _money_format(decision: Decision) -> str:
    symbol = "¥" if decision.currency.value == "CNY" else "$"
    return f'"{symbol}"#,##0.00'


def _label(zh: str, en: str) -> Cell:
    return Cell(f"{zh} {en}", "cb_label")


class _Builder:
    def __init__(self, decision: Decision, lang: Lang) -> None:
        self.decision = decision
        self.lang = lang
        self.plan = Plan()

    def add(self, *cells: Cell, span: bool = False, height: float | None = None) -> None:
        fitted = max(height or 0, _fit(cells, span))
        self.plan.lines.append(Line(cells=cells, span=span, height=fitted))

    def blank(self) -> None:
        self.add(Cell(None, "cb_intro"))

    def section(self, zh: str, en: str) -> None:
        self.blank()
        self.add(Cell(f"{zh} {en}", "cb_section"), span=True)

    def pairs(self, *pairs: tuple[Cell, Cell]) -> None:
        """Up to two label/value pairs a row: B C | D E."""
        for index in range(0, len(pairs), 2):
            self.add(*(cell for pair in pairs[index : index + 2] for cell in pair))

    def items(self, values: Iterable[Text | str], style: str = "cb_text") -> None:
        for number, value in enumerate(values, start=1):
            shown = value if isinstance(value, str) else both(value)
            self.add(Cell(number, "cb_label"), Cell(shown, style), span=True)

    def money(self, amount: Decimal) -> Cell:
        return Cell(float(amount), "cb_output", _money_format(self.decision))


def approval_plan(
    decision: Decision,
    app: Application,
    *,
    policy: PolicyStatus,
    evaluated_by: str,
    lang: Lang = "both",
) -> Plan:
    build = _Builder(decision, lang)
    d, profile, exposure = decision, app.profile, decision.exposure
    cur = d.currency
    build.add(Cell("授信审批单 Credit approval", "cb_title"), span=True, height=28)
    build.pairs(
        (_label("客户", "Customer"), Cell(d.customer_name, "cb_output")),
        (_label("统一社会信用代码", "Credit code"), Cell(d.credit_code or "—", "cb_output")),
        (
            _label("申请日期", "Application date"),
            Cell(profile.application_date, "cb_output", "yyyy-mm-dd"),
        ),
        (_label("销售负责人", "Sales owner"), Cell(profile.sales_owner or "—", "cb_output")),
    )
    build.add(
        _label("政策", "Policy"),
        Cell(both(policy.note), "cb_output" if policy.official else "cb_alert"),
        span=True,
    )

    build.blank()
    build.add(
        _label("决定", "Decision"),
        Cell(both(LABELS[d.decision]), BADGES[d.decision]),
        span=True,
        height=30,
    )
    build.pairs(
        (
            _label("批准额度", "Approved limit"),
            Cell(float(d.approved_limit), "cb_figure", _money_format(d)),
        ),
        (_label("申请额度", "Requested limit"), build.money(d.requested_limit)),
        (_label("结构", "Structure"), Cell(both(LABELS[d.structure]), "cb_output")),
        (
            _label("评级", "Tier"),
            Cell(f"{d.tier} {both(d.tier_name)} · {d.score}/100", "cb_output"),
        ),
        (_label("账期（天）", "Payment terms (days)"), Cell(d.payment_terms_days, "cb_output")),
        (_label("账单周期（天）", "Billing cycle (days)"), Cell(d.billing_cycle_days, "cb_output")),
        (_label("应收保证金", "Required deposit"), build.money(d.required_deposit)),
        (
            _label("保证金缺口", "Deposit shortfall"),
            Cell(
                float(d.deposit_shortfall),
                "cb_alert" if d.deposit_shortfall else "cb_output",
                _money_format(d),
            ),
        ),
    )

    build.section("额度上限对比", "Caps side by side")
    build.add(
        *(Cell(h, "cb_header") for h in ("上限 Cap", "金额 Amount", "约束 Binding")), span=True
    )
    for cap in d.limit_caps:
        build.add(
            Cell(both(cap.label), "cb_text"),
            build.money(cap.amount),
            Cell(
                "✓ 约束额度 binds" if cap.binding else "", "cb_alert" if cap.binding else "cb_text"
            ),
            span=True,
        )
    build.items([exposure.lasting(), exposure.provider_cost_basis])

    if d.conditions:
        build.section("先决条件", "Conditions precedent")
        build.items(d.conditions)
    if d.alternatives:
        build.section("替代方案", "Alternatives")
        build.items(alternative.description for alternative in d.alternatives)

    build.section("评分明细", "Score breakdown")
    build.add(
        *(Cell(h, "cb_header") for h in ("因素 Factor", "值 Value", "得分 Points", "理由 Reason")),
        span=True,
    )
    for line in d.score_breakdown:
        build.add(
            Cell(both(line.label), "cb_text"),
            Cell(both(line.value), "cb_text"),
            Cell(line.points, "cb_output"),
            Cell(both(line.reason), "cb_text"),
            span=True,
        )
    build.add(
        Cell("合计 Total", "cb_label_required"),
        Cell(None, "cb_text"),
        Cell(d.score, "cb_figure"),
        Cell(f"{d.tier} {both(d.tier_name)}", "cb_text"),
        span=True,
    )
    build.items(d.tier_trace)

    build.section("敞口", "Exposure")
    build.pairs(
        (
            _label("预计月消耗", "Expected monthly spend"),
            build.money(exposure.expected_monthly_spend),
        ),
        (_label("峰值月消耗", "Peak monthly spend"), build.money(exposure.peak_monthly_spend)),
        (
            _label("高成本模型占比", "High-cost share"),
            Cell(percent(exposure.high_cost_share), "cb_output"),
        ),
        (_label("需求测算额度", "Need-based limit"), build.money(exposure.need_based_limit)),
        (_label("已收保证金 / 保函", "Security held"), build.money(exposure.security_held)),
        (_label("无担保敞口", "Unsecured exposure"), build.money(exposure.unsecured_exposure)),
        (
            _label("敞口窗口（天）", "Exposure window (days)"),
            Cell(exposure.window_days, "cb_output"),
        ),
        (
            _label("窗口期消耗", "Spend over the window"),
            build.money(exposure.window_spend),
        ),
        (
            _label("窗口期峰值消耗", "Peak spend over the window"),
            build.money(exposure.window_spend_peak),
        ),
        (
            _label("停止服务前可用", "Drawable before the hard stop"),
            build.money(exposure.hard_stop_draw),
        ),
        (
            _label("上游成本率", "Upstream cost ratio"),
            Cell(percent(exposure.upstream_cost_ratio), "cb_output"),
        ),
        (
            _label("垫付上游成本", "Provider cost at risk"),
            build.money(exposure.provider_cost_at_risk),
        ),
    )

    build.section("止损方案", "Stop-loss matrix")
    build.add(
        *(
            Cell(h, "cb_header")
            for h in (
                "触发 Trigger",
                "阈值 Threshold",
                "动作 Actions",
                "升级 Escalation",
                "恢复 Recovery",
            )
        )
    )
    for rule in d.stop_loss:
        names = [
            ", ".join(both(LABELS[value]) for value in values) or "—"
            for values in (rule.actions, rule.escalation, rule.recovery)
        ]
        build.add(
            Cell(both(LABELS[rule.trigger]), "cb_text"),
            Cell(both(threshold_text(rule.trigger, rule.threshold)), "cb_output"),
            *(Cell(name, "cb_text") for name in names),
        )

    build.section("复核与治理", "Review and governance")
    build.pairs(
        (
            _label("下次复核日", "Next review date"),
            Cell(d.next_review_date, "cb_figure", "yyyy-mm-dd"),
        ),
        (
            _label("复核间隔（天）", "Review interval (days)"),
            Cell(d.review_interval_days, "cb_output"),
        ),
    )
    if d.ramp:
        build.items(
            [text("分阶段额度", "Staged ramp-up")]
            + [
                text(
                    f"第 {s.from_day} 天起 {money(s.limit, cur)}",
                    f"{money(s.limit, cur)} from day {s.from_day}",
                )
                for s in d.ramp
            ]
        )
    build.add(Cell("降级触发 Downgrade triggers", "cb_header"), span=True)
    build.items(
        f"{both(g.description)}（{quantity(g.threshold, g.unit, cur)}）"
        for g in d.downgrade_triggers
    )
    build.add(Cell("升级条件 Upgrade conditions", "cb_header"), span=True)
    build.items(g.description for g in d.upgrade_conditions)

    build.section("理由", "Reasons")
    build.items(d.reasons)
    if d.issues:
        build.section("输入提示", "Input warnings")
        build.items((issue.render() for issue in d.issues), style="cb_alert")

    build.section("签批", "Sign-off")
    build.add(
        _label("申请人", "Applicant"), Cell(profile.sales_owner or "—", "cb_output"), span=True
    )
    build.add(
        *(
            Cell(h, "cb_header")
            for h in (
                "审批角色 Role",
                "姓名 Name",
                "审批意见 Opinion",
                "日期 Date",
                "签字 Signature",
            )
        )
    )
    for approver in d.approvals_required:
        build.add(
            Cell(f"{both(LABELS[approver.role])}\n{both(approver.reason)}", "cb_label"),
            Cell(None, "cb_input"),
            Cell(None, "cb_input"),
            Cell(None, "cb_input", "yyyy-mm-dd"),
            Cell(None, "cb_input"),
            height=30,
        )

    audit = d.audit
    build.section("审计", "Audit")
    footer = (
        f"指纹 fingerprint {audit.fingerprint} · 政策 policy {audit.policy_id} {audit.policy_version} "
        f"sha256 {audit.policy_hash} · 引擎 engine {audit.engine_version} · 评估于 evaluated at "
        f"{audit.evaluated_at.isoformat()} · 评估人 evaluator "
        f"{evaluated_by or '未填写 not given (--evaluator, CREDITBOOK_EVALUATOR)'}"
    )
    build.add(Cell(footer, "cb_small"), span=True)

    build.plan.snapshot = snapshot(decision, app, policy=policy, evaluated_by=evaluated_by)
    return build.plan


SNAPSHOT_KEYS = (
    "fingerprint",
    "application_hash",
    "policy_hash",
    "prices_hash",
    "policy_id",
    "policy_version",
    "engine_version",
)


def snapshot(
    decision: Decision, app: Application, *, policy: PolicyStatus, evaluated_by: str
) -> list[tuple[str, CellValue]]:
    """What verify needs a year later: the hashes, and every input as it was approved."""
    audit = decision.audit
    rows: list[tuple[str, CellValue]] = [
        (f"audit.{key}", getattr(audit, key)) for key in SNAPSHOT_KEYS
    ]
    rows += [
        ("audit.evaluated_at", audit.evaluated_at.isoformat()),
        ("audit.evaluated_by", evaluated_by),
        ("audit.policy_official", policy.official),
        ("decision.decision", decision.decision.value),
        ("decision.tier", decision.tier),
        ("decision.score", decision.score),
        ("decision.structure", decision.structure.value),
        ("decision.approved_limit", float(decision.approved_limit)),
        ("decision.currency", decision.currency.value),
        ("decision.required_deposit", float(decision.required_deposit)),
        ("decision.unsecured_exposure", float(decision.exposure.unsecured_exposure)),
        ("decision.next_review_date", decision.next_review_date.isoformat()),
    ]
    rows += [
        (f"application.{path}", _plain(value))
        for path, value in flatten(app.model_dump(mode="json"))
    ]
    return rows


def _plain(value: object) -> CellValue:
    if value is None or isinstance(value, str | int | float | bool | date | datetime):
        return value
    return str(value)


def audit_row(decision: Decision, evaluated_by: str) -> tuple[CellValue, ...]:
    """One AuditLog row, in the order of layout.AUDIT_COLUMNS."""
    audit = decision.audit
    return (
        audit.evaluated_at.isoformat(),
        evaluated_by,
        audit.fingerprint,
        decision.customer_name,
        decision.decision.value,
        float(decision.approved_limit),
        decision.currency.value,
        f"{audit.policy_id} {audit.policy_version}",
        audit.policy_hash,
    )
