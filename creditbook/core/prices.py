"""Provider list prices per million tokens, shipped as package data with source and as-of date."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from creditbook.core.hashing import content_hash
from creditbook.core.models import ConsumptionLine, CostClass, Currency, Provider
from creditbook.core.records import Frozen, Money

PRICE_COLUMNS = (
    "provider",
    "model",
    "currency",
    "input_per_mtok",
    "cached_input_per_mtok",
    "output_per_mtok",
    "cost_class",
    "as_of",
    "source",
)

Price = Annotated[Money, Field(ge=0)]


class PriceRow(Frozen):
    provider: Provider
    model: str
    currency: Currency
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

    def find(self, provider: Provider, model: str) -> PriceRow | None:
        wanted = model.strip().lower()
        for row in self.rows:
            if row.provider == provider and row.model.lower() == wanted:
                return row
        return None

    def content_hash(self) -> str:
        return content_hash(self)


def parse_prices(text: str) -> PriceTable:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != PRICE_COLUMNS:
        raise ValueError(f"price table columns must be {', '.join(PRICE_COLUMNS)}")
    rows = [
        PriceRow.model_validate(
            {**raw, "cached_input_per_mtok": raw["cached_input_per_mtok"] or None}
        )
        for raw in reader
    ]
    return PriceTable(rows=tuple(rows))

