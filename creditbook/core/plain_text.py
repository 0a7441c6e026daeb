"""Plain-text rendering of a decision and of issues, shared by the CLI commands."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from creditbook.core.labels import LABELS
from creditbook.core.models import Decision
from creditbook.core.money import money, percent
from creditbook.core.playbook import threshold_text
from creditbook.core.records import Issue, Lang, Text, text


def width(value: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in value)


def columns(rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """Rows of cells as aligned text columns."""
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        indent
        + "  ".join(
            cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


def label(zh: str, en: str, lang: Lang) -> str:
    return text(zh, en).render(lang)


def render_issues(issues: Iterable[Issue], lang: Lang) -> str:
    return "\n".join(f"  {issue.severity.value}: {issue.render(lang)}" for issue in issues)


def render_decision(decision: Decision, lang: Lang) -> str:
    cur = decision.currency
    exposure = decision.exposure
    rows = [
        (label("决定", "Decision", lang), LABELS[decision.decision].render(lang)),
        (
            label("评级", "Tier", lang),
            f"{decision.tier} {decision.tier_name.render(lang)} · "
            f"{label('评分', 'score', lang)} {decision.score}/100",
        ),
        (
            label("批准额度", "Approved limit", lang),
            f"{money(decision.approved_limit, cur)} / "
            f"{label('申请', 'requested', lang)} {money(decision.requested_limit, cur)}",
        ),
        (label("结构", "Structure", lang), LABELS[decision.structure].render(lang)),
        (
            label("账期 / 账单周期", "Terms / billing cycle", lang),
            f"{decision.payment_terms_days} / {decision.billing_cycle_days} "
            f"{label('天', 'days', lang)}",
        ),
        (
            label("应收保证金", "Required deposit", lang),
            f"{money(decision.required_deposit, cur)} · {label('缺口', 'shortfall', lang)} "
            f"{money(decision.deposit_shortfall, cur)}",
        ),
        (
            label("月消耗 平均 / 峰值", "Monthly spend avg / peak", lang),
            f"{money(exposure.expected_monthly_spend, cur)} / {money(exposure.peak_monthly_spend, cur)}"
            f" · {label('高成本占比', 'high-cost share', lang)} {percent(exposure.high_cost_share)}",
        ),
        (
            label("无担保敞口", "Unsecured exposure", lang),
            f"{money(exposure.unsecured_exposure, cur)} · {label('垫付上游成本', 'provider cost at risk', lang)} "
            f"{money(exposure.provider_cost_at_risk, cur)}",
        ),
        (
            label("敞口窗口", "Exposure window", lang),
            decision.exposure.lasting().render(lang),
        ),
        (
            label("审批人", "Approvers", lang),
            ", ".join(LABELS[a.role].render(lang) for a in decision.approvals_required),
        ),
        (
            label("下次复核", "Next review", lang),
            f"{decision.next_review_date} ({decision.review_interval_days} {label('天', 'days', lang)})",
        ),
    ]
    lines = [decision.customer_name, columns(rows, indent="  ")]

    def section(title: Text, items: Iterable[str]) -> None:
        items = list(items)
        if items:
            lines.append(f"{title.render(lang)}:")
            lines.extend(f"  - {item}" for item in items)

    section(
        text("额度上限", "Caps"),
        (
            f"{cap.label.render(lang)}: {money(cap.amount, cur)}"
            + (f" ← {label('约束', 'binds', lang)}" if cap.binding else "")
            for cap in decision.limit_caps
        ),
    )
    section(text("条件", "Conditions"), (c.render(lang) for c in decision.conditions))
    section(
        text("替代方案", "Alternatives"),
        (a.description.render(lang) for a in decision.alternatives),
    )
    section(
        text("理由", "Reasons"), (r.render(lang) for r in (*decision.tier_trace, *decision.reasons))
    )
    section(
        text("降级触发", "Downgrade triggers"),
        (g.description.render(lang) for g in decision.downgrade_triggers),
    )
    section(
        text("升级条件", "Upgrade conditions"),
        (g.description.render(lang) for g in decision.upgrade_conditions),
    )
    section(
        text("止损方案", "Stop-loss playbook"),
        (
            f"{threshold_text(rule.trigger, rule.threshold).render(lang)}: "
            f"{_names(rule.actions, lang)} → {_names(rule.escalation, lang) or '—'}; "
            f"{label('恢复', 'recovery', lang)}: {_names(rule.recovery, lang)}"
            for rule in decision.stop_loss
        ),
    )
    section(
        text("审批", "Sign-off"),
        (
            f"{LABELS[a.role].render(lang)}: {a.reason.render(lang)}"
            for a in decision.approvals_required
        ),
    )
    section(text("提示", "Warnings"), (issue.render(lang) for issue in decision.issues))
    lines.append(
        f"{label('审计', 'Audit', lang)}: {decision.audit.fingerprint[:16]} · "
        f"{decision.audit.policy_id} {decision.audit.policy_version} · "
        f"{label('引擎', 'engine', lang)} {decision.audit.engine_version}"
    )
    return "\n".join(lines)


def _names(values: Iterable[StrEnum], lang: Lang) -> str:
    return ", ".join(LABELS[value].render(lang) for value in values)
