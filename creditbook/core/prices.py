"""Provider list prices per million tokens, shipped as package data with source and as-of date.

A model may have several rows: input-context tiers (`min_context_ktok`, the tier's lower bound in
thousands of tokens) and off-peak discounts (`peak` false). Credit is priced at the most expensive
row the customer's traffic can reach (`PriceTable.row_for`).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from creditbook.core.hashing import content_hash
from creditbook.core.models import ConsumptionLine, CostClass, Currency, Provider
from creditbook.core.records import Frozen, Money

TIER_COLUMNS = ("tier", "min_context_ktok", "peak")
PRICE_COLUMNS = (
    "provider",
    "model",
    "currency",
    *TIER_COLUMNS,
    "input_per_mtok",
    "cached_input_per_mtok",
    "output_per_mtok",
    "cost_class",
    "as_of",
    "source",
)
# A table written before tiers existed has no TIER_COLUMNS: one untiered peak row per model.
UNTIERED_COLUMNS = tuple(name for name in PRICE_COLUMNS if name not in TIER_COLUMNS)

Price = Annotated[Money, Field(ge=0)]


class PriceRow(Frozen):
    provider: Provider
    model: str
    currency: Currency
    # At their untiered values these are left out of the hash: a table without them keeps its hash.
    tier: Annotated[str, Field(min_length=1, exclude_if=lambda value: value == "standard")] = (
        "standard"
    )
    min_context_ktok: Annotated[int, Field(ge=0, exclude_if=lambda value: value == 0)] = 0
    peak: Annotated[bool, Field(exclude_if=lambda value: value is True)] = True
    input_per_mtok: Price
    cached_input_per_mtok: Price | None
    output_per_mtok: Price
    cost_class: CostClass
    as_of: str
    source: str

    def monthly_cost(self, line: ConsumptionLine) -> Decimal:
        """Token volumes × prices; cached input falls back to the input price when none is listed."""
        cached = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )
        return (
            line.input_mtok_month * self.input_per_mtok
            + line.cached_input_mtok_month * cached
            + line.output_mtok_month * self.output_per_mtok
        )


class PriceTable(Frozen):
    rows: tuple[PriceRow, ...]

    def row_for(self, line: ConsumptionLine, *, peak_only: bool) -> PriceRow | None:
        """The row that prices a line: of its model's rows (peak rows only when `peak_only`), the
        highest context tier at or below the line's `context_ktok`, or any tier when it has none;
        of those, the most expensive for the line's volumes."""
        wanted = line.model.strip().lower()
        rows = [
            row
            for row in self.rows
            if row.provider == line.provider
            and row.model.lower() == wanted
            and (row.peak or not peak_only)
        ]
        if line.context_ktok is not None:
            context = line.context_ktok
            rows = [row for row in rows if row.min_context_ktok <= context]
            top = max((row.min_context_ktok for row in rows), default=0)
            rows = [row for row in rows if row.min_context_ktok == top]
        return max(rows, key=lambda row: row.monthly_cost(line), default=None)

    def content_hash(self) -> str:
        return content_hash(self)


def parse_prices(text: str) -> PriceTable:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) not in (PRICE_COLUMNS, UNTIERED_COLUMNS):
        raise ValueError(f"price table columns must be {', '.join(PRICE_COLUMNS)}")
    rows = [
        PriceRow.model_validate(
            {**raw, "cached_input_per_mtok": raw["cached_input_per_mtok"] or None}
        )
        for raw in reader
    ]
    return PriceTable(rows=tuple(rows))
