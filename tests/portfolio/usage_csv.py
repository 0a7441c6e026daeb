"""Usage and receivables CSV files for the monitor tests, in the generic format."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path


def daily(customer: str, amounts: list[str] | list[float], last: date) -> list[str]:
    """One usage row a day, the last amount on `last`."""
    first = last - timedelta(days=len(amounts) - 1)
    return [
        f"{customer},{first + timedelta(days=i)},openai,gpt-5.4-mini,{amount},,"
        for i, amount in enumerate(amounts)
    ]


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path
