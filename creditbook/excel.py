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
from creditbook.core.plain_text import render_issues
from creditbook.core.records import Issue, Severity, Text, text
from creditbook.workbook.decide import Outcome, application_of, decide
from creditbook.workbook.session import evaluator, officials
from creditbook.workbook.xlwings_adapter import TITLE, Book, read_inputs, write_outcome

MAX_LISTED = 15  # problems listed in a message box; the rest are counted


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
    """Input errors are shown in a message box, never raised; anything unexpected is shown, then raised."""
    try:
        outcome = decide(
            read_inputs(book), officials(()), evaluated_at=evaluated_at, evaluated_by=evaluated_by
        )
        if outcome.decision is None or outcome.plan is None:
            prompt = problems(
                text("无法评估，请修正：", "Cannot evaluate; please fix:"), outcome.issues
            )
            book.app.alert(prompt, title=TITLE, mode="critical")
            return outcome
        write_outcome(book, outcome.plan, outcome.audit_row, outcome.annex)
        book.app.alert(summary(outcome.decision, outcome.issues), title=TITLE, mode="info")
        return outcome
    except Exception as failure:
        _show_failure(book, failure)
        raise


def check_book(book: Book) -> list[Issue]:
    """The problems the inputs have now, shown in a message box (OK when there are none)."""
    try:
        _, issues = application_of(read_inputs(book), officials(())[0])
    except Exception as failure:
        _show_failure(book, failure)
        raise
    if issues:
        prompt = problems(text("检查发现以下问题：", "The check found:"), issues)
        book.app.alert(prompt, title=TITLE, mode="critical")
    else:
        book.app.alert("OK — 未发现问题 / no problems found", title=TITLE, mode="info")
    return issues


def _show_failure(book: Book, failure: Exception) -> None:
    book.app.alert(
        f"意外错误 / Unexpected error\n{type(failure).__name__}: {failure}",
        title=TITLE,
        mode="critical",
    )


def problems(heading: Text, issues: Sequence[Issue]) -> str:
    """Errors first, then warnings, each with its cell; at most MAX_LISTED lines."""
    ordered = sorted(issues, key=lambda issue: issue.severity is not Severity.ERROR)
    lines = [heading.render(), render_issues(ordered[:MAX_LISTED], "both")]
    hidden = len(ordered) - MAX_LISTED
    if hidden > 0:
        lines.append(text(f"  …另有 {hidden} 项", f"  … and {hidden} more").render())
    return "\n".join(lines)


def summary(decision: Decision, issues: Sequence[Issue]) -> str:
    lines = [
        f"{text('决定', 'Decision').render()}: {LABELS[decision.decision].render()}",
        f"{text('批准额度', 'Approved limit').render()}: "
        f"{money(decision.approved_limit, decision.currency)}",
        f"{text('下次复核', 'Next review').render()}: {decision.next_review_date.isoformat()}",
    ]
    warnings = sum(issue.severity is Severity.WARNING for issue in issues)
    if warnings:
        lines.append(
            text(
                f"⚠ {warnings} 条输入提示，见审批单",
                f"⚠ {warnings} input warnings, see the Approval sheet",
            ).render()
        )
    return "\n".join(lines)


if __name__ == "__main__":
    xw.Book("workbook/CreditReview.xlsm").set_mock_caller()
    evaluate()
