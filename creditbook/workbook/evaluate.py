"""Application workbooks as files: create, read back, and evaluate into an approval."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl.workbook.workbook import Workbook

from creditbook.core.models import Application, Decision
from creditbook.core.policy import Policy
from creditbook.core.records import Issue, Lang
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import sheet_values_of
from creditbook.workbook.decide import WorkbookInputs, application_of, decide
from creditbook.workbook.layout import ANNEX_SHEET, APPROVAL_SHEET, AUDIT_SHEET
from creditbook.workbook.openpyxl_adapter import from_bytes, write_sheet_values
from creditbook.workbook.package_reader import read_file
from creditbook.workbook.package_writer import Editor
from creditbook.workbook.xlsm.build import build_workbook, template_bytes


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def new_workbook(
    app: Application | None, template: bytes | None = None, lang: Lang = "both"
) -> bytes:
    """The template, filled with the application when one is given (its VBA and ribbon kept).

    In both languages the shipped template is used; in one, a template built in that language."""
    if template is None:
        both = lang == "both"
        template = (
            template_bytes() if both else build_workbook(default_policy(), default_prices(), lang)
        )
    if app is None:
        return template
    wb = from_bytes(template)
    write_sheet_values(wb, sheet_values_of(app, lang))
    return _save(wb)


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
