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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from creditbook.core.models import Application
from creditbook.core.records import error
from creditbook.workbook.file_io import InputError
from creditbook.workbook.flatten import path_steps

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


def _pattern(steps: Sequence[str | int]) -> str:
    """(consumption, 2, model) → `consumption[].model`."""
    return "".join("[]" if isinstance(step, int) else f".{step}" for step in steps).lstrip(".")


Convert = Callable[[Any], Any]


def _converter(accepted: frozenset[str]) -> Convert:
    """A table cell as the application JSON would hold it; None when the cell is empty."""
    integer = "integer" in accepted and "number" not in accepted
    integer_text = "integer" in accepted and "string" not in accepted
    boolean = "boolean" in accepted

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if boolean and value.casefold() in ("true", "false"):
                return value.casefold() == "true"
            if not integer_text:
                return value  # text, or a number the Decimal field parses exactly
            try:
                value = Decimal(value.replace(",", ""))
            except ArithmeticError:
                return value  # the validator names the field and the value
        elif isinstance(value, float):  # a Parquet float column: its shortest decimal form
            if value != value:
                return None
            value = Decimal(repr(value))
        elif isinstance(value, datetime):
            midnight = value.time() == datetime.min.time()
            return value.date().isoformat() if midnight else value.isoformat()
        elif isinstance(value, date):
            return value.isoformat()
        if integer and isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return value

    return convert


@dataclass(frozen=True)
class _Column:
    steps: tuple[str | int, ...]
    convert: Convert


def _columns(path: Path, names: Sequence[str]) -> list[_Column]:
    """Each column's place in the application and its conversion; a name that is no field
    path, or that clashes with another column, is refused for the whole file."""
    columns: list[_Column] = []
    kinds: dict[tuple[str | int, ...], bool] = {}

    def refuse(name: str, zh: str, en: str) -> NoReturn:
        raise InputError([error((f"{path}:1",), f"列 {name!r}：{zh}", f"column {name!r}: {en}")])

    leaves = {tuple(path_steps(name)): name for name in names}
    for name in names:
        steps = tuple(path_steps(name))
        written = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
        if not steps or isinstance(steps[0], int) or written.lstrip(".") != name:
            refuse(name, "不是申请字段的路径", "is not the path of an application field")
        for depth in range(1, len(steps)):
            parent, following = steps[:depth], steps[depth]
            if parent in leaves:
                other = leaves[parent]
                refuse(name, f"与列 {other!r} 重叠", f"overlaps column {other!r}")
            kind = isinstance(following, int)
            if kinds.setdefault(parent, kind) != kind:
                refuse(name, "混用了列表与字段", "mixes a list and a field")
        accepted = _leaf_types().get(_pattern(steps), frozenset())
        columns.append(_Column(steps, _converter(accepted)))
    return columns


def _listed(node: Any) -> Any:
    """Mappings keyed by list positions → lists in position order (empty positions closed up)."""
    if not isinstance(node, dict):
        return node
    values = {key: _listed(value) for key, value in node.items()}
    if values and all(isinstance(key, int) for key in values):
        return [values[key] for key in sorted(values)]
    return values


def _application(columns: Sequence[_Column], cells: Sequence[Any]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    for column, raw in zip(columns, cells, strict=True):
        value = column.convert(raw)
        if value is None:
            continue
        node = root
        for step in column.steps[:-1]:
            node = node.setdefault(step, {})
        node[column.steps[-1]] = value
    listed: dict[str, Any] = _listed(root)
    return listed


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, raw application) per row; the line as a spreadsheet numbers it (the header is
    line 1)."""
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(path)
    else:
        yield from _parquet_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            names = [name.strip() for name in next(reader, [])]
            columns = _columns(path, names)
            for cells in reader:
                if len(cells) > len(names):
                    where = f"{path}:{reader.line_num}"
                    zh, en = "字段多于表头", "more fields than the header"
                    raise InputError([error((where,), zh, en)])
                cells += [""] * (len(names) - len(cells))
                yield reader.line_num, _application(columns, cells)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError([error((str(path),), f"无法读取：{exc}", f"cannot read: {exc}")]) from None


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from creditbook.portfolio.register import PARQUET_EN, PARQUET_ZH

        raise InputError([error((str(path),), PARQUET_ZH, PARQUET_EN)]) from None
    try:
        source = pq.ParquetFile(path)
        columns = _columns(path, source.schema_arrow.names)
        line = 1
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            values = [batch.column(index).to_pylist() for index in range(batch.num_columns)]
            for cells in zip(*values, strict=True):
                line += 1
                yield line, _application(columns, cells)
    except (OSError, ValueError) as exc:  # pyarrow's errors are OSError and ValueError
        raise InputError([error((str(path),), f"无法读取：{exc}", f"cannot read: {exc}")]) from None
