"""Applications kept as a table (Parquet or CSV): one row per application, read exactly.

A book too large for one workbook per customer is kept as a table whose columns are the fields of
the application JSON, named by their path as `creditbook` flattens them (`profile.customer_name`,
`profile.requested_limit`, `consumption[0].model`, `buffers.deposit`, …); an empty cell leaves
the field out (its default applies). Amounts are read without binary floating point: CSV cells
are text, Parquet decimal and integer columns arrive as Python Decimal and int. A Parquet float
column is taken at its shortest decimal form (`0.1` as 0.1, as a CSV would have written it).
Each row is validated like an application JSON, so `register` and `simulate` read a row as they
would read the same application from a file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from creditbook.core.models import Application
from creditbook.core.records import Issue, error
from creditbook.workbook.file_io import InputError
from creditbook.workbook.flatten import unflatten

TABLE_SUFFIXES = (".parquet", ".csv")
BATCH_ROWS = 65_536  # Parquet rows converted to Python at a time


def is_table(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in TABLE_SUFFIXES


@cache
def _leaf_types() -> dict[str, frozenset[str]]:
    """The JSON types each field path of an application accepts (list positions written `[]`)."""
    schema = Application.model_json_schema()
    definitions = schema["$defs"]
    leaves: dict[str, frozenset[str]] = {}

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def types(node: dict[str, Any]) -> set[str]:
        node = resolve(node)
        found = {node["type"]} if isinstance(node.get("type"), str) else set()
        for option in node.get("anyOf", ()):
            found |= types(option)
        return found

    def walk(node: dict[str, Any], path: str) -> None:
        node = resolve(node)
        options = [resolve(option) for option in node.get("anyOf", ())] or [node]
        for option in options:
            if "properties" in option:
                for name, child in option["properties"].items():
                    walk(child, f"{path}.{name}" if path else name)
            elif option.get("type") == "array":
                walk(option["items"], f"{path}[]")
        leaves[path] = frozenset(types(node))

    walk(schema, "")
    return leaves


def _pattern(path: str) -> str:
    """`consumption[2].model` → `consumption[].model`."""
    out, inside = [], False
    for char in path:
        if char == "[":
            inside = True
            out.append("[]")
        elif char == "]":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)


def cell_value(path: str, value: Any) -> Any:
    """A table cell as the application JSON would hold it; None when the cell is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    accepted = _leaf_types().get(_pattern(path), frozenset())
    if isinstance(value, float):  # a Parquet float column: its shortest decimal form
        value = Decimal(repr(value)) if value == value else None
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        value = value.strip()
        if "boolean" in accepted and value.casefold() in ("true", "false"):
            return value.casefold() == "true"
        if "integer" in accepted and "string" not in accepted:
            try:
                number = Decimal(value.replace(",", ""))
            except ArithmeticError:
                return value  # the validator names the field and the value
            value = number
    if (
        isinstance(value, Decimal)
        and "integer" in accepted
        and "number" not in accepted
        and value == value.to_integral_value()
    ):
        return int(value)
    return value


def _row(path: Path, line: int, cells: dict[str, Any]) -> tuple[Any, list[Issue]]:
    pairs = []
    for name, raw in cells.items():
        value = cell_value(name, raw)
        if value is not None:
            pairs.append((name, value))
    try:
        return unflatten(pairs), []
    except ValueError as exc:
        return None, [error((f"{path}:{line}",), f"列名无效：{exc}", f"invalid column: {exc}")]


def read_rows(path: Path) -> Iterator[tuple[int, Any, list[Issue]]]:
    """(line, raw application or None, issues) per row; the line as a spreadsheet numbers it
    (the header is line 1)."""
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(path)
    else:
        yield from _parquet_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, Any, list[Issue]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            names = [name.strip() for name in reader.fieldnames or ()]
            reader.fieldnames = names
            for cells in reader:
                if None in cells:
                    raise InputError(
                        [
                            error(
                                (f"{path}:{reader.line_num}",),
                                "字段多于表头",
                                "more fields than the header",
                            )
                        ]
                    )
                yield (reader.line_num, *_row(path, reader.line_num, cells))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError([error((str(path),), f"无法读取：{exc}", f"cannot read: {exc}")]) from None


def _parquet_rows(path: Path) -> Iterator[tuple[int, Any, list[Issue]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from creditbook.portfolio.register import PARQUET_EN, PARQUET_ZH

        raise InputError([error((str(path),), PARQUET_ZH, PARQUET_EN)]) from None
    try:
        source = pq.ParquetFile(path)
        line = 1
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
            for index in range(batch.num_rows):
                line += 1
                cells = {name: values[index] for name, values in columns.items()}
                yield (line, *_row(path, line, cells))
    except (OSError, ValueError) as exc:  # pyarrow's errors are OSError and ValueError
        raise InputError([error((str(path),), f"无法读取：{exc}", f"cannot read: {exc}")]) from None
