"""Application workbooks as files: create, read back, and evaluate into an approval."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from creditbook.approval import PolicyStatus, approval_plan, audit_row
from creditbook.assess import parse_cells
from creditbook.cells import sheet_values_of
from creditbook.engine import evaluate
from creditbook.models import Application, Decision
from creditbook.policy import Policy, default_policy
from creditbook.prices import default_prices
from creditbook.records import Issue, has_errors, text
from creditbook.xlsm.build import template_bytes
from creditbook.xlsx import (
    WorkbookInputs,
    append_audit,
    has_input_formulas,
    load,
    read_inputs,
    write_approval,
    write_sheet_values,
)


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def new_workbook(app: Application | None, template: bytes | None = None) -> bytes:
    """The template, filled with the application when one is given (its VBA and ribbon kept)."""
    template = template or template_bytes()
    if app is None:
        return template
    wb = load_workbook(io.BytesIO(template), keep_vba=True)
    write_sheet_values(wb, sheet_values_of(app))
    return _save(wb)


def inputs_of(wb: Workbook, path: Path) -> WorkbookInputs:
    """Input values; formulas typed into input cells are read through their cached results."""
    return read_inputs(load(path, data_only=True) if has_input_formulas(wb) else wb)


def application_of(
    inputs: WorkbookInputs, official: Policy
) -> tuple[Application | None, list[Issue]]:
    """The application a workbook holds, validated against its own Policy and Prices sheets."""
    app, issues = parse_cells(
        inputs.assembled, inputs.policy or official, inputs.prices or default_prices()
    )
    issues = [*inputs.issues, *issues]
    return (None if has_errors(issues) else app), issues


def export_application(path: Path) -> tuple[Application | None, list[Issue]]:
    wb = load(path)
    return application_of(inputs_of(wb, path), default_policy())


def policy_status(used: Policy, officials: Sequence[Policy]) -> PolicyStatus:
    """Official when its hash matches the official policy of that id and version."""
    name = f"{used.id} {used.version}"
    for official in officials:
        if (official.id, official.version) == (used.id, used.version):
            if official.content_hash() == used.content_hash():
                return PolicyStatus(True, text(f"{name}（官方政策）", f"{name} (official)"))
            return PolicyStatus(
                False,
                text(
                    f"⚠ 政策 {name} 已在工作簿中修改，与官方版本不一致（sha256 {used.content_hash()[:12]}）",
                    f"⚠ policy {name} was edited in this workbook and differs from the official one "
                    f"(sha256 {used.content_hash()[:12]})",
                ),
            )
    return PolicyStatus(
        False,
        text(
            f"⚠ 政策 {name} 不是已知的官方版本", f"⚠ policy {name} is not a known official version"
        ),
    )


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
    inputs = inputs_of(wb, path)
    app, issues = application_of(inputs, officials[0])
    if app is None:
        return Evaluated(None, tuple(issues), None)
    policy, prices = inputs.policy or officials[0], inputs.prices or default_prices()
    decision = evaluate(app, policy, prices, evaluated_at=evaluated_at, issues=issues)
    status = policy_status(policy, officials)
    write_approval(wb, approval_plan(decision, app, policy=status, evaluated_by=evaluated_by))
    append_audit(wb, audit_row(decision, evaluated_by))
    return Evaluated(decision, tuple(issues), _save(wb))
