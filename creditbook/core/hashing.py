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


# Hashes of frozen models by identity: a register verifies a thousand files against the same policy
# and prices objects, and hashing a policy's canonical JSON costs milliseconds. Each entry keeps
# its model alive, so an id cannot be reused while it is remembered.
_REMEMBERED: dict[tuple[int, frozenset[str]], tuple[BaseModel, str]] = {}
MAX_REMEMBERED = 64


def content_hash(model: BaseModel, exclude: set[str] | None = None) -> str:
    if not model.model_config.get("frozen"):
        return hashlib.sha256(canonical_json(model, exclude).encode()).hexdigest()
    key = (id(model), frozenset(exclude or ()))
    remembered = _REMEMBERED.get(key)
    if remembered is not None and remembered[0] is model:
        return remembered[1]
    digest = hashlib.sha256(canonical_json(model, exclude).encode()).hexdigest()
    if len(_REMEMBERED) >= MAX_REMEMBERED:
        _REMEMBERED.clear()
    _REMEMBERED[key] = (model, digest)
    return digest
