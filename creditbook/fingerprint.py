"""Canonical hashes: the application as evaluated, and the fingerprint binding it to policy and prices."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel

from creditbook.models import Application

if TYPE_CHECKING:
    from creditbook.policy import Policy
    from creditbook.prices import PriceTable


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


def audit_hashes(app: Application, policy: Policy, prices: PriceTable) -> tuple[str, str]:
    """(application hash, fingerprint of application + policy + prices)."""
    app_hash = content_hash(app)
    joined = f"{app_hash}:{policy.content_hash()}:{prices.content_hash()}"
    return app_hash, hashlib.sha256(joined.encode()).hexdigest()
