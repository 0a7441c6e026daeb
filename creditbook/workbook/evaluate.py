"""Application workbooks as files: read back, and evaluate into an approval (without openpyxl;
new workbooks are made in `creditbook.workbook.new`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from creditbook.core.models import Application, Decision
from creditbook.core.policy import Policy
from creditbook.core.records import Issue, Lang
from creditbook.data import default_policy
from creditbook.workbook.decide import WorkbookInputs, application_of, decide
from creditbook.workbook.layout import ANNEX_SHEET, APPROVAL_SHEET, AUDIT_SHEET
from creditbook.workbook.package_reader import read_file
from creditbook.workbook.package_writer import Editor


def inputs_of(path: Path) -> WorkbookInputs:
    """A workbook file's input values (a formula among them counts as its saved result)."""
    return read_file(path)[1]


def export_application(path: Path) -> tuple[Application | None, list[Issue]]:
    return application_of(inputs_of(path), default_policy())


@dataclass(frozen=True)
class Evaluated:
    decision: Decision | None
    issues: tuple[Issue, ...]
    workbook: bytes | None  # the evaluated workbook, when there was no input error


def evaluate_workbook(
    path: Path,
    *,
    officials: Sequence[Policy],
    evaluated_by: str,
    evaluated_at: datetime,
    lang: Lang | None = None,
) -> Evaluated:
    """Read a filled workbook, evaluate it, and return it with the Approval and Annex sheets and
    the audit row (in `lang`; None: the language the workbook remembers, else both); every other
    part of the file keeps its bytes."""
    book, inputs = read_file(path)
    outcome = decide(
        inputs, officials, evaluated_at=evaluated_at, evaluated_by=evaluated_by, lang=lang
    )
    if outcome.plan is None:
        return Evaluated(None, outcome.issues, None)
    editor = Editor(book)
    editor.write_plan(APPROVAL_SHEET, outcome.plan)
    if outcome.annex is not None:  # a workbook from an older template gets the sheet added
        editor.write_plan(ANNEX_SHEET, outcome.annex)
    editor.append_row(AUDIT_SHEET, outcome.audit_row)
    return Evaluated(outcome.decision, outcome.issues, editor.to_bytes())
