"""What ships with the package: the default policy, the price table, the bundled examples.

The core never reads files; these loaders do, once, and hand the core its parsed values.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from creditbook.core.policy import Policy, parse_policy
from creditbook.core.prices import PriceTable, parse_prices


@cache
def default_policy() -> Policy:
    return parse_policy(resources.files(__name__).joinpath("policy.yaml").read_text("utf-8"))


@cache
def default_prices() -> PriceTable:
    return parse_prices(
        resources.files(__name__).joinpath("provider-prices.csv").read_text("utf-8")
    )


def example_applications() -> list[tuple[str, Any]]:
    """The bundled example applications, by file name."""
    folder = resources.files("creditbook.bundled_examples").joinpath("applications")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".json")), key=lambda e: e.name
    )
    return [
        (entry.name, json.loads(entry.read_text("utf-8"), parse_float=Decimal)) for entry in entries
    ]


def example_workbooks() -> list[tuple[str, bytes]]:
    """The bundled example workbooks (built from the example applications), by file name."""
    folder = resources.files("creditbook.bundled_workbook").joinpath("examples")
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".xlsm")), key=lambda e: e.name
    )
    return [(entry.name, entry.read_bytes()) for entry in entries]
