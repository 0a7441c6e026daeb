"""The Approval sheet as a plan of rows: what each cell says and which named format it wears.

Pure: the openpyxl writer (files, CLI) and the xlwings writer (Evaluate button) both apply the same
plan, so the approval reads the same whichever way it was produced. Page 1 is the summary a
committee signs from, the detail follows; the plan says where the printed pages break. It also
carries the audit snapshot (hidden columns) that `creditbook verify` checks later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from creditbook.core.labels import LABELS, country
from creditbook.core.models import Application, Decision
from creditbook.core.money import money, percent
from creditbook.core.playbook import threshold_text
from creditbook.core.records import Lang, Text, text
from creditbook.workbook.cells import CellValue
from creditbook.workbook.flatten import flatten
from creditbook.workbook.layout import column_letter
from creditbook.workbook.styles import BADGES, FORMATS

FIRST_COLUMN = 2  # column B
COLUMN_WIDTHS = (28.0, 20.0, 31.0, 19.0, 30.0)  # B..F
LAST_COLUMN = FIRST_COLUMN + len(COLUMN_WIDTHS) - 1  # column F
SNAPSHOT_COLUMN = 10  # J (path) and K (value), hidden in the template
# Width of a character at 10 pt, in column units: a CJK character two; a Latin one by its kind,
# running text being mostly narrow lower-case letters and spaces (the CJK fonts' Latin letters,
# and DejaVu Sans where LibreOffice stands in for them, measured on printed annexes with a little
# to spare).
CJK_PLACES = 2.0
NARROW, WIDE = frozenset(" .,;:'’()[]|!ilIjtf/-"), frozenset("MWmw%@")
NARROW_PLACES, WIDE_PLACES, LATIN_PLACES = 0.68, 1.4, 1.1
LINE_HEIGHT = 14.0
SPACER_HEIGHT = 8.0
SIGNATURE_HEIGHT = 40.0  # room to sign by hand
MAX_SPEND_ROWS = 20  # the largest consumption lines shown one by one; the rest in one row

# The printed page; the template's page setup reads these. A fixed scale rather than "fit to one
# page wide", which makes Excel ignore manual page breaks. Columns B..F are 690 to 720 points wide
# on screen (Excel, LibreOffice); at 72 % they fit A4 portrait between 0.4-inch side margins.
PRINT_SCALE = 72  # percent
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.4, "bottom": 0.6, "header": 0.2, "footer": 0.3}
A4_HEIGHT = 841.89  # points
# The row heights (sheet points) a printed page holds, less a little for the printing program's
# rounding.
PAGE_HEIGHT = 0.98 * (A4_HEIGHT - 72 * (MARGINS["top"] + MARGINS["bottom"])) * 100 / PRINT_SCALE
TITLE_ROWS = (1, 1)  # the document's title, printed again at the top of every later page


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
    scale: int = PRINT_SCALE  # the print scale (percent) the breaks are computed for

    @property
    def width(self) -> int:
        return len(COLUMN_WIDTHS)

    @property
    def print_area(self) -> str:
        """The lines' cells, B1 to F of the last line."""
        first, last = column_letter(FIRST_COLUMN), column_letter(LAST_COLUMN)
        return f"{first}1:{last}{len(self.lines)}"


def _places(text: str) -> float:
    """Width in column units at 10 pt: a CJK character two, a Latin one by its kind."""
    total = 0.0
    for char in text:
        if ord(char) > 0x2E7F:
            total += CJK_PLACES
        elif char in NARROW:
            total += NARROW_PLACES
        elif char in WIDE or char.isupper():
            total += WIDE_PLACES
        else:
            total += LATIN_PLACES
    return total


WRAP_TOKEN = re.compile(r"[\u2e80-\uffff]|[^\s\u2e80-\uffff]+|\s+")


def _lines(value: str, width: float, places: Callable[[str], float] = _places) -> int:
    """Wrapped lines of a text in a column `width` wide, wrapped as a spreadsheet does: between
    words, or after any CJK character; `places` measures a piece of text in column units."""
    total = 0
    for part in value.split("\n"):
        lines, used, space = 1, 0.0, 0.0
        for token in WRAP_TOKEN.findall(part):
            if token.isspace():
                space = places(token) if used else 0.0
                continue
            size = places(token)
            if used + space + size <= width:
                used += space + size
            elif size <= width:
                lines, used = lines + 1, size
            else:  # a word longer than the column breaks inside
                lines += math.ceil((used + space + size) / width) - 1
                used = (used + space + size) % width
            space = 0.0
        total += lines
    return total


def _fit(cells: Sequence[Cell], span: bool) -> float:
    """Row height that shows every cell's wrapped text in its font size (Excel does not autofit
    merged cells)."""
    height = LINE_HEIGHT
    for index, cell in enumerate(cells):
        last = span and index == len(cells) - 1
        width = sum(COLUMN_WIDTHS[index:]) if last else COLUMN_WIDTHS[index]
        scale = FORMATS[cell.style].size / 10
        lines = _lines(cell.value, width / scale) if isinstance(cell.value, str) else 1
        height = max(height, lines * LINE_HEIGHT * scale)
    return float(math.ceil(height + 4))  # whole points: fewer distinct heights to set


def _money_format(decision: Decision) -> str:
    symbol = "¥" if decision.currency.value == "CNY" else "$"
    return f'"{symbol}"#,##0.00'


# ------------------------------------------------------------------ blocks and pages


@dataclass
class Block:
    """Rows printed on one page together. A block longer than a page splits between rows; the
    next page then starts with `repeat` (its section and table headers, marked as continued).
    The first `head` rows after the spacer are those headers: a page never ends with them.
    `spacer` is a blank first row, left out at the top of a page."""

    lines: list[Line] = field(default_factory=list)
    repeat: list[Line] = field(default_factory=list)
    head: int = 0
    spacer: bool = False
    new_page: bool = False

    def body(self, *, at_top: bool) -> list[Line]:
        return self.lines[1:] if self.spacer and at_top else self.lines

    def height(self, *, at_top: bool) -> float:
        return sum(line.height for line in self.body(at_top=at_top))

    def opening(self) -> float:
        """The height of the spacer, the headers and the first row after them."""
        return sum(line.height for line in self.lines[: int(self.spacer) + self.head + 1])


def paginate(
    blocks: Sequence[Block], capacity: float, repeated: float
) -> tuple[list[Line], list[int]]:
    """The rows, and the rows the printed pages end at (manual page breaks). A block that fits
    on a page is never split; a longer one splits between rows, never right after its headers.
    `repeated` is the height of the title rows printed again at the top of every later page."""
    out: list[Line] = []
    breaks: list[int] = []
    room, at_top = capacity, True

    def new_page() -> None:
        nonlocal room, at_top
        breaks.append(len(out))
        room, at_top = capacity - repeated, True

    for block in blocks:
        if not at_top and (block.new_page or block.height(at_top=False) > room):
            fits_a_page = block.height(at_top=True) <= capacity - repeated
            if block.new_page or fits_a_page or block.opening() > room:
                new_page()
        for line in block.body(at_top=at_top):
            if line.height > room and not at_top:
                new_page()
                for repeat in block.repeat:
                    out.append(repeat)
                    room -= repeat.height
            out.append(line)
            room -= line.height
            at_top = False
    return out, breaks


# ------------------------------------------------------------------ the sheet


class _Builder:
    def __init__(self, decision: Decision, lang: Lang) -> None:
        self.decision = decision
        self.lang = lang
        self.blocks: list[Block] = [Block()]

    def word(self, zh: str, en: str) -> str:
        """A label in the document's language: 客户 · Customer · 客户 Customer."""
        if self.lang == "zh":
            return zh
        if self.lang == "en" or zh == en:
            return en
        return f"{zh} {en}"

    def say(self, value: Text) -> str:
        """A value or a sentence in the document's language (both: 中文 / English); English on
        its own starts with a capital, as a line of a document does."""
        shown = value.render(self.lang)
        return shown[:1].upper() + shown[1:] if self.lang == "en" else shown

    def listed(self, values: Iterable[Text]) -> str:
        """Values in a row: 通知、限流 · Notify, Rate limit."""
        return ("、" if self.lang == "zh" else ", ").join(self.say(v) for v in values) or "—"

    def label(self, zh: str, en: str) -> Cell:
        return Cell(self.word(zh, en), "cb_label")

    def money(self, amount: Decimal, style: str = "cb_output") -> Cell:
        return Cell(float(amount), style, _money_format(self.decision))

    def days(self, count: int) -> Cell:
        return Cell(self.say(text(f"{count} 天", f"{count} days")), "cb_output")

    def block(self, *, new_page: bool = False, spacer: bool = False) -> None:
        """A new block; after a little space (left out at the top of a page) with `spacer`."""
        self.blocks.append(Block(new_page=new_page))
        if spacer:
            self.blocks[-1].lines.append(Line((Cell(None, "cb_intro"),), False, SPACER_HEIGHT))
            self.blocks[-1].spacer = True

    def add(self, *cells: Cell, span: bool = False, height: float | None = None) -> None:
        fitted = max(height or 0, _fit(cells, span))
        self.blocks[-1].lines.append(Line(cells=cells, span=span, height=fitted))

    def section(self, zh: str, en: str, *, new_page: bool = False) -> None:
        """A new block under a section header, after a little space."""
        self.block(new_page=new_page, spacer=True)
        current = self.blocks[-1]
        self.add(Cell(self.word(zh, en), "cb_section"), span=True)
        continued = Cell(self.word(f"{zh}（续）", f"{en} (continued)"), "cb_section")
        current.repeat.append(Line((continued,), True, current.lines[-1].height))
        current.head = 1

    def header(self, *names: tuple[str, str], span: bool = False) -> None:
        """A table's header row, printed again when the table continues on the next page."""
        self.add(*(Cell(self.word(zh, en), "cb_header") for zh, en in names), span=span)
        current = self.blocks[-1]
        current.repeat.append(current.lines[-1])
        current.head += 1

    def pairs(self, *pairs: tuple[Cell, Cell]) -> None:
        """Up to two label/value pairs a row: B C | D E:F."""
        for index in range(0, len(pairs), 2):
            self.add(*(cell for pair in pairs[index : index + 2] for cell in pair), span=True)

    def items(self, values: Iterable[Text | str], style: str = "cb_text") -> None:
        """A numbered list, one item a row across the sheet."""
        for number, value in enumerate(values, start=1):
            shown = value if isinstance(value, str) else self.say(value)
            self.add(Cell(f"{number}. {shown}", style), span=True)

    def plan(self) -> Plan:
        first, last = TITLE_ROWS
        title = sum(line.height for line in self.blocks[0].lines[first - 1 : last])
        lines, breaks = paginate(self.blocks, PAGE_HEIGHT, title)
        return Plan(lines=lines, row_breaks=breaks, title_rows=TITLE_ROWS)


def approval_plan(
    decision: Decision,
    app: Application,
    *,
    policy: PolicyStatus,
    evaluated_by: str,
    lang: Lang = "both",
) -> Plan:
    """Page 1 is the summary a committee signs from; the detail follows on later pages."""
    build = _Builder(decision, lang)
    _summary(build, decision, app, policy)
    _sign_off(build, decision, app, evaluated_by)
    _detail(build, decision)
    _audit(build, decision, evaluated_by)
    plan = build.plan()
    plan.snapshot = snapshot(decision, app, policy=policy, evaluated_by=evaluated_by, lang=lang)
    return plan


def _summary(build: _Builder, d: Decision, app: Application, policy: PolicyStatus) -> None:
    profile, exposure, word, say = app.profile, d.exposure, build.word, build.say
    build.add(Cell(word("授信审批单", "Credit approval"), "cb_title"), span=True, height=28)
    build.add(build.label("客户", "Customer"), Cell(d.customer_name, "cb_output"), span=True)
    build.pairs(
        (
            build.label("申请日期", "Application date"),
            Cell(profile.application_date, "cb_output", "yyyy-mm-dd"),
        ),
        (build.label("统一社会信用代码", "Credit code"), Cell(d.credit_code or "—", "cb_output")),
        (build.label("币种", "Currency"), Cell(say(LABELS[d.currency]), "cb_output")),
        (build.label("国家/地区", "Country"), Cell(say(country(profile.country)), "cb_output")),
    )
    build.add(
        build.label("授信政策", "Credit policy"),
        Cell(policy.note.render(build.lang), "cb_output" if policy.official else "cb_alert"),
        span=True,
    )

    build.block(spacer=True)
    build.add(
        build.label("审批结论", "Decision"),
        Cell(say(LABELS[d.decision]), BADGES[d.decision]),
        span=True,
        height=30,
    )
    build.pairs(
        (build.label("批准额度", "Approved limit"), build.money(d.approved_limit, "cb_figure")),
        (build.label("申请额度", "Requested limit"), build.money(d.requested_limit)),
    )

    build.section("额度上限对比（取最小者）", "Limit caps side by side (the smallest binds)")
    build.header(("金额", "Amount"), ("约束", "Binding"), ("上限", "Cap"), span=True)
    for cap in d.limit_caps:
        build.add(
            build.money(cap.amount, "cb_alert" if cap.binding else "cb_output"),
            Cell("✓ " + word("约束额度", "binds") if cap.binding else None, "cb_alert"),
            Cell(say(cap.label), "cb_alert" if cap.binding else "cb_text"),
            span=True,
        )

    build.section("授信结构与敞口", "Structure and exposure")
    build.pairs(
        (build.label("授信结构", "Structure"), Cell(say(LABELS[d.structure]), "cb_output")),
        (
            build.label("评级", "Tier"),
            Cell(
                say(
                    text(
                        f"{d.tier} {d.tier_name.zh} · 评分 {d.score}/100",
                        f"{d.tier} {d.tier_name.en} · score {d.score}/100",
                    )
                ),
                "cb_output",
            ),
        ),
        (build.label("账单周期", "Billing cycle"), build.days(d.billing_cycle_days)),
        (build.label("账期", "Payment terms"), build.days(d.payment_terms_days)),
        (build.label("应收保证金", "Required deposit"), build.money(d.required_deposit)),
        (build.label("已收保证金 / 保函", "Security held"), build.money(exposure.security_held)),
        (
            build.label("保证金缺口", "Deposit shortfall"),
            build.money(d.deposit_shortfall, "cb_alert" if d.deposit_shortfall else "cb_output"),
        ),
        (build.label("无担保敞口", "Unsecured exposure"), build.money(exposure.unsecured_exposure)),
        (
            build.label("垫付上游成本", "Provider cost at risk"),
            build.money(exposure.provider_cost_at_risk),
        ),
        (
            build.label("下次复核日", "Next review"),
            Cell(_review(d, build.lang), "cb_output"),
        ),
    )
    build.add(
        build.label("敞口窗口", "Exposure window"),
        Cell(say(exposure.lasting()), "cb_output"),
        span=True,
    )

    if d.conditions:
        build.section("先决条件", "Conditions precedent")
        build.items(d.conditions)
    if d.alternatives:
        build.section("替代方案", "Alternatives")
        build.items(alternative.description for alternative in d.alternatives)


def _review(d: Decision, lang: Lang) -> str:
    """2027-02-18（每 90 天）: the date once, the interval in the document's language."""
    every = {"zh": f"每 {d.review_interval_days} 天", "en": f"every {d.review_interval_days} days"}
    if lang == "zh":
        return f"{d.next_review_date.isoformat()}（{every['zh']}）"
    if lang == "en":
        return f"{d.next_review_date.isoformat()} ({every['en']})"
    return f"{d.next_review_date.isoformat()}（{every['zh']} / {every['en']}）"


def _sign_off(build: _Builder, d: Decision, app: Application, evaluated_by: str) -> None:
    word, say = build.word, build.say
    build.section("审批签字", "Sign-off")
    build.pairs(
        (
            build.label("申请人", "Applicant"),
            Cell(app.profile.sales_owner or "—", "cb_output"),
        ),
        (
            build.label("评估人", "Evaluated by"),
            Cell(evaluated_by or word("未填写", "not given"), "cb_output"),
        ),
    )
    build.header(
        ("审批角色", "Approver"),
        ("姓名", "Name"),
        ("审批意见", "Opinion"),
        ("日期", "Date"),
        ("签字", "Signature"),
    )
    for approver in d.approvals_required:
        build.add(
            Cell(f"{say(LABELS[approver.role])}\n{say(approver.reason)}", "cb_signer"),
            Cell(None, "cb_input"),
            Cell(None, "cb_input"),
            Cell(None, "cb_input", "yyyy-mm-dd"),
            Cell(None, "cb_input"),
            height=SIGNATURE_HEIGHT,
        )


def _detail(build: _Builder, d: Decision) -> None:
    exposure, word, say = d.exposure, build.word, build.say
    cur = d.currency
    build.section("评分明细", "Score breakdown", new_page=True)
    build.header(
        ("评分项", "Factor"), ("取值", "Value"), ("得分", "Points"), ("说明", "Reason"), span=True
    )
    for line in d.score_breakdown:
        build.add(
            Cell(say(line.label), "cb_text"),
            Cell(say(line.value), "cb_text"),
            Cell(line.points, "cb_output"),
            Cell(say(line.reason), "cb_text"),
            span=True,
        )
    build.add(
        Cell(word("合计", "Total"), "cb_label_required"),
        Cell(None, "cb_text"),
        Cell(d.score, "cb_figure"),
        Cell(f"{d.tier} {say(d.tier_name)}", "cb_text"),
        span=True,
    )
    build.section("评级过程", "How the tier was set")
    build.items(d.tier_trace)

    build.section("消耗测算（按服务商和模型）", "Spend by provider and model")
    build.header(
        ("模型", "Model"),
        ("服务商", "Provider"),
        ("成本类别", "Cost class"),
        ("预计月消耗", "Expected monthly spend"),
        ("峰值月消耗", "Peak monthly spend"),
    )
    shown = sorted(exposure.lines, key=lambda spend: spend.monthly_spend, reverse=True)
    for spend in shown[:MAX_SPEND_ROWS]:
        build.add(
            Cell(spend.model, "cb_text"),
            Cell(say(LABELS[spend.provider]), "cb_text"),
            Cell(say(LABELS[spend.cost_class]), "cb_text"),
            build.money(spend.monthly_spend),
            build.money(spend.peak_monthly_spend),
        )
    rest = shown[MAX_SPEND_ROWS:]
    if rest:
        build.add(
            Cell(say(text(f"其余 {len(rest)} 行", f"{len(rest)} more lines")), "cb_text"),
            Cell(None, "cb_text"),
            Cell(None, "cb_text"),
            build.money(sum((spend.monthly_spend for spend in rest), Decimal(0))),
            build.money(sum((spend.peak_monthly_spend for spend in rest), Decimal(0))),
        )
    build.add(
        Cell(word("合计", "Total"), "cb_label_required"),
        Cell(None, "cb_text"),
        Cell(
            say(
                text(
                    f"高成本模型占比 {percent(exposure.high_cost_share)}",
                    f"high-cost share {percent(exposure.high_cost_share)}",
                )
            ),
            "cb_text",
        ),
        build.money(exposure.expected_monthly_spend, "cb_figure"),
        build.money(exposure.peak_monthly_spend, "cb_figure"),
    )

    build.section("敞口测算", "Exposure")
    build.pairs(
        (build.label("需求测算额度", "Need-based limit"), build.money(exposure.need_based_limit)),
        (build.label("敞口窗口", "Exposure window"), build.days(exposure.window_days)),
        (build.label("窗口期消耗", "Spend over the window"), build.money(exposure.window_spend)),
        (
            build.label("窗口期峰值消耗", "Peak spend over the window"),
            build.money(exposure.window_spend_peak),
        ),
        (
            build.label("停服前可用额度", "Drawable before the hard stop"),
            build.money(exposure.hard_stop_draw),
        ),
        (
            build.label("上游成本率", "Upstream cost ratio"),
            Cell(percent(exposure.upstream_cost_ratio), "cb_output"),
        ),
    )
    build.items([exposure.provider_cost_basis])

    build.section("止损方案", "Stop-loss matrix")
    build.header(
        ("触发情形", "Trigger"),
        ("阈值", "Threshold"),
        ("处置措施", "Actions"),
        ("升级措施", "Escalation"),
        ("恢复条件", "Recovery"),
    )
    for rule in d.stop_loss:
        build.add(
            Cell(say(LABELS[rule.trigger]), "cb_text"),
            Cell(say(threshold_text(rule.trigger, rule.threshold)), "cb_output"),
            *(
                Cell(build.listed(LABELS[value] for value in values), "cb_text")
                for values in (rule.actions, rule.escalation, rule.recovery)
            ),
        )

    if d.ramp:
        build.section("分阶段额度", "Staged ramp-up")
        build.items(
            text(
                f"第 {step.from_day} 天起 {money(step.limit, cur)}",
                f"{money(step.limit, cur)} from day {step.from_day}",
            )
            for step in d.ramp
        )
    build.section("降级触发", "Downgrade triggers")
    build.items(trigger.description for trigger in d.downgrade_triggers)
    build.section("提额条件", "Conditions for an increase")
    build.items(condition.description for condition in d.upgrade_conditions)

    build.section("审批理由", "Reasons")
    build.items(d.reasons)
    if d.issues:
        build.section("输入提示", "Input warnings")
        build.items((issue.render(build.lang) for issue in d.issues), style="cb_alert")


def _audit(build: _Builder, d: Decision, evaluated_by: str) -> None:
    audit = d.audit
    at = audit.evaluated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    who = evaluated_by or build.word("未填写", "not given")
    record = text(
        f"审计指纹 {audit.fingerprint} · 政策 {audit.policy_id} {audit.policy_version}"
        f"（sha256 {audit.policy_hash}）· 系统版本 {audit.engine_version} · 评估时间 {at}"
        f" · 评估人 {who}",
        f"audit fingerprint {audit.fingerprint} · policy {audit.policy_id} "
        f"{audit.policy_version} (sha256 {audit.policy_hash}) · system version "
        f"{audit.engine_version} · evaluated {at} by {who}",
    )
    build.section("审计", "Audit")
    shown = [record.zh, record.en] if build.lang == "both" else [build.say(record)]
    for line in shown:
        build.add(Cell(line, "cb_small"), span=True)


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
    decision: Decision,
    app: Application,
    *,
    policy: PolicyStatus,
    evaluated_by: str,
    lang: Lang = "both",
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
        ("document.language", lang),
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
