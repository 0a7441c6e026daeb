"""Application workbooks as files: create, read back, and evaluate into an approval."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from openpyxl.workbook.workbook import Workbook

from creditbook.core.models import Application, Decision
from creditbook.core.policy import Policy
from creditbook.core.records import Issue, Lang
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import sheet_values_of
from creditbook.workbook.decide import WorkbookInputs, application_of, decide
from creditbook.workbook.openpyxl_adapter import (
    append_audit,
    freeze_formulas,
    from_bytes,
    load,
    read_inputs,
    write_approval,
    write_sheet_values,
)
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


def inputs_of(wb: Workbook, path: Path) -> WorkbookInputs:
    """Input values, read after the formulas among them are frozen to their results (in `wb`)."""
    frozen = freeze_formulas(wb, path)
    inputs = read_inputs(wb)
    return replace(inputs, issues=(*frozen, *inputs.issues))


def export_application(path: Path) -> tuple[Application | None, list[Issue]]:
    wb = load(path, data_only=False)
    return application_of(inputs_of(wb, path), default_policy())


@dataclass(frozen=True)
class Evaluated:
    decision: Decision | None
    issues: tuple[Issue, ...]
    workbook: bytes | None  # the evaluated workbook, when there was no input error


def evaluate_workbook(
    path: Path, *, officials: Sequence[Policy], evaluated_by: str, evaluated_at: datetime
) -> Evaluated:
    """Read a filled workbook, evaluate it, and return it with the Approval sheet and audit row."""
    wb = load(path, data_only=False)
    outcome = decide(
        inputs_of(wb, path), officials, evaluated_at=evaluated_at, evaluated_by=evaluated_by
    )
    if outcome.plan is None:
        return Evaluated(None, outcome.issues, None)
    write_approval(wb, outcome.plan)
    append_audit(wb, outcome.audit_row)
    return Evaluated(outcome.decision, outcome.issues, _save(wb))
