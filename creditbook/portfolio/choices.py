"""What the portfolio commands offer on the command line, apart from the code behind them: the CLI
builds its parser for every command, and a single evaluation should not wait for that code."""

from __future__ import annotations

ENGINES = ("duckdb", "spark")  # where file usage is aggregated (`sources`)
FORMATS = ("generic", "new-api", "one-api", "litellm", "openai-costs", "anthropic-costs")
QUOTA_PER_USD = 500_000  # new-api / one-api QuotaPerUnit default: 500,000 quota units = 1 USD
