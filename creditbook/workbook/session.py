"""Who evaluates, and under which official policies: what every way of evaluating asks first.

Kept apart from the batch machinery so the Evaluate button imports neither openpyxl nor the
process pool (its interpreter starts on every press)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from creditbook.core.policy import Policy
from creditbook.data import default_policy
from creditbook.workbook.file_io import read_policy

EVALUATOR_VARIABLE = "CREDITBOOK_EVALUATOR"


def evaluator(given: str | None = None) -> str:
    """The person who evaluates: `--evaluator`, else CREDITBOOK_EVALUATOR, else not given ("").
    Never the operating-system account: 'root' or 'admin' signs nothing."""
    return (given or os.environ.get(EVALUATOR_VARIABLE, "")).strip()


def officials(policy_files: Sequence[Path]) -> list[Policy]:
    """The official policies: the configured files first, then the shipped default."""
    return [*(read_policy(path) for path in policy_files), default_policy()]
