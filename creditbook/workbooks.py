"""Application workbooks as files: create one from the template, read one back into the contract."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from creditbook.assess import parse_cells
from creditbook.cells import sheet_values_of
from creditbook.models import Application
from creditbook.policy import default_policy
from creditbook.prices import default_prices
from creditbook.records import Issue, has_errors
from creditbook.xlsm.build import template_bytes
from creditbook.xlsx import load, read_inputs, write_sheet_values


def new_workbook(app: Application | None) -> bytes:
    """The template, filled with the application when one is given (its VBA and ribbon kept)."""
    if app is None:
        return template_bytes()
    wb = load_workbook(io.BytesIO(template_bytes()), keep_vba=True)
    write_sheet_values(wb, sheet_values_of(app))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def export_application(path: Path) -> tuple[Application | None, list[Issue]]:
    """The application a filled workbook holds, validated against its own Policy and Prices sheets."""
    inputs = read_inputs(load(path))
    app, issues = parse_cells(
        inputs.assembled, inputs.policy or default_policy(), inputs.prices or default_prices()
    )
    issues = [*inputs.issues, *issues]
    return (None if has_errors(issues) else app), issues
