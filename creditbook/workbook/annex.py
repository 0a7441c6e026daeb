"""The contract annex (合同附表 · 授信条款) the customer signs: numbered clauses from the Decision.

Pure. `annex_of` states the terms once, as clauses of bilingual text; `annex_plan` lays them out
as rows for the Annex sheet (the same `Plan` the Approval sheet uses, with page breaks that keep
each clause on one page) and `creditbook.workbook.annex_docx` writes them as a Word document.
甲方 (Party A) is the customer, 乙方 (Party B) our company, the provider of the service. The annex
states terms only: no score, tier or rule of the policy appears in it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from creditbook.core.labels import LABELS
from creditbook.core.models import (
    Action,
    Application,
    Currency,
    Decision,
    GuaranteeType,
    RampStep,
    Recovery,
    StopLossRule,
    Structure,
    Trigger,
)
from creditbook.core.money import money, upper_amount
from creditbook.core.playbook import HARD_STOP, INFORM_ONLY, threshold_text
from creditbook.core.policy import DEFAULT_ANNEX_VALIDITY_MONTHS, Policy
from creditbook.core.records import Lang, Text, text
from creditbook.workbook.approval import Cell, Line, Plan, _lines
from creditbook.workbook.styles import FORMATS

# The Annex sheet's columns: B holds a clause's Chinese and C:F its English side by side (both
# languages), or the clause runs across B:F (one language); terms go two a row, B and C:F.
COLUMN_WIDTHS = (44.0, 15.0, 14.0, 14.0, 14.0)
# A4 portrait at a fixed scale (Excel ignores manual page breaks on a sheet fitted to the page
# width), margins in inches. LibreOffice prints a column width unit as 5.56 points (Excel as about
# 5.45, its cell padding included): at 95 % the 101 units take 534 of the 538 points between the
# side margins.
PRINT_SCALE = 95  # percent: the clauses print at 9.5 pt, their English beside them at 9 pt
PAGE_WIDTH, PAGE_HEIGHT = 595.3, 841.9  # points
POINTS_PER_WIDTH_UNIT = 5.56
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.35, "bottom": 0.5, "header": 0.15, "footer": 0.25}
# A wrapped line of 10 pt text: Microsoft YaHei, the font the annex names, sets lines 13.2 points
# apart in Excel (LibreOffice's stand-ins 11.7 to 12.7).
LINE_HEIGHT = 13.5
SIGN_HEIGHT = 36.0  # room for a seal and a signature
BLANK = "__________"

ACTIONS: dict[Action, Text] = {
    Action.NOTIFY: text("书面通知甲方", "Party A is told in writing"),
    Action.PAUSE_NEW_QUOTA: text("暂停新增调用额度", "new quota is paused"),
    Action.DISABLE_HIGH_COST_MODELS: text("暂停高成本模型", "high-cost models are switched off"),
    Action.RATE_LIMIT: text("对调用限速", "calls are rate-limited"),
    Action.REQUIRE_TOPUP: text(
        "甲方应补充预付款或保证金", "Party A tops up its prepayment or deposit"
    ),
    Action.REQUEST_EMERGENCY_APPROVAL: text(
        "乙方紧急复核是否继续服务", "Party B decides at once whether service continues"
    ),
    Action.SWITCH_TO_PREPAID: text("服务转为预付", "service moves to prepaid"),
    Action.SUSPEND_SERVICE: text("暂停全部服务", "all service is suspended"),
}
RECOVERIES: dict[Recovery, Text] = {
    Recovery.PAYMENT_RECEIVED: text("付清到期款项", "payment of what is due"),
    Recovery.DEPOSIT_TOPPED_UP: text("补足保证金", "a deposit top-up"),
    Recovery.REVIEW_APPROVED: text("乙方复核同意", "Party B's approval on review"),
    Recovery.USAGE_NORMALIZED: text("消耗恢复正常", "usage back to normal"),
}
MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
CHINESE_NUMBERS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Terms:
    """Label and value rows; the sheet shows each as 授信额度：¥800,000, two a row (one language)
    or one a row with its English beside it."""

    rows: tuple[tuple[Text, Text], ...]


@dataclass(frozen=True)
class Items:
    """A numbered list, one item a row: （一）…, (1) …."""

    items: tuple[Text, ...]


Block = Text | Terms | Items  # a paragraph, a table of terms, or a list


@dataclass(frozen=True)
class Clause:
    title: Text
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Annex:
    title: Text
    preamble: Text
    clauses: tuple[Clause, ...]
    signatures: tuple[tuple[Text, Text], ...]  # rows of the signature block: Party A | Party B
    reference: Text


def same(value: str) -> Text:
    """A name or figure that reads the same in both languages."""
    return text(value, value)


def chinese_number(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (clause numbers)."""
    tens, ones = divmod(number, 10)
    if not tens:
        return CHINESE_NUMBERS[ones]
    head = "" if tens == 1 else CHINESE_NUMBERS[tens]
    return f"{head}十{CHINESE_NUMBERS[ones] if ones else ''}"


def numbered_title(number: int, title: Text) -> Text:
    return text(f"第{chinese_number(number)}条 {title.zh}", f"Article {number} {title.en}")


def date_text(day: date) -> Text:
    return text(
        f"{day.year} 年 {day.month} 月 {day.day} 日",
        f"{day.day} {MONTHS[day.month - 1]} {day.year}",
    )


def amount_text(amount: Decimal, currency: Currency) -> Text:
    """¥800,000（人民币捌拾万元整） / CNY 800,000.00."""
    return text(
        f"{money(amount, currency)}（{upper_amount(amount, currency)}）",
        f"{currency.value} {amount:,.2f}",
    )


def _joined(items: Sequence[Text], last_zh: str = "或", last_en: str = "or") -> Text:
    """A、B 或 C / A, B or C."""
    if len(items) == 1:
        return items[0]
    return text(
        f"{'、'.join(i.zh for i in items[:-1])}{last_zh}{items[-1].zh}",
        f"{', '.join(i.en for i in items[:-1])} {last_en} {items[-1].en}",
    )


def _enumerated(lead: Text, items: Sequence[Text]) -> Text:
    """One paragraph: the lead, then （一）…；（二）… / (1) …; (2) …."""
    zh = "；".join(f"（{chinese_number(n)}）{item.zh}" for n, item in enumerate(items, start=1))
    en = "; ".join(f"({n}) {item.en}" for n, item in enumerate(items, start=1))
    return text(f"{lead.zh}{zh}。", f"{lead.en} {en}.")


def _capitalised(value: str) -> str:
    return value[:1].upper() + value[1:]


def _parties(decision: Decision, policy: Policy) -> Clause:
    lender = policy.lender
    rows = [
        (text("甲方（客户）", "Party A (customer)"), same(decision.customer_name)),
        (text("统一社会信用代码", "Credit code"), same(decision.credit_code or BLANK)),
        (
            text("乙方（服务提供方）", "Party B (provider)"),
            lender.name if lender else same(BLANK),
        ),
        (
            text("统一社会信用代码", "Credit code"),
            same((lender and lender.credit_code) or BLANK),
        ),
    ]
    if lender and lender.address:
        rows.append((text("乙方地址", "Party B's address"), lender.address))
    rows.append((text("主合同编号", "Contract no."), same(BLANK)))
    return Clause(text("合同双方", "Parties"), (Terms(tuple(rows)),))


def _ramp(steps: Sequence[RampStep], currency: Currency) -> Text:
    def zh(step: RampStep) -> str:
        when = "自开通之日起" if step.from_day == 0 else f"开通后第 {step.from_day} 天起"
        return f"{when} {money(step.limit, currency)}"

    def en(step: RampStep) -> str:
        when = "from the opening day" if step.from_day == 0 else f"from day {step.from_day}"
        return f"{money(step.limit, currency)} {when}"

    return text(
        f"额度分阶段开放：{'；'.join(zh(s) for s in steps)}；每一阶段以甲方此前各期账单均已按时足额支付为前提。",
        f"The limit opens in stages: {'; '.join(en(s) for s in steps)}; each stage opens only if "
        "every earlier invoice was paid on time and in full.",
    )


def _security_rows(decision: Decision, app: Application) -> list[tuple[Text, Text]]:
    cur, profile, buffers = decision.currency, app.profile, app.buffers
    rows: list[tuple[Text, Text]] = []
    if decision.required_deposit:
        rows.append((text("保证金", "Deposit"), amount_text(decision.required_deposit, cur)))
        held = money(buffers.deposit, cur)
        if decision.deposit_shortfall:
            due = money(decision.deposit_shortfall, cur)
            rows.append(
                (
                    text("已收 / 开通前补缴", "Held / due before opening"),
                    text(f"{held} / {due}", f"{held} / {due}"),
                )
            )
        else:
            rows.append((text("已收保证金", "Deposit held"), same(held)))
    if profile.guarantee_type is not GuaranteeType.NONE and profile.guarantee_amount:
        kind, amount = LABELS[profile.guarantee_type], money(profile.guarantee_amount, cur)
        rows.append((text("担保", "Guarantee"), text(f"{kind.zh} {amount}", f"{kind.en} {amount}")))
    if buffers.prepaid_balance:
        rows.append(
            (text("预付余额", "Prepaid balance"), same(money(buffers.prepaid_balance, cur)))
        )
    return rows or [(text("保证金与担保", "Deposit, guarantee"), text("无需", "none needed"))]


def _security_terms(decision: Decision, app: Application) -> list[Text]:
    paragraphs = []
    if decision.required_deposit:
        paragraphs.append(
            text(
                "保证金不计利息；甲方未按期付款的，乙方可以保证金抵扣到期款项，甲方应随即补足；"
                "授信终止且甲方付清全部款项后，乙方无息退还保证金。",
                "The deposit bears no interest; if Party A pays late, Party B may set it off "
                "against what is due and Party A restores it at once; when the line ends and all "
                "is paid, Party B returns it without interest.",
            )
        )
    if app.profile.guarantee_type is not GuaranteeType.NONE:
        paragraphs.append(
            text(
                "担保在本附表有效期内应持续有效；担保到期或失效前，甲方应提供同等金额的替代担保。",
                "The guarantee stays in force while this annex holds; before it expires Party A "
                "provides a replacement of the same amount.",
            )
        )
    return paragraphs


def _line(decision: Decision, app: Application) -> Clause:
    cur = decision.currency
    cycle, terms = decision.billing_cycle_days, decision.payment_terms_days
    security = _security_rows(decision, app)
    if decision.structure is Structure.PREPAID:
        rows = [
            (text("授信额度", "Credit limit"), text("无（预付）", "none (prepaid)")),
            (text("对账周期", "Statements"), text(f"每 {cycle} 天", f"every {cycle} days")),
            *security,
        ]
        return Clause(
            text("服务方式与保证金", "Service basis and deposit"),
            (
                Terms(tuple(rows)),
                text(
                    "乙方不向甲方提供信用额度：甲方预先充值，乙方按实际消耗从预付余额中扣减，"
                    f"每 {cycle} 天提供一次对账单；预付余额用尽时服务暂停，充值到账后恢复。",
                    "Party B extends no credit: Party A tops up in advance, usage is deducted from "
                    f"the prepaid balance and a statement is sent every {cycle} days; when the "
                    "balance runs out, service pauses until a top-up arrives.",
                ),
                *_security_terms(decision, app),
            ),
        )
    payment = (
        text(f"账单日后 {terms} 天内", f"{terms} days after the invoice")
        if terms
        else text("账单日当日", "on the invoice date")
    )
    due = decision.exposure.first_invoice_due_day
    rows = [
        (text("授信额度", "Credit limit"), amount_text(decision.approved_limit, cur)),
        (text("授信方式", "Structure"), LABELS[decision.structure]),
        (text("账单周期", "Billing cycle"), text(f"{cycle} 天", f"{cycle} days")),
        (text("付款期限", "Payment terms"), payment),
        (
            text("首期账单到期", "First invoice due"),
            text(f"开通后第 {due} 天", f"day {due} after opening"),
        ),
        *security,
    ]
    blocks: list[Block] = [
        Terms(tuple(rows)),
        text(
            "授信额度是甲方在任一时点已使用而未付清的服务费上限，含已出账未付款项与未出账消耗。"
            f"乙方每 {cycle} 天按实际消耗出具账单，甲方应在付款期限内足额支付。",
            "The credit limit caps what Party A may owe at any time, invoiced or not yet "
            f"invoiced. Party B invoices actual usage every {cycle} days; Party A pays each "
            "invoice in full within the payment terms.",
        ),
    ]
    if len(decision.ramp) > 1:
        blocks.append(_ramp(decision.ramp, cur))
    blocks += _security_terms(decision, app)
    return Clause(text("授信额度与结算", "Credit limit and settlement"), tuple(blocks))


def _recharge(decision: Decision) -> Text | None:
    for alternative in decision.alternatives:
        if alternative.auto_recharge_threshold and alternative.auto_recharge_amount:
            below = money(alternative.auto_recharge_threshold, decision.currency)
            top_up = money(alternative.auto_recharge_amount, decision.currency)
            return text(
                f"甲方开通自动充值：预付余额低于 {below} 时充值 {top_up}",
                f"Party A sets up auto-recharge of {top_up} whenever the balance falls below {below}",
            )
    return None


def _opening(decision: Decision, app: Application, policy: Policy) -> Clause | None:
    cur, profile = decision.currency, app.profile
    prepaid = decision.structure is Structure.PREPAID
    items = [
        rule.condition
        for rule in policy.hard_rules
        if rule.condition is not None and rule.condition in decision.conditions
    ]
    if decision.deposit_shortfall:
        shortfall = money(decision.deposit_shortfall, cur)
        items.append(
            text(f"甲方补缴保证金 {shortfall}", f"Party A pays the further deposit of {shortfall}")
        )
    if profile.guarantee_type is not GuaranteeType.NONE and not prepaid:
        kind = LABELS[profile.guarantee_type]
        items.append(
            text(
                f"{kind.zh}原件已交乙方存档",
                f"the original {kind.en.lower()} is on file with Party B",
            )
        )
    recharge = _recharge(decision) if prepaid else None
    if recharge is not None:
        items.append(recharge)
    if not items:
        return None
    lead = (
        text("乙方在下列条件满足后开通服务：", "Party B opens the service once:")
        if prepaid
        else text(
            "乙方在下列条件全部满足后开通额度：",
            "Party B opens the line once all of these are met:",
        )
    )
    return Clause(text("开通条件", "Conditions before opening"), (_enumerated(lead, items),))


def _measures(rule: StopLossRule, last: bool, prepaid: bool) -> Text:
    """What a step does and what restores service; the escalation after a trigger's last step
    unless that is a hard stop. A prepaid customer cannot be moved to prepaid."""

    def meant(values: Sequence[Action]) -> list[Action]:
        return [a for a in values if not (prepaid and a is Action.SWITCH_TO_PREPAID)]

    actions = [ACTIONS[action] for action in meant(rule.actions) or rule.actions]
    zh = "，".join(a.zh for a in actions) + "。"
    en = _capitalised("; ".join(a.en for a in actions)) + "."
    if not set(rule.actions) <= INFORM_ONLY:
        restored = _joined([RECOVERIES[value] for value in rule.recovery])
        zh, en = f"{zh}{restored.zh}后恢复。", f"{en} Restored on {restored.en}."
    escalation = meant(rule.escalation)
    if last and escalation and HARD_STOP.isdisjoint(rule.actions):
        then = _joined([ACTIONS[action] for action in escalation], "并", "and")
        zh, en = f"{zh}持续未改善的，{then.zh}。", f"{en} If it persists, {then.en}."
    return text(zh, en)


def _threshold(rule: StopLossRule, decision: Decision) -> Text:
    shown = threshold_text(rule.trigger, rule.threshold)
    if rule.trigger is Trigger.OVER_LIMIT and decision.approved_limit:
        used = money(rule.threshold * decision.approved_limit, decision.currency)
        return text(f"{shown.zh}（已用 {used}）", f"{shown.en} ({used} used)")
    return shown


def _service_measures(decision: Decision) -> Clause:
    prepaid = decision.structure is Structure.PREPAID
    shown = [
        rule for rule in decision.stop_loss if not prepaid or rule.trigger is Trigger.ABNORMAL_USAGE
    ]
    last = {rule.trigger: rule for rule in shown}
    lead = (
        text(
            "单日消耗与此前 7 日的日均消耗相比。达到下列情形时，乙方采取相应措施并通知甲方，措施不免除甲方的付款义务：",
            "Daily spend is compared with the average of the 7 days before. At these points "
            "Party B acts as follows and tells Party A; no measure releases Party A from paying:",
        )
        if prepaid
        else text(
            "额度使用率为已用额度（含未出账消耗）除以授信额度；单日消耗与此前 7 日的日均消耗相比；"
            "逾期天数自付款期限届满次日起算。达到下列情形时，乙方采取相应措施并通知甲方，"
            "措施不免除甲方的付款义务：",
            "Limit use is the credit used (unbilled usage included) divided by the credit limit; "
            "daily spend is compared with the average of the 7 days before; days overdue count "
            "from the day after the due date. At these points Party B acts as follows and tells "
            "Party A; no measure releases Party A from paying:",
        )
    )
    steps = Items(
        tuple(
            _step(_threshold(rule, decision), _measures(rule, last[rule.trigger] is rule, prepaid))
            for rule in shown
        )
    )
    return Clause(text("服务限制与恢复", "Service measures and restoring service"), (lead, steps))


def _step(threshold: Text, measures: Text) -> Text:
    """额度使用率 ≥ 80%（已用 ¥240,000）：书面通知甲方。 / Limit use ≥ 80% (…): Party A is …"""
    return text(f"{threshold.zh}：{measures.zh}", f"{_capitalised(threshold.en)}: {measures.en}")


def _review(decision: Decision) -> Clause:
    when = date_text(decision.next_review_date)
    blocks: list[Block] = [
        text(
            f"乙方将于 {when.zh}前复核本授信并书面通知甲方结果，甲方应提供复核所需的付款记录和财务资料；"
            "复核调整授信条款的，双方签署新的附表。",
            f"Party B reviews this line by {when.en} and tells Party A the result in writing; "
            "Party A provides the payment records and financial documents it needs. A review "
            "that changes the terms is recorded in a new annex.",
        ),
    ]
    if decision.downgrade_triggers:
        blocks.append(
            _enumerated(
                text(
                    "出现下列任一情形时，乙方可提前复核，并可调减额度、缩短账单周期或付款期限、要求增加保证金或改为预付：",
                    "Party B may review earlier, and lower the limit, shorten the billing cycle or "
                    "terms, ask for more deposit or move to prepaid, on any of these:",
                ),
                [trigger.description for trigger in decision.downgrade_triggers],
            )
        )
    return Clause(text("复核与调整", "Review"), tuple(blocks))


def _increase(decision: Decision) -> Clause:
    lead = (
        text(
            "甲方可申请开通信用额度，乙方依据下列条件复核，复核同意的，双方签署新的附表：",
            "Party A may apply for a credit line; Party B reviews it against these conditions, "
            "and a line it approves is recorded in a new annex:",
        )
        if decision.structure is Structure.PREPAID
        else text(
            "甲方可申请提高授信额度，乙方依据下列条件复核，复核同意的，双方签署新的附表：",
            "Party A may apply for a higher limit; Party B reviews it against these conditions, "
            "and an increase it approves is recorded in a new annex:",
        )
    )
    conditions = [condition.description for condition in decision.upgrade_conditions]
    return Clause(text("提高额度", "Increases"), (_enumerated(lead, conditions),))


def _validity(policy: Policy) -> Clause:
    months = policy.lender.annex_validity_months if policy.lender else DEFAULT_ANNEX_VALIDITY_MONTHS
    return Clause(
        text("生效与有效期", "Term"),
        (
            text(
                f"本附表自双方签字盖章之日起生效，有效期 {months} 个月；"
                "期满前签署新附表的，本附表自新附表生效之日起失效。"
                "本附表一式两份，双方各执一份，具有同等效力。",
                f"This annex takes effect when both parties have signed and sealed it and holds "
                f"for {months} months; a new annex signed before then replaces it from the day it "
                "takes effect. It is made in two counterparts of equal effect, one for each party.",
            ),
        ),
    )


def annex_of(decision: Decision, app: Application, policy: Policy) -> Annex:
    """The annex's clauses for one decision; `policy` names our company and the annex's term."""
    clauses = [
        _parties(decision, policy),
        _line(decision, app),
        _opening(decision, app, policy),
        _service_measures(decision),
        _review(decision),
        _increase(decision),
        _validity(policy),
    ]
    audit = decision.audit
    issued = date_text(audit.evaluated_at.date())
    return Annex(
        title=text("合同附表 · 授信条款", "Contract annex · Credit terms"),
        preamble=text(
            "本附表是甲、乙双方所签服务合同（下称“主合同”）的组成部分，约定乙方向甲方提供模型接口服务的授信条款；"
            "与主合同不一致的，以本附表为准。",
            "This annex forms part of the service contract between Party A and Party B (the "
            "“Contract”) and sets the credit terms on which Party B provides model API services "
            "to Party A; where it differs from the Contract, this annex prevails.",
        ),
        clauses=tuple(clause for clause in clauses if clause is not None),
        signatures=(
            (text("甲方（盖章）", "Party A (seal)"), text("乙方（盖章）", "Party B (seal)")),
            (
                text("授权代表（签字）", "Authorised signatory"),
                text("授权代表（签字）", "Authorised signatory"),
            ),
            (text("日期", "Date"), text("日期", "Date")),
        ),
        reference=text(
            f"依据 {issued.zh}授信审批出具 · 审批指纹 {audit.fingerprint[:12]}",
            f"Issued from the credit approval of {issued.en} · fingerprint {audit.fingerprint[:12]}",
        ),
    )


# ------------------------------------------------------------------ the Annex sheet


def shown(value: Text, lang: Lang, joint: str = "\n") -> str:
    """One language, or Chinese and the English after it (below it, or after `joint`)."""
    if lang == "both" and value.zh != value.en:
        return f"{value.zh}{joint}{value.en}"
    return value.render(lang)


def heading(number: int, title: Text, lang: Lang) -> str:
    """第一条 合同双方 · Article 1 Parties, on one line."""
    return shown(numbered_title(number, title), lang, "　")


def term(label: Text, value: Text) -> Text:
    """授信额度：¥800,000 / Credit limit: CNY 800,000.00."""
    return text(f"{label.zh}：{value.zh}", f"{label.en}: {value.en}")


def _height(cells: Sequence[Cell]) -> float:
    """Row height that shows every cell's wrapped text in its font size, the last cell merged
    across to column F (whole points)."""
    height = LINE_HEIGHT
    for index, cell in enumerate(cells):
        scale = FORMATS[cell.style].size / 10
        last = index == len(cells) - 1
        width = (sum(COLUMN_WIDTHS[index:]) if last else COLUMN_WIDTHS[index]) / scale
        lines = _lines(cell.value, width) if isinstance(cell.value, str) else 1
        height = max(height, lines * LINE_HEIGHT * scale)
    return float(math.ceil(height + 2))


def page_capacity() -> float:
    """Points of row height one printed page holds at the print scale, less a little for the
    printing program's rounding."""
    printable = PAGE_HEIGHT - 72 * (MARGINS["top"] + MARGINS["bottom"])
    return 0.98 * printable * 100 / PRINT_SCALE


def printed_width() -> float:
    """Points columns B..F take on the printed page."""
    return sum(COLUMN_WIDTHS) * POINTS_PER_WIDTH_UNIT * PRINT_SCALE / 100


Row = tuple[Line, bool]  # a line, and whether it must print on the same page as the next


def _rows(annex: Annex, lang: Lang) -> list[Row]:
    """The rows, each marked when it must print on the same page as the next: the title rows, a
    clause heading, a lead-in, and the last clause's rows and the signature lines."""
    rows: list[Row] = []
    both = lang == "both"

    def add(*cells: Cell, height: float = 0, keep: bool = False) -> None:
        line = Line(cells=cells, span=True, height=max(height, _height(cells)))
        rows.append((line, keep))

    def say(value: Text, style: str = "cb_clause", keep: bool = False) -> None:
        """A paragraph: across the sheet, or its Chinese in B and its English beside it."""
        if both and value.zh != value.en:
            add(Cell(value.zh, style), Cell(value.en, f"{style}_en"), keep=keep)
        else:
            add(Cell(value.render(lang), style), keep=keep)

    add(Cell(annex.title.zh if both else annex.title.render(lang), "cb_annex_title"), keep=True)
    if both:
        add(Cell(annex.title.en, "cb_annex_subtitle"), keep=True)
    say(annex.preamble)
    for number, clause in enumerate(annex.clauses, start=1):
        last = number == len(annex.clauses)
        add(Cell(heading(number, clause.title, lang), "cb_clause_title"), height=22, keep=True)
        for block in clause.blocks:
            if isinstance(block, Text):
                say(block, keep=last or block.zh.endswith("："))
            elif isinstance(block, Items):
                for index, item in enumerate(block.items, start=1):
                    say(text(f"（{chinese_number(index)}）{item.zh}", f"({index}) {item.en}"))
            elif both:  # each term on a row, its English beside it
                for label, value in block.rows:
                    say(term(label, value), "cb_term")
            else:  # two terms a row
                terms = [term(label, value).render(lang) for label, value in block.rows]
                for index in range(0, len(terms), 2):
                    pair = terms[index : index + 2]
                    add(*(Cell(value, "cb_term") for value in pair + [None] * (2 - len(pair))))
    signatures = len(annex.signatures)
    rows.append((Line((Cell(None, "cb_clause"),), True, 8.0), True))
    for index, (party_a, party_b) in enumerate(annex.signatures):
        add(
            Cell(shown(party_a, lang, " "), "cb_sign"),
            Cell(shown(party_b, lang, " "), "cb_sign"),
            height=SIGN_HEIGHT if index < signatures - 1 else 0,
            keep=True,
        )
    say(annex.reference, "cb_reference")
    return rows


def annex_plan(annex: Annex, lang: Lang = "both") -> Plan:
    """The annex as Annex sheet rows. A page breaks between paragraphs, never inside one, nor
    after a clause heading or a lead-in; the last clause prints with the signature lines."""
    plan = Plan(column_widths=COLUMN_WIDTHS, scale=PRINT_SCALE)
    capacity, used = page_capacity(), 0.0
    rows = _rows(annex, lang)
    start = 0
    while start < len(rows):
        end = start
        while rows[end][1] and end + 1 < len(rows):
            end += 1
        run = [line for line, _ in rows[start : end + 1]]
        height = sum(line.height for line in run)
        if used and used + height > capacity:
            plan.row_breaks.append(len(plan.lines))
            used = 0.0
        plan.lines.extend(run)
        used += height
        start = end + 1
    return plan
