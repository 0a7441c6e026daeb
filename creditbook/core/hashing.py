"""Canonical JSON and its hash: one text per content, below the models that are hashed."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

from pydantic import BaseModel


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def canonical_json(model: BaseModel, exclude: set[str] | None = None) -> str:
    """One text per content: defaults filled in, keys sorted, 10.50 and 10.5 alike."""
    return json.dumps(
        model.model_dump(exclude=exclude),
        default=_plain,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def content_hash(model: BaseModel, exclude: set[str] | None = None) -> str:
    return hashlib.sha256(canonical_json(model, exclude).encode()).hexdigest()
