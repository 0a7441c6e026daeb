"""Fuzzing: no application value and no file content makes the engine or the JSON reader crash.

Valid applications (as in test_properties, plus ramps, auto-recharge, playbooks and free text) are
mutated at random places: values replaced by arbitrary JSON-like values (huge, tiny, negative,
NaN and infinite numbers, long text, control characters, lone surrogates, nesting), keys deleted
or added, the whole replaced. Application files are bytes, example files with hostile tokens
spliced in (NaN, 1e999999, a 5000-digit integer, a repeated key, deep nesting, ...), or mutated
applications written out. Every outcome must be a decision or located error issues: never an
exception, and everything the CLI would print encodes as UTF-8.

The hypothesis profile sets the number of examples: `default` keeps this file within about a
minute. A longer campaign, 50,000 examples per property:

    HYPOTHESIS_PROFILE=fuzz python -m pytest tests/core/test_fuzz.py -p no:cacheprovider

A failure prints the shrunk example and a `@reproduce_failure` blob; failing examples are also
kept in `.hypothesis/` and replayed first on the next run.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_properties import applications

from creditbook.core.assess import Assessment
from creditbook.core.models import MAX_MONEY, MAX_MTOK_MONTH, Action, Recovery, Trigger
from creditbook.core.plain_text import render_decision
from creditbook.core.records import Issue, Severity
from creditbook.data import default_policy
from creditbook.workbook.file_io import InputError, read_application_json

Raw = dict[str, Any]
Assess = Callable[[Any], Assessment]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "applications"
EXAMPLE_TEXTS = tuple(path.read_text("utf-8") for path in sorted(EXAMPLES.glob("*.json")))

# ------------------------------------------------------------ valid applications

PLAIN_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)


@st.composite
def full_applications(draw: st.DrawFn) -> Raw:
    """A valid application using every part of the contract."""
    raw = draw(applications())
    raw["profile"]["sales_owner"] = draw(PLAIN_TEXT)
    raw["consumption"][0]["cached_input_mtok_month"] = draw(st.decimals(0, 5000, places=1))
    buffers = raw["buffers"]
    if draw(st.booleans()):
        first = draw(st.decimals(1, 100_000, places=2))
        buffers["ramp"] = [
            {"from_day": 0, "limit": first},
            {"from_day": draw(st.integers(1, 365)), "limit": first + draw(st.integers(0, 10**6))},
        ]
    if draw(st.booleans()):
        buffers["auto_recharge_threshold"] = draw(st.decimals(0, 10**6, places=2))
        buffers["auto_recharge_amount"] = draw(st.decimals(0, 10**6, places=2))
    if draw(st.booleans()):
        raw["stop_loss"] = [step.model_dump(mode="json") for step in default_policy().stop_loss]
    return raw


# ------------------------------------------------------------ hostile values

NUMBERS = st.one_of(
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, -1, 2**63, 10**12, 10**12 + 1]),
    st.integers(4301, 5000).map(lambda digits: 10**digits),  # beyond what Python prints
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            Decimal(text)
            for text in (
                "NaN",
                "sNaN",
                "Infinity",
                "-Infinity",
                "-0",
                "1e999999",
                "-1e999999",
                "1e-999999",
                "1e99999999",
                "1E+999999999999999999",
                "1000000000000.01",
                "0.005",
            )
        ]
    ),
    st.floats(),
)
WORDS = [*(member.value for kind in (Trigger, Action, Recovery) for member in kind), "openai"]
TEXTS = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(categories=["Cc"]), min_size=1, max_size=3),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.sampled_from(
        [
            "",
            " ",
            "\uffff",
            "2026-02-30",
            "1899-12-31",
            "9999-12-31",
            "2026-11-28",
            "1e999999",
            "9" * 5000,
            '=HYPERLINK("http://x","y")',
            "x" * 10_000,
            *WORDS,
        ]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS)


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


VALUES = st.one_of(
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
        max_leaves=8,
    ),
    st.integers(1, 300).map(nested),
)


def nodes(raw: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every value in `raw`, the whole first."""
    found, todo = [], [((), raw)]
    while todo:
        path, value = todo.pop()
        found.append((path, value))
        if isinstance(value, dict):
            todo += [((*path, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            todo += [((*path, index), item) for index, item in enumerate(value)]
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Raw]) -> Any:
    """A valid application with one to three places replaced, deleted or added to."""
    raw: Any = draw(valid)
    for _ in range(draw(st.integers(1, 3))):
        path, node = draw(st.sampled_from(nodes(raw)))
        change = draw(st.sampled_from(["replace", "delete", "add"]))
        if change == "add" and isinstance(node, dict):
            node[draw(TEXTS)] = draw(VALUES)
        elif change == "add" and isinstance(node, list):
            node.append(draw(VALUES))
        elif not path:
            raw = draw(VALUES)
        else:
            parent = raw
            for part in path[:-1]:
                parent = parent[part]
            if change == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(VALUES)
    return raw


AMOUNTS = {
    "requested_limit",
    "current_overdue_amount",
    "guarantee_amount",
    "input_mtok_month",
    "cached_input_mtok_month",
    "output_mtok_month",
    "monthly_spend",
    "deposit",
    "prepaid_balance",
    "limit",
    "auto_recharge_threshold",
    "auto_recharge_amount",
}
EDGES = [
    Decimal("1e-999999"),
    Decimal("0.001"),
    Decimal(MAX_MTOK_MONTH),
    Decimal(MAX_MONEY) - Decimal("0.01"),
    Decimal(MAX_MONEY),
    Decimal(MAX_MONEY) + Decimal("0.01"),
]


@st.composite
def stretched(draw: st.DrawFn, valid: st.SearchStrategy[Raw]) -> Raw:
    """A valid application with amounts and volumes pushed to the edges the contract allows (and
    just past), for the engine to compute with."""
    raw = draw(valid)
    for path, _ in nodes(raw):
        if path and path[-1] in AMOUNTS and draw(st.booleans()):
            parent = raw
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = draw(st.sampled_from(EDGES))
    return raw


# ------------------------------------------------------------ hostile files

TOKENS = (
    "NaN",
    "-Infinity",
    "1e999999",
    "-1e999999",
    "1e-999999",
    "1e99999999",
    "1e99999999999999999999",
    "9" * 5000,
    "-0",
    '"\\ud800"',
    '"\\udfff\\ud800x"',
    '"a\\u0000b"',
    '"\\u001b[31m"',
    '"\\uffff"',
    "\"=cmd|' /C calc'!A0\"",
    "[" * 900 + "]" * 900,
    "[" * 5000,
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"',
    "null",
    "\ufeff",
    "\x00",
    "\ud800",
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "gb18030", "latin-1")


@st.composite
def spliced_texts(draw: st.DrawFn) -> str:
    """An example application with hostile tokens spliced in, keys repeated, or cut short."""
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        change = draw(st.sampled_from(["splice", "repeat_key", "cut"]))
        if change == "splice":
            end = draw(st.integers(start, min(len(text), start + 30)))
            text = text[:start] + draw(st.sampled_from(TOKENS) | st.text(max_size=3)) + text[end:]
        elif change == "repeat_key":
            key = text.find('": ', start)
            opening = text.rfind('"', 0, key)
            if key > 0 and opening >= 0:
                insert = f'{text[opening:key]}": {draw(st.sampled_from(TOKENS))}, '
                text = text[:opening] + insert + text[opening:]
        else:
            text = text[:start]
    return text


def as_json(value: Any) -> str:
    """JSON text of a mutated application: Decimals as their own literal (NaN, 1E+999999, ...)."""
    if isinstance(value, dict):
        items = (f"{json.dumps(key)}: {as_json(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(as_json, value)) + "]"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(Decimal(value))  # str(int) stops at 4300 digits
    if isinstance(value, Decimal | float):
        return str(value)
    return json.dumps(value)


def encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")


TEXT_FILES = st.one_of(spliced_texts(), mutated(full_applications()).map(as_json))
APPLICATION_FILES = st.one_of(
    st.binary(max_size=300),
    st.builds(encoded, TEXT_FILES, st.just("utf-8")),
    st.builds(encoded, TEXT_FILES, st.sampled_from(ENCODINGS)),
)


# ------------------------------------------------------------ properties


def assert_printable(issues: tuple[Issue, ...] | list[Issue]) -> None:
    for issue in issues:
        assert issue.location
        issue.render("both").encode("utf-8")
        issue.model_dump_json(context={"lang": "both"}).encode("utf-8")


def assert_decision_or_errors(result: Assessment) -> None:
    assert_printable(result.issues)
    if result.decision is None:
        assert any(issue.severity is Severity.ERROR for issue in result.issues)
        return
    assert all(issue.severity is Severity.WARNING for issue in result.issues)
    result.decision.model_dump_json(context={"lang": "both"}).encode("utf-8")
    render_decision(result.decision, "both").encode("utf-8")
    assert result.decision.approved_limit <= result.decision.requested_limit


@given(full_applications())
def test_generated_applications_are_valid(assess_raw: Assess, raw: Raw) -> None:
    result = assess_raw(raw)
    assert result.decision is not None, [issue.render("en") for issue in result.issues]
    assert_decision_or_errors(result)


@given(mutated(full_applications()))
def test_any_application_value_gets_a_decision_or_located_errors(
    assess_raw: Assess, raw: Any
) -> None:
    assert_decision_or_errors(assess_raw(raw))


@given(stretched(full_applications()))
def test_numbers_at_the_edges_get_a_decision_or_located_errors(
    assess_raw: Assess, raw: Raw
) -> None:
    assert_decision_or_errors(assess_raw(raw))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@given(APPLICATION_FILES)
def test_any_file_is_read_or_refused_with_located_issues(
    assess_raw: Assess, folder: Path, data: bytes
) -> None:
    path = folder / "application.json"
    path.write_bytes(data)
    try:
        raw = read_application_json(path)
    except InputError as exc:
        assert exc.issues
        assert_printable(exc.issues)
        return
    assert_decision_or_errors(assess_raw(raw))


def test_a_byte_order_mark_is_accepted(folder: Path) -> None:
    path = folder / "bom.json"
    path.write_bytes(codecs.BOM_UTF8 + EXAMPLE_TEXTS[0].encode())
    assert read_application_json(path) == json.loads(EXAMPLE_TEXTS[0], parse_float=Decimal)
