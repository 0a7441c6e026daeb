"""The Evaluate and Check buttons of the workbook, in live Excel: what the ribbon's VBA calls.

The VBA runs `import creditbook.excel; creditbook.excel.evaluate()` (or `check()`) through xlwings'
`RunPython`; both take the calling book and hand it to `evaluate_book` / `check_book`, which the
tests drive with an in-memory fake of xlwings' objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import xlwings as xw

from creditbook.core.labels import LABELS
from creditbook.core.models import Decision
from creditbook.core.money import money
from creditbook.core.records import Issue, Lang, Severity, Text, text
from creditbook.workbook.decide import Outcome, application_of, decide
from creditbook.workbook.session import evaluator, officials
from creditbook.workbook.xlwings_adapter import TITLE, Book, read_inputs, write_outcome

MAX_LISTED = 15  # problems listed in a message box; the rest are counted
SEVERITY = {Severity.ERROR: text("错误", "error"), Severity.WARNING: text("提示", "warning")}


def evaluate() -> None:
    """The Evaluate button: evaluate the calling workbook, write its Approval and Annex sheets and
    audit row."""
    evaluate_book(
        xw.Book.caller(),
        evaluated_at=datetime.now(UTC).replace(microsecond=0),
        evaluated_by=evaluator(),
    )


def check() -> None:
    """The Check button: list the input problems of the calling workbook; writes nothing."""
    check_book(xw.Book.caller())


def evaluate_book(book: Book, *, evaluated_at: datetime, evaluated_by: str) -> Outcome:
    """Input errors are shown in a message box, never raised; anything unexpected is shown, then raised.

    The message boxes speak the language the workbook remembers."""
    try:
        inputs = read_inputs(book)
        lang = inputs.language or "both"
        outcome = decide(
            inputs, officials(()), evaluated_at=evaluated_at, evaluated_by=evaluated_by
        )
        if outcome.decision is None or outcome.plan is None:
            prompt = problems(
                text("无法评估，请修正：", "Cannot evaluate; please fix:"), outcome.issues, lang
            )
            book.app.alert(prompt, title=TITLE, mode="critical")
            return outcome
        write_outcome(book, outcome.plan, outcome.audit_row, outcome.annex)
        book.app.alert(summary(outcome.decision, outcome.issues, lang), title=TITLE, mode="info")
        return outcome
    except Exception as failure:
        _show_failure(book, failure)
        raise


def check_book(book: Book) -> list[Issue]:
    """The problems the inputs have now, shown in a message box (OK when there are none)."""
    try:
        inputs = read_inputs(book)
        _, issues = application_of(inputs, officials(())[0])
    except Exception as failure:
        _show_failure(book, failure)
        raise
    lang = inputs.language or "both"
    if issues:
        prompt = problems(text("检查发现以下问题：", "The check found:"), issues, lang)
        book.app.alert(prompt, title=TITLE, mode="critical")
    else:
        fine = text("OK — 未发现问题", "OK — no problems found")
        book.app.alert(fine.render(lang), title=TITLE, mode="info")
    return issues


def _show_failure(book: Book, failure: Exception) -> None:
    book.app.alert(
        f"意外错误 / Unexpected error\n{type(failure).__name__}: {failure}",
        title=TITLE,
        mode="critical",
    )


def problems(heading: Text, issues: Sequence[Issue], lang: Lang = "both") -> str:
    """Errors first, then warnings, each with its cell; at most MAX_LISTED lines."""
    ordered = sorted(issues, key=lambda issue: issue.severity is not Severity.ERROR)
    lines = [
        heading.render(lang),
        *(
            f"  {SEVERITY[issue.severity].render(lang)}: {issue.render(lang)}"
            for issue in ordered[:MAX_LISTED]
        ),
    ]
    hidden = len(ordered) - MAX_LISTED
    if hidden > 0:
        lines.append(text(f"  …另有 {hidden} 项", f"  … and {hidden} more").render(lang))
    return "\n".join(lines)


def summary(decision: Decision, issues: Sequence[Issue], lang: Lang = "both") -> str:
    lines = [
        f"{text('决定', 'Decision').render(lang)}: {LABELS[decision.decision].render(lang)}",
        f"{text('批准额度', 'Approved limit').render(lang)}: "
        f"{money(decision.approved_limit, decision.currency)}",
        f"{text('下次复核', 'Next review').render(lang)}: {decision.next_review_date.isoformat()}",
    ]
    warnings = sum(issue.severity is Severity.WARNING for issue in issues)
    if warnings:
        lines.append(
            text(
                f"⚠ {warnings} 条输入提示，见审批单",
                f"⚠ {warnings} input warnings, see the Approval sheet",
            ).render(lang)
        )
    return "\n".join(lines)


if __name__ == "__main__":
    xw.Book("workbook/CreditReview.xlsm").set_mock_caller()
    evaluate()
