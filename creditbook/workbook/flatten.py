"""Nested JSON ↔ flat (path, value) rows, for editing a policy as a two-column sheet."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

Scalar = str | int | float | bool | None
EMPTY_LIST, EMPTY_MAP = "[]", "{}"
STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Scalar]]:
    """{"a": [{"b": 1}]} → ("a[0].b", 1). Empty containers keep a row of their own."""
    if isinstance(value, dict):
        if not value:
            yield path, EMPTY_MAP
        for key, item in value.items():
            yield from flatten(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        if not value:
            yield path, EMPTY_LIST
        for index, item in enumerate(value):
            yield from flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def path_steps(path: str) -> list[str | int]:
    """`a[0].b` → ["a", 0, "b"]."""
    return [int(index) if index else key for key, index in STEP.findall(path)]


def unflatten(rows: Iterable[tuple[str, Any]]) -> Any:
    """The inverse of flatten; raises ValueError naming a path that does not fit."""
    root: dict[str, Any] = {}
    for path, value in rows:
        steps = path_steps(path)
        if (
            not steps
            or "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps).lstrip(".")
            != path
        ):
            raise ValueError(f"not a valid path: {path!r}")
        node: Any = root
        for step, following in zip(steps, [*steps[1:], None], strict=True):
            leaf = following is None
            item = (
                ([] if value == EMPTY_LIST else {} if value == EMPTY_MAP else value)
                if leaf
                else ([] if isinstance(following, int) else {})
            )
            if isinstance(step, int):
                if not isinstance(node, list) or step > len(node):
                    raise ValueError(f"list index out of order at {path!r}")
                if step == len(node):
                    node.append(item)
                node = node[step]
            else:
                if not isinstance(node, dict):
                    raise ValueError(f"{path!r} mixes a list and a mapping")
                node = node.setdefault(step, item)
    return root
