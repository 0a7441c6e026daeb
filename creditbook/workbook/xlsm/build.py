"""Build CreditReview.xlsm from text sources: sheets (openpyxl), VBA project, ribbon; reproducibly."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time
from importlib import resources
from importlib.resources.abc import Traversable

from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Lang
from creditbook.workbook.layout import SHEETS
from creditbook.workbook.xlsm.package import package_xlsm, vba_project
from creditbook.workbook.xlsm.template import build_template

TEMPLATE_NAME = "CreditReview.xlsm"


def sources() -> Traversable:
    """The `workbook/` folder: VBA (`vba/*.bas`), ribbon XML and the built template."""
    return resources.files("creditbook.bundled_workbook")


def build_workbook(policy: Policy, prices: PriceTable, lang: Lang = "both") -> bytes:
    """The template's bytes in a language; the same inputs always give the same parts."""
    buffer = io.BytesIO()
    build_template(policy, prices, lang).save(buffer)
    return reproducible(buffer.getvalue(), policy)


def reproducible(workbook: bytes, policy: Policy) -> bytes:
    """A saved workbook with our VBA project and ribbon, dates and zip layout fixed."""
    return package_xlsm(
        workbook,
        vba_project(sources().joinpath("vba"), SHEETS),
        sources().joinpath("ribbon", "customUI.xml").read_bytes(),
        modified=datetime.combine(policy.as_of, time(), UTC),
    )


def template_bytes() -> bytes:
    return sources().joinpath(TEMPLATE_NAME).read_bytes()
