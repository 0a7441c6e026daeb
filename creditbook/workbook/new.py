"""New application workbooks: the template, filled with an application when one is given.

Apart from evaluate, as this is the one place it needs openpyxl (evaluating never loads it)."""

from __future__ import annotations

import io

from openpyxl.workbook.workbook import Workbook

from creditbook.core.models import Application
from creditbook.core.records import Lang
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import sheet_values_of
from creditbook.workbook.openpyxl_adapter import from_bytes, write_sheet_values
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
