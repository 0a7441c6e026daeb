"""The price table: tiers and off-peak rows, and the conservative row that prices a line."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from creditbook.core.hashing import content_hash
from creditbook.core.models import Application, ConsumptionLine
from creditbook.core.prices import PRICE_COLUMNS, PriceTable, parse_prices
from creditbook.data import default_prices

EXAMPLES = Path(__file__).parents[2] / "examples" / "applications"

OLD_CSV = """provider,model,currency,input_per_mtok,cached_input_per_mtok,output_per_mtok,cost_class,as_of,source
deepseek,deepseek-flash,CNY,1,0.02,4,low,2026-10-27,api-docs.deepseek.com (off-peak)
aliyun_bailian,qwen3-max,CNY,2.5,,10,standard,2026-05,third-party price list
"""


def consumption_line(model: str, provider: str = "aliyun_bailian", **fields: Any) -> ConsumptionLine:
    volumes = {"input_mtok_month": 1000, "output_mtok_month": 100}
    return ConsumptionLine.model_validate({"provider": provider, "model": model, **volumes, **fields})


def tier(line: ConsumptionLine, table: PriceTable | None = None, peak_only: bool = True) -> str:
    row = (table or default_prices()).row_for(line, peak_only=peak_only)
    assert row is not None
    return f"{row.tier} {row.input_per_mtok}/{row.output_per_mtok}"


def test_the_peak_rate_prices_credit_not_the_off_peak_one() -> None:
    line = consumption_line("deepseek-v4-pro", provider="deepseek")
    assert tier(line) == "peak 9.0/27.0"
    assert tier(line, peak_only=False) == "peak 9.0/27.0"  # still the dearer row


def test_without_a_context_the_top_tier_prices_the_line() -> None:
    assert tier(consumption_line("qwen3-max")) == "128k-252k 7/28"
    assert tier(consumption_line("doubao-seed-2.0-pro", provider="volcengine_ark")) == (
        "128k-256k 9.6/48"
    )
    assert tier(consumption_line("gpt-5.4", provider="openai")) == "272k+ 5/22.50"


@pytest.mark.parametrize(
    ("context", "expected"),
    [(0, "0-32k 2.5/10"), (31.9, "0-32k 2.5/10"), (32, "32k-128k 4/16"), (200, "128k-252k 7/28")],
)
def test_the_context_picks_the_highest_tier_it_reaches(context: float, expected: str) -> None:
    line = consumption_line("qwen3-max", context_ktok=Decimal(str(context)))
    assert tier(line) == expected


def test_rows_of_one_tier_give_the_dearest_for_the_volumes() -> None:
    line = consumption_line("qwen-turbo", context_ktok=8)
    assert tier(line) == "thinking 0.3/3"


def test_an_off_peak_only_model_is_unpriced_when_the_policy_is_peak_only() -> None:
    header = ",".join(PRICE_COLUMNS)
    off_peak = "deepseek,deepseek-flash,CNY,off_peak,0,false,1,0.02,4,low,2026-10-27,docs"
    table = parse_prices(f"{header}\n{off_peak}\n")
    line = consumption_line("deepseek-flash", provider="deepseek")
    assert table.row_for(line, peak_only=True) is None
    assert tier(line, table, peak_only=False) == "off_peak 1/4"


def test_a_price_table_without_tier_columns_is_read_as_untiered_peak_rows() -> None:
    table = parse_prices(OLD_CSV)
    assert [(row.tier, row.min_context_ktok, row.peak) for row in table.rows] == [
        ("standard", 0, True),
        ("standard", 0, True),
    ]
    assert tier(consumption_line("qwen3-max", context_ktok=200), table) == "standard 2.5/10"


def test_what_was_hashed_before_tiers_keeps_its_hash() -> None:
    """Workbooks evaluated before tiers, context_ktok and the increase fields still verify: an old
    table and an application without the new fields hash as they did (sha256 pinned from the code
    before these changes). The policy itself changed, with its version."""
    assert parse_prices(OLD_CSV).content_hash() == (
        "27c65b22433306908badf91723521509d3cd6e857642acd47d4ccceba9571f77"
    )
    overdue = EXAMPLES / "overdue_history.json"
    app = Application.model_validate(json.loads(overdue.read_text("utf-8"), parse_float=Decimal))
    assert content_hash(app) == "3bbad5503e303e2f699d424542f646ee1e6a4551d9eb44bae0bd44adfbb790c1"


def test_a_table_with_other_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="columns must be"):
        parse_prices(OLD_CSV.replace("cost_class", "class"))


def test_every_shipped_row_has_a_source_and_a_date() -> None:
    rows = default_prices().rows
    assert all(row.source.strip() and row.as_of.strip() for row in rows)
    assert {(row.provider.value, row.model) for row in rows if not row.peak} == {
        ("deepseek", "deepseek-v4-pro"),
        ("deepseek", "deepseek-flash"),
    }
