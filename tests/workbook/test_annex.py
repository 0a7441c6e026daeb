"""The contract annex's content for each bundled example: the clauses a customer signs, with the
real figures, in the language asked for, and nothing of the internal assessment."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from creditbook.core.assess import parse_and_validate
from creditbook.core.engine import evaluate
from creditbook.core.models import Application, Currency, Decision, Structure, Trigger
from creditbook.core.money import money, upper_amount
from creditbook.core.policy import Lender, Policy
from creditbook.core.records import Lang, text
from creditbook.data import default_policy, default_prices, example_applications
from creditbook.workbook.annex import (
    BLANK,
    PRINT_SCALE,
    Annex,
    Terms,
    annex_of,
    annex_plan,
    shown,
)

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
EXAMPLES = {name.removesuffix(".json"): raw for name, raw in example_applications()}
SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
INTERNAL = re.compile(r"\bT[1-9]\b|评分|评级|得分|\bscores?\b|\btiers?\b|/100", re.IGNORECASE)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CHINESE = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
HEX = re.compile(r"\b[0-9a-f]{12}\b")


def decided(stem: str, policy: Policy | None = None) -> tuple[Decision, Application, Policy]:
    policy = policy or default_policy()
    app, issues = parse_and_validate(EXAMPLES[stem], policy, default_prices())
    assert app is not None, issues
    return evaluate(app, policy, default_prices(), evaluated_at=AT), app, policy


def annex_for(stem: str) -> tuple[Annex, Decision]:
    decision, app, policy = decided(stem)
    return annex_of(decision, app, policy), decision


def sheet_text(annex: Annex, lang: Lang) -> str:
    """Every cell of the Annex sheet, as the sheet shows it."""
    plan = annex_plan(annex, lang)
    return "\n".join(
        cell.value for line in plan.lines for cell in line.cells if isinstance(cell.value, str)
    )


@pytest.mark.parametrize("stem", EXAMPLES)
def test_every_annex_states_the_terms_with_real_figures(stem: str) -> None:
    annex, decision = annex_for(stem)
    zh, en = sheet_text(annex, "zh"), sheet_text(annex, "en")
    cur = decision.currency
    titles = [clause.title.zh for clause in annex.clauses]
    assert titles[0] == "合同双方" and titles[-1] == "生效与有效期"
    assert "第一条 合同双方" in zh and "Article 1 Parties" in en
    assert decision.customer_name in zh and decision.customer_name in en
    assert "示例云智科技有限公司" in zh and "Example Cloud AI Technology Co., Ltd." in en
    for label in ("甲方（盖章）", "乙方（盖章）", "授权代表（签字）", "日期"):
        assert label in zh
    review = decision.next_review_date
    assert f"{review.year} 年 {review.month} 月 {review.day} 日前复核" in zh
    assert "有效期 12 个月" in zh and "holds for 12 months" in en
    if decision.structure is Structure.PREPAID:
        assert "无（预付）" in zh and "逾期 ≥" not in zh and "额度使用率 ≥" not in zh
        assert "日消耗 ≥ 7 日均值 × 2" in zh
        assert "转为预付" not in zh and "to prepaid" not in en  # it is prepaid already
        return
    limit = decision.approved_limit
    assert f"{money(limit, cur)}（{upper_amount(limit, cur)}）" in zh
    assert f"{cur.value} {limit:,.2f}" in en
    assert f"{decision.billing_cycle_days} 天" in zh
    terms = decision.payment_terms_days
    assert (f"账单日后 {terms} 天内" if terms else "账单日当日") in zh
    assert f"开通后第 {decision.exposure.first_invoice_due_day} 天" in zh
    for rule in decision.stop_loss:
        if rule.trigger is Trigger.OVER_LIMIT:
            used = money(rule.threshold * limit, cur)
            percent = f"{(rule.threshold * 100).normalize():f}%"
            assert f"额度使用率 ≥ {percent}（已用 {used}）" in zh
            assert f"Limit use ≥ {percent} ({used} used)" in en
        elif rule.trigger is Trigger.OVERDUE:
            assert f"逾期 ≥ {rule.threshold.normalize():f} 天" in zh
            assert f"Overdue ≥ {rule.threshold.normalize():f} days" in en
    for trigger in decision.downgrade_triggers:
        assert trigger.description.zh in zh and trigger.description.en in en
    for condition in decision.upgrade_conditions:
        assert condition.description.zh in zh and condition.description.en in en


@pytest.mark.parametrize("stem", EXAMPLES)
def test_an_annex_shows_nothing_of_the_internal_assessment(stem: str) -> None:
    annex, decision = annex_for(stem)
    for lang in ("zh", "en", "both"):
        shown_text = sheet_text(annex, lang)  # type: ignore[arg-type]
        assert not SNAKE_CASE.findall(shown_text), lang
        assert not INTERNAL.findall(shown_text), lang
        for reason in decision.reasons:
            assert reason.zh not in shown_text and reason.en not in shown_text


@pytest.mark.parametrize("stem", EXAMPLES)
def test_each_language_alone_is_that_language(stem: str) -> None:
    annex, decision = annex_for(stem)
    names = [
        decision.customer_name,
        decision.credit_code or decision.customer_name,
        "示例云智科技有限公司",
        "Example Cloud AI Technology Co., Ltd.",
    ]

    def without_names(value: str) -> str:
        for name in names:
            value = value.replace(name, "")
        return HEX.sub("", value)

    zh, en = without_names(sheet_text(annex, "zh")), without_names(sheet_text(annex, "en"))
    assert not LATIN_WORD.findall(zh), LATIN_WORD.findall(zh)
    assert not CHINESE.findall(en), CHINESE.findall(en)
    both = sheet_text(annex, "both")
    assert "第一条 合同双方　Article 1 Parties" in both


@pytest.mark.parametrize("stem", EXAMPLES)
def test_an_annex_prints_on_one_or_two_pages_a_paragraph_never_split(stem: str) -> None:
    annex, _ = annex_for(stem)
    for lang in ("zh", "en", "both"):
        plan = annex_plan(annex, lang)  # type: ignore[arg-type]
        assert len(plan.row_breaks) < 2, (lang, plan.row_breaks)
        assert plan.scale == PRINT_SCALE
        for row in plan.row_breaks:  # a page never ends on a clause title or a lead-in
            last = plan.lines[row - 1].cells[0]
            assert last.style != "cb_clause_title"
            assert not str(last.value).endswith(("：", ":"))
        term = [i for i, line in enumerate(plan.lines) if line.cells[0].style == "cb_clause_title"]
        signing = next(i for i, line in enumerate(plan.lines) if line.cells[0].style == "cb_sign")
        # the last clause prints on the page of the signature lines, which never split
        assert all(not (term[-1] < row <= signing + 3) for row in plan.row_breaks)


def test_both_languages_stand_side_by_side() -> None:
    annex, _ = annex_for("listed_company")
    plan = annex_plan(annex, "both")
    pairs = [
        line
        for line in plan.lines
        if [c.style for c in line.cells] == ["cb_clause", "cb_clause_en"]
    ]
    assert pairs and all(line.cells[0].value != line.cells[1].value for line in pairs)
    assert any(str(line.cells[0].value).startswith("（一）额度使用率") for line in pairs)
    terms = [str(line.cells[0].value) for line in plan.lines if line.cells[0].style == "cb_term"]
    assert "授信额度：¥800,000（人民币捌拾万元整）" in terms
    english = [str(line.cells[1].value) for line in plan.lines if line.cells[0].style == "cb_term"]
    assert "Credit limit: CNY 800,000.00" in english
    alone = annex_plan(annex, "zh")
    assert all(
        len(line.cells) == 1 or line.cells[0].style in ("cb_term", "cb_sign")
        for line in alone.lines
    )


def test_a_staged_ramp_a_deposit_and_a_guarantee_are_in_the_contract() -> None:
    ramp, _ = annex_for("state_owned_new")
    assert "额度分阶段开放：自开通之日起 ¥185,000；开通后第 60 天起 ¥200,000" in sheet_text(
        ramp, "zh"
    )
    deposit, _ = annex_for("overdue_history")
    zh = sheet_text(deposit, "zh")
    assert "¥350,000（人民币叁拾伍万元整）" in zh and "¥50,000 / ¥300,000" in zh
    assert "（一）开通前结清全部逾期款项；（二）甲方补缴保证金 ¥300,000" in zh
    assert "母公司担保 ¥500,000" in zh
    letter_of_credit, _ = annex_for("usd_customer")
    en = sheet_text(letter_of_credit, "en")
    assert "Letter of credit $40,000" in en and "the original letter of credit is on file" in en
    prepaid, _ = annex_for("startup_new")
    assert "预付余额低于 ¥18,300 时充值 ¥39,100" in sheet_text(prepaid, "zh")


def test_our_company_comes_from_the_policy_and_is_left_blank_without_one() -> None:
    lender = Lender(
        name=text("上海某某智能科技有限公司", "Shanghai Someone AI Co., Ltd."),
        credit_code="91310000MA1FL7JF8P",
        address=text("上海市浦东新区", "Pudong, Shanghai"),
        annex_validity_months=6,
    )
    named = default_policy().model_copy(update={"lender": lender})
    decision, app, policy = decided("listed_company", named)
    zh = sheet_text(annex_of(decision, app, policy), "zh")
    assert "上海某某智能科技有限公司" in zh and "91310000MA1FL7JF8P" in zh
    assert "上海市浦东新区" in zh and "有效期 6 个月" in zh
    unnamed = default_policy().model_copy(update={"lender": None})
    decision, app, policy = decided("listed_company", unnamed)
    parties = annex_of(decision, app, policy).clauses[0].blocks[0]
    assert isinstance(parties, Terms)
    assert [shown(value, "zh") for _, value in parties.rows][2:4] == [BLANK, BLANK]
    assert "有效期 12 个月" in sheet_text(annex_of(decision, app, policy), "zh")


def test_a_policy_without_a_lender_keeps_the_hash_it_had() -> None:
    policy = default_policy()
    assert policy.lender is not None
    without = policy.model_copy(update={"lender": None})
    assert without.content_hash() != policy.content_hash()
    data = without.model_dump(exclude={"lender"})
    assert Policy.model_validate(data).content_hash() == without.content_hash()


@pytest.mark.parametrize(
    ("amount", "upper"),
    [
        ("800000", "人民币捌拾万元整"),
        ("113200", "人民币壹拾壹万叁仟贰佰元整"),
        ("10005000", "人民币壹仟万零伍仟元整"),
        ("1000050", "人民币壹佰万零伍拾元整"),
        ("100000000", "人民币壹亿元整"),
        ("1234.56", "人民币壹仟贰佰叁拾肆元伍角陆分"),
        ("1000.05", "人民币壹仟元零伍分"),
        ("200000.10", "人民币贰拾万元壹角整"),
        ("0.5", "人民币伍角整"),
        ("0", "人民币零元整"),
    ],
)
def test_amounts_in_chinese_capital_numerals(amount: str, upper: str) -> None:
    assert upper_amount(Decimal(amount), Currency.CNY) == upper
