"""Broken, hostile and odd application JSON files, each built from a bundled example and paired
with its outcome under `creditbook evaluate --input FILE --json`.

Every case is generated when built (importing this module writes nothing). `expect` holds text the
output (stdout and stderr) must contain: for a refusal the JSON path or the file, and the gist of
the English message; for an acceptance something of the decision.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "applications"
MiB = 2**20
Raw = dict[str, Any]


@dataclass(frozen=True)
class JsonCase:
    name: str  # snake_case, unique
    build: Callable[[Path], Path]  # writes the case file into the folder, returns its path
    exit_code: int  # 0 evaluated, 2 refused with a located message
    expect: tuple[str, ...]
    about: str


def base() -> Raw:
    """The listed-company example: approved as it stands."""
    loaded: Raw = json.loads((EXAMPLES / "listed_company.json").read_text("utf-8"))
    return loaded


def text_of(raw: Any) -> str:
    return json.dumps(raw, ensure_ascii=False, indent=2)


def changed(change: Callable[[Raw], object]) -> Callable[[], bytes]:
    """The example with `change` applied to it (in place), as UTF-8 JSON."""

    def data() -> bytes:
        raw = base()
        change(raw)
        return text_of(raw).encode()

    return data


def literal(section: str, key: str, number: str) -> Callable[[], bytes]:
    """The example with `section.key` written as the bare JSON token `number`."""

    def data() -> bytes:
        raw = base()
        raw[section][key] = "@literal@"
        return text_of(raw).replace('"@literal@"', number).encode()

    return data


def case(
    name: str, data: Callable[[], bytes], exit_code: int, expect: tuple[str, ...], about: str
) -> JsonCase:
    def build(folder: Path) -> Path:
        path = folder / f"{name}.json"
        path.write_bytes(data())
        return path

    return JsonCase(name, build, exit_code, expect, about)


def lines(count: int) -> Callable[[], bytes]:
    """The example's three consumption lines repeated to `count` lines."""

    def data() -> bytes:
        raw = base()
        raw["consumption"] = [raw["consumption"][i % 3] for i in range(count)]
        return text_of(raw).encode()

    return data


def steps(count: int) -> Callable[[], bytes]:
    """A stop-loss playbook of `count` over-limit steps (escalating thresholds)."""
    step = {"trigger": "over_limit", "actions": ["notify"], "recovery": ["payment_received"]}
    return changed(
        lambda raw: raw.update(stop_loss=[{**step, "threshold": 1 + i} for i in range(count)])
    )


def duplicated_name() -> bytes:
    text = text_of(base())
    return text.replace(
        '"customer_name":', '"customer_name": "影子公司 Shadow Ltd",\n"customer_name":', 1
    ).encode()


def duplicated_model() -> bytes:
    text = text_of(base())
    return text.replace(
        '"model": "claude-sonnet-5.5"', '"model": "claude-sonnet-5.5", "model": "x"'
    ).encode()


def profile(key: str, value: Any) -> Callable[[], bytes]:
    return changed(lambda raw: raw["profile"].update({key: value}))


JSON_CASES: tuple[JsonCase, ...] = (
    case(
        "json_not_json",
        lambda: b"customer_name = Shanghai Xinghe\nrequested_limit = 800000\n",
        2,
        ("not valid JSON", ":1:1"),
        "a text file that is not JSON: refused with line and column",
    ),
    case("json_empty_file", lambda: b"", 2, ("not valid JSON",), "an empty file: refused"),
    case(
        "json_truncated",
        lambda: text_of(base()).encode()[:700],
        2,
        ("not valid JSON",),
        "the example cut off in the middle (a half-copied file): refused with line and column",
    ),
    case(
        "json_utf16",
        lambda: text_of(base()).encode("utf-16"),
        2,
        ("UTF-16", "save it as UTF-8"),
        "the example saved as UTF-16 with a byte-order mark: refused, asking for UTF-8",
    ),
    case(
        "json_utf16_without_bom",
        lambda: text_of(base()).encode("utf-16-le"),
        2,
        ("UTF-16", "save it as UTF-8"),
        "the example as UTF-16 without a byte-order mark (NUL bytes): refused, asking for UTF-8",
    ),
    case(
        "json_gb18030",
        lambda: text_of(base()).encode("gb18030"),
        2,
        ("not UTF-8 text",),
        "the example saved in the legacy Chinese encoding GB18030: refused, naming the byte",
    ),
    case(
        "json_utf8_bom",
        lambda: codecs.BOM_UTF8 + text_of(base()).encode(),
        0,
        ('"approved_limit"', "上海星河数据股份有限公司"),
        "the example with the UTF-8 byte-order mark Notepad writes: accepted",
    ),
    case(
        "json_top_level_array",
        lambda: text_of([base()]).encode(),
        2,
        ("must be a JSON object",),
        "the application wrapped in a list: refused, one error at $",
    ),
    case(
        "json_top_level_null",
        lambda: b"null",
        2,
        ("must be a JSON object",),
        "the literal null: refused, one error at $",
    ),
    case(
        "json_deeply_nested",
        lambda: b"[" * 100_000 + b"]" * 100_000,
        2,
        ("nested too deeply",),
        "100,000 nested arrays (a recursion bomb): refused without a stack overflow",
    ),
    case(
        "json_nested_950_deep_in_a_field",
        literal("profile", "sales_owner", "[" * 950 + "]" * 950),
        2,
        ("profile.sales_owner", "must be text"),
        "950 nested arrays as the sales owner (parseable, just): refused at its path",
    ),
    case(
        "json_integer_5000_digits",
        literal("profile", "requested_limit", "9" * 5000),
        2,
        ("profile.requested_limit", "unrealistically large"),
        "a 5000-digit requested limit (beyond Python's 4300-digit int limit): refused at its path",
    ),
    case(
        "json_nan",
        literal("profile", "requested_limit", "NaN"),
        2,
        ("profile.requested_limit", "must be a finite number"),
        "requested_limit written as the non-standard token NaN: refused at its path",
    ),
    case(
        "json_negative_infinity",
        literal("buffers", "deposit", "-Infinity"),
        2,
        ("buffers.deposit", "must be a finite number"),
        "a deposit of -Infinity: refused at its path",
    ),
    case(
        "json_exponent_999999",
        literal("buffers", "deposit", "1e999999"),
        2,
        ("buffers.deposit", "unrealistically large"),
        "a deposit of 1e999999 (a Decimal the engine would overflow on): refused at its path",
    ),
    case(
        "json_exponent_beyond_decimal",
        literal("buffers", "deposit", "1e99999999999999999999"),
        2,
        ("number out of range",),
        "an exponent even Decimal cannot hold: refused, naming the file",
    ),
    case(
        "json_count_exponent",
        literal("profile", "overdue_events_12m", "1e99999999"),
        2,
        ("profile.overdue_events_12m", "unrealistically large"),
        "a count of 1e99999999 (converting it to an int would take minutes): refused at once",
    ),
    case(
        "json_count_tiny_exponent",
        literal("profile", "max_days_overdue_12m", "1e-99999999"),
        2,
        ("profile.max_days_overdue_12m", "must be a whole number"),
        "a count of 1e-99999999 (pydantic's own int check would take minutes): refused at once",
    ),
    case(
        "json_duplicate_key",
        duplicated_name,
        2,
        ("profile.customer_name", "more than once"),
        "customer_name given twice in the profile (which one counts?): refused at its path",
    ),
    case(
        "json_duplicate_key_in_line",
        duplicated_model,
        2,
        ("consumption[1].model", "more than once"),
        "model given twice in the second consumption line: refused at its path",
    ),
    case(
        "json_wrong_types",
        changed(
            lambda raw: (
                raw["profile"].update(requested_limit="a lot"),
                raw.update(consumption={"openai": 9000}),
            )
        ),
        2,
        ("profile.requested_limit", "must be a number", "must be a list"),
        "text for the requested limit and an object for the consumption list: both refused",
    ),
    case(
        "json_unknown_field",
        changed(lambda raw: raw["profile"].update(requested_limt=900000)),
        2,
        ("profile.requested_limt", "unknown field"),
        "a misspelt field next to the real one: refused as a probable typo",
    ),
    case(
        "json_missing_required_field",
        changed(lambda raw: raw["profile"].pop("customer_name")),
        2,
        ("profile.customer_name", "required field is missing"),
        "no customer_name: refused at its path",
    ),
    case(
        "json_negative_money",
        changed(lambda raw: raw["buffers"].update(deposit=-50000)),
        2,
        ("buffers.deposit", "must be ≥ 0"),
        "a negative deposit: refused at its path",
    ),
    case(
        "json_huge_money",
        profile("requested_limit", 10**13),
        2,
        ("profile.requested_limit", "unrealistically large", "1,000,000,000,000"),
        "a requested limit of ten trillion: refused as unrealistically large, the bound stated",
    ),
    case(
        "json_control_character_in_name",
        profile("customer_name", "上海星河\u0007数据"),
        2,
        ("profile.customer_name", "U+0007"),
        "a BEL control character inside the customer name: refused, naming the character",
    ),
    case(
        "json_lone_surrogate_in_name",
        lambda: text_of(base()).replace("上海星河数据股份有限公司", "\\ud800").encode(),
        2,
        ("profile.customer_name", "lone surrogate"),
        'the escape "\\ud800" (half a UTF-16 pair) as the customer name: refused at its path',
    ),
    case(
        "json_noncharacter_in_model",
        changed(lambda raw: raw["consumption"][0].update(model="gpt\uffff")),
        2,
        ("consumption[0].model", "U+FFFF"),
        "U+FFFF (not allowed in XML, so in no workbook) in a model name: refused",
    ),
    case(
        "json_formula_in_name",
        profile("customer_name", '=HYPERLINK("http://x","y")'),
        0,
        ('"approved_limit"', "=HYPERLINK("),
        "a formula as the customer name: accepted as plain text, echoed in the decision",
    ),
    case(
        "json_dde_in_sales_owner",
        profile("sales_owner", "+cmd|' /C calc'!A0"),
        0,
        ('"approved_limit"',),
        "a DDE payload as the sales owner: accepted as plain text",
    ),
    case(
        "json_10000_lines",
        lines(10_000),
        0,
        ('"approved_limit"', '"lines"'),
        "10,000 consumption lines (the most allowed): evaluated",
    ),
    case(
        "json_10001_lines",
        lines(10_001),
        2,
        ("consumption", "too many items", "10,000"),
        "10,001 consumption lines: refused, the bound stated",
    ),
    case(
        "json_101_stop_loss_steps",
        steps(101),
        2,
        ("stop_loss", "too many items", "100"),
        "a stop-loss playbook of 101 steps: refused, the bound stated",
    ),
    case(
        "json_date_before_1900",
        profile("application_date", "1899-12-31"),
        2,
        ("profile.application_date", "2000-01-01"),
        "an application date in 1899: refused, the earliest date stated",
    ),
    case(
        "json_renewal_in_9999",
        profile("contract_renewal_date", "9999-12-31"),
        2,
        ("profile.contract_renewal_date", "more than 10 years"),
        "a contract renewal in 9999 (the review date would overflow): refused at its path",
    ),
    case(
        "json_8_mib_of_empty_objects",
        lambda: b"[" + b",".join([b"{}"] * (8 * MiB // 3 - 1)) + b"]",
        2,
        ("must be a JSON object",),
        "a list of 2.8 million empty objects, just under the 8 MiB cap: the most memory parsing "
        "can take; refused",
    ),
    case(
        "json_150000_values",
        changed(lambda raw: raw.update(consumption=[0] * 150_000)),
        2,
        ("more than 150,000 values",),
        "150,000 numbers as the consumption list: refused whole before validation",
    ),
    case(
        "json_140000_unknown_fields",
        changed(lambda raw: raw["profile"].update({f"x{n}": 0 for n in range(140_000)})),
        2,
        ("profile.x0", "unknown field", "139,000 more problems not listed"),
        "140,000 unknown fields in the profile: the first 1,000 listed, the rest counted",
    ),
    case(
        "json_20_mib",
        lambda: text_of(base()).encode() + b" " * (20 * MiB),
        2,
        ("larger than 8 MiB",),
        "a valid application padded with spaces to 20 MiB: refused by size (the cap is 8 MiB)",
    ),
)
