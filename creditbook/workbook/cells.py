"""Cell values ↔ contract values, through the layout. Pure: adapters pass plain cell values in.

Reading tolerates what real sheets contain — numbers stored as text, `¥1,200,000`, `1.2万`, `30%`,
full-width digits, dates as serials or text, blank rows inside tables, cell errors — and turns
anything unusable into a located Issue, never a crash and never a silent zero. A number is read
with Excel's 15 significant digits, so every client's save of a cell reads the same.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from creditbook.core.labels import LABELS, display, shown
from creditbook.core.models import Application
from creditbook.core.records import Issue, Lang, Path, Text, error, text, warning
from creditbook.core.validation import MISSING
from creditbook.workbook.layout import (
    CONF_SHEET,
    FLAG_MARK,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    LANGUAGES,
    Field,
    InputSheet,
    Table,
)

CellValue = str | int | float | Decimal | bool | date | datetime | None
EXCEL_ERRORS = (
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#SPILL!",
    "#CALC!",
    "#GETTING_DATA",
)
EXCEL_EPOCH = date(1899, 12, 30)
TRUE_MARKS = {FLAG_MARK, "✔", "√", "x", "y", "yes", "true", "1", "是", "对"}
FALSE_MARKS = {"", "n", "no", "false", "0", "否"}
# Digits before the point: Excel keeps 15 significant digits, the contract's largest bound is 10^12;
# a text such as 1e999999 would otherwise take minutes to become an integer.
MAX_MAGNITUDE = 15
MULTIPLIERS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}
CURRENCY_MARKS = re.compile(r"^(CNY|RMB|USD|US\$|[¥￥$])|(元|CNY|RMB|USD)$", re.IGNORECASE)
DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
# Left out when a picked or typed choice is compared: spaces, and the marks that join the two
# languages or the words of an id (`上市公司 / Listed`, `private_sme`, `Deposit-backed`).
CHOICE_NOISE = re.compile(r"[\s_\-/·]+")
COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")


class CellProblem(ValueError):
    """A cell value that cannot become the field's contract value; the message is (中文, English)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


# ------------------------------------------------------------- one value


def excel_float(value: float) -> float:
    """A float at Excel's precision, 15 significant digits: what Excel shows and LibreOffice
    saves. The 16th and 17th digits of a computed value are binary noise (800000 * 1.1 =
    880000.0000000001, 11 / 12 = 0.9166666666666666) that a LibreOffice save drops."""
    return float(f"{value:.15g}")


def _number(raw: CellValue) -> Decimal:
    if isinstance(raw, bool):
        raise CellProblem("应为数字，不是是/否", "must be a number, not true/false")
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise CellProblem("必须是有限数字", "must be a finite number")
        return Decimal(repr(excel_float(raw)))
    if isinstance(raw, date | datetime):
        raise CellProblem("应为数字，不是日期", "must be a number, not a date")
    return _number_text(str(raw))


def _number_text(value: str) -> Decimal:
    plain = unicodedata.normalize("NFKC", value).strip().replace(",", "").replace(" ", "")
    plain = CURRENCY_MARKS.sub("", plain).strip()
    negative = plain.startswith("(") and plain.endswith(")")
    plain = plain.strip("()")
    scale = Decimal(1)
    if plain.endswith("%"):
        plain, scale = plain[:-1], Decimal("0.01")
    elif plain[-1:] in MULTIPLIERS:
        plain, scale = plain[:-1], MULTIPLIERS[plain[-1]]
    try:
        number = Decimal(plain)
    except InvalidOperation:
        raise CellProblem(f"不是数字：{value!r}", f"not a number: {value!r}") from None
    if not number.is_finite():
        raise CellProblem("必须是有限数字", "must be a finite number")
    if number.adjusted() > MAX_MAGNITUDE:  # before scaling: 1e9999999 × 万 overflows Decimal
        shown = value if len(value) <= 40 else f"{value[:37]}..."
        raise CellProblem(f"数字过大：{shown!r}", f"unrealistically large: {shown!r}")
    return -number * scale if negative else number * scale


def _integer(raw: CellValue) -> int:
    number = _number(raw)
    if number != number.to_integral_value():
        raise CellProblem(f"必须是整数，收到 {number}", f"must be a whole number, got {number}")
    return int(number)


def _date(raw: CellValue) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not 1 <= raw < 2958466 or raw != int(raw):
            raise CellProblem(f"不是有效的日期序号：{raw}", f"not a valid date serial: {raw}")
        serial = int(raw)
        return EXCEL_EPOCH + timedelta(days=serial + (1 if serial < 61 else 0))
    match = DATE_TEXT.match(unicodedata.normalize("NFKC", str(raw)).strip())
    try:
        if match is None:
            raise ValueError
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise CellProblem(
            f"不是有效日期（YYYY-MM-DD）：{raw!r}", f"not a real date (YYYY-MM-DD): {raw!r}"
        ) from None


def _comparable(value: str) -> str:
    return CHOICE_NOISE.sub("", unicodedata.normalize("NFKC", value)).casefold()


def _names(value: str, name: Text) -> set[str]:
    """Every text that picks a choice: its id, each language's label, and both together."""
    both = (value, name.zh, name.en, shown(name), name.render("both"))
    return {_comparable(text_) for text_ in both}


def _not_in_list(
    field: Field, raw: CellValue, labels: Sequence[Text], other: Text | None
) -> CellProblem:
    zh = "、".join(name.zh for name in labels) + (f"，{other.zh}" if other else "")
    en = "; ".join(name.en for name in labels) + (f"; {other.en}" if other else "")
    return CellProblem(
        f"“{raw}”不是可选的{field.label.zh}，请从下拉列表中选择：{zh}",
        f"“{raw}” is not one of the choices for {field.label.en}; pick one from the list: {en}",
    )


def _choice(field: Field, raw: CellValue) -> str | int:
    """A dropdown's value from its id, or its label in Chinese, English or both (spaces and case
    aside): a workbook filled in one language reads the same in another."""
    if isinstance(field.choices, tuple):
        value = _integer(
            str(raw).replace("天", "").replace("days", "") if isinstance(raw, str) else raw
        )
        if value not in field.choices:
            allowed = ", ".join(map(str, field.choices))
            raise CellProblem(f"应为 {allowed} 之一", f"must be one of {allowed}")
        return value
    assert field.choices is not None
    wanted = _comparable(str(raw))
    if isinstance(field.choices, Mapping):  # codes with labels: countries
        for code, name in field.choices.items():
            if wanted in _names(code, name):
                return code
        typed = unicodedata.normalize("NFKC", str(raw)).strip()
        if field.open_list and COUNTRY_CODE.match(typed):
            return typed.upper()
        other = text("或填两位国家代码（如 CH）", "or a two-letter country code (e.g. CH)")
        raise _not_in_list(field, raw, list(field.choices.values()), other)
    for choice in field.choices:
        if wanted in _names(choice.value, LABELS[choice]):
            return choice.value
    raise _not_in_list(field, raw, [LABELS[choice] for choice in field.choices], None)


def _flag(raw: CellValue) -> bool:
    mark = unicodedata.normalize("NFKC", str(raw)).strip().casefold() if raw is not None else ""
    if raw is True or mark in TRUE_MARKS:
        return True
    if raw is False or mark in FALSE_MARKS:
        return False
    raise CellProblem(
        f"勾选请用 {FLAG_MARK} 或留空，收到 {raw!r}",
        f"tick with {FLAG_MARK} or leave empty, got {raw!r}",
    )


def _text(raw: CellValue) -> str:
    if isinstance(raw, float) and raw == int(raw):
        return str(int(raw))
    if isinstance(raw, datetime | date):
        return raw.isoformat()[:10]
    return unicodedata.normalize("NFC", str(raw)).strip()


def is_blank(raw: CellValue) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def from_cell(field: Field, raw: CellValue) -> Any:
    """The contract value of one cell; None for a blank cell; CellProblem when unusable."""
    if isinstance(raw, str) and raw.strip().upper() in EXCEL_ERRORS:
        raise CellProblem(
            f"单元格是错误值 {raw.strip()}，请修正公式或重新填写",
            f"the cell holds the error {raw.strip()}; fix the formula or retype it",
        )
    if field.kind == "flag":
        return _flag(raw)
    if is_blank(raw):
        return None
    if field.kind in ("number", "money", "ratio", "mtok"):
        return _number(raw)
    if field.kind == "integer":
        return _integer(raw)
    if field.kind == "date":
        return _date(raw)
    if field.kind == "choice":
        return _choice(field, raw)
    return _text(raw)


def to_cell(field: Field, value: Any, lang: Lang = "both") -> CellValue:
    """The cell value that shows a contract value (dropdown text for choices, ✓ for flags)."""
    if value is None:
        return None
    if field.kind == "flag":
        return FLAG_MARK if value else None
    if field.kind == "choice" and isinstance(value, StrEnum):
        return display(value, lang)
    if field.kind == "choice" and isinstance(field.choices, Mapping) and value in field.choices:
        return shown(field.choices[value], lang)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value  # type: ignore[no-any-return]


# ----------------------------------------------------------- whole sheets


@dataclass
class SheetValues:
    """Plain values read from one input sheet: form inputs in field order, table rows with row numbers."""

    form: list[CellValue] = field(default_factory=list)
    tables: dict[str, list[tuple[int, list[CellValue]]]] = field(default_factory=dict)


@dataclass
class Assembled:
    """The raw application (contract JSON shape), where each value came from, and cell problems."""

    raw: dict[str, Any]
    cells: dict[Path, str]
    issues: list[Issue]


def _set(target: dict[str, Any], path: Sequence[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _read_field(field: Field, raw: CellValue, path: Path, cell: str, out: Assembled) -> Any:
    out.cells[path] = cell
    try:
        return from_cell(field, raw)
    except CellProblem as problem:
        out.issues.append(error(path, problem.zh, problem.en).at(cell))
        return None


def _has_default(block: str, field: Field) -> bool:
    """Whether the contract fills the field in when its cell is blank."""
    model = Application.model_fields[block].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return not model.model_fields[field.key].is_required()


def _read_table(
    sheet: InputSheet, table: Table, rows: Iterable[tuple[int, list[CellValue]]], out: Assembled
) -> None:
    items: list[dict[str, Any]] = []
    out.cells[table.block] = f"{sheet.name}!{table.letter(0)}{table.header_row}"
    for row_number, values in rows:
        if all(is_blank(value) for value in values):
            continue
        index = len(items)
        out.cells[(*table.block, index)] = f"{sheet.name}!{table.letter(0)}{row_number}"
        item: dict[str, Any] = {}
        for position, (column, raw) in enumerate(zip(table.columns, values, strict=True)):
            cell = f"{sheet.name}!{table.letter(position)}{row_number}"
            value = _read_field(column, raw, (*table.block, index, column.key), cell, out)
            if column.member is not None:
                item.setdefault(column.key, [])
                if value:
                    item[column.key].append(column.member.value)
            elif value is not None:
                item[column.key] = value
        items.append(item)
    _set(out.raw, [str(part) for part in table.block], items)


def assemble(values: Mapping[str, SheetValues]) -> Assembled:
    """Sheet values (by sheet name) → raw application, cell map and cell problems."""
    out = Assembled(raw={}, cells={}, issues=[])
    if not any(sheet.name in values for sheet in INPUT_SHEETS):
        names = "、".join(sheet.name for sheet in INPUT_SHEETS)
        out.issues.append(
            error(
                ("workbook",),
                f"这不是授信审批工作簿（没有 {names} 工作表）；用 creditbook new 新建一份",
                f"not a credit review workbook (it has none of the sheets {names.replace('、', ', ')}); "
                "make one with creditbook new",
            )
        )
        return out
    for sheet in INPUT_SHEETS:
        sheet_values = values.get(sheet.name)
        if sheet_values is None:
            block = sheet.form.block if sheet.form else sheet.tables[0].block[0]
            missing = error(
                (block,), f"缺少工作表 {sheet.name}", f"the sheet {sheet.name} is missing"
            )
            out.issues.append(missing.at(sheet.name))
            continue
        if sheet.form:
            block = out.raw.setdefault(sheet.form.block, {})
            out.cells[(sheet.form.block,)] = f"{sheet.name}!{sheet.form.cell(sheet.form.fields[0])}"
            for row, (field_, raw) in enumerate(
                zip(sheet.form.fields, sheet_values.form, strict=True), start=sheet.form.first_row
            ):
                path = (sheet.form.block, field_.key)
                cell = f"{sheet.name}!{sheet.form.input_column}{row}"
                if field_.member is not None:  # one tick row of a list of values
                    out.cells.setdefault(path, cell)
                    ticked = _read_field(field_, raw, (*path, field_.member.value), cell, out)
                    block.setdefault(field_.key, [])
                    if ticked:
                        block[field_.key].append(field_.member.value)
                    continue
                value = _read_field(field_, raw, path, cell, out)
                if value is not None:
                    block[field_.key] = value
                elif field_.required and is_blank(raw) and _has_default(sheet.form.block, field_):
                    # marked required (*) in the sheet, though the contract has a default: a blank
                    # currency must not quietly become CNY
                    out.issues.append(error(path, *MISSING).at(cell))
        for table in sheet.tables:
            _read_table(sheet, table, sheet_values.tables.get(table.name, []), out)
    return out


def locate(issues: Iterable[Issue], cells: Mapping[Path, str]) -> list[Issue]:
    """Give each issue the cell of its path, or of the nearest enclosing row or block."""
    located = []
    for issue in issues:
        path = issue.path
        while path and path not in cells:
            path = path[:-1]
        located.append(issue.at(cells[path]) if path and issue.cell is None else issue)
    return located


def table_values(
    table: Table, items: Sequence[Mapping[str, Any]], lang: Lang = "both"
) -> list[tuple[int, list[CellValue]]]:
    """Rows of cell values (with their row numbers) that show a list of contract items."""
    return [
        (
            table.first_data_row + index,
            [_table_cell(column, item, lang) for column in table.columns],
        )
        for index, item in enumerate(items)
    ]


def sheet_values_of(app: Application, lang: Lang = "both") -> dict[str, SheetValues]:
    """The cell values that show an application in a language, by sheet."""
    dumped = app.model_dump()
    result = {}
    for sheet in INPUT_SHEETS:
        values = SheetValues()
        if sheet.form:
            block = dumped[sheet.form.block]
            values.form = [_table_cell(field_, block, lang) for field_ in sheet.form.fields]
        for table in sheet.tables:
            items: Any = dumped
            for part in table.block:
                items = items[part]
            values.tables[table.name] = table_values(table, items, lang)
        result[sheet.name] = values
    return result


def _table_cell(column: Field, item: Mapping[str, Any], lang: Lang) -> CellValue:
    if column.member is not None:
        return to_cell(column, column.member in item.get(column.key, ()))
    return to_cell(column, item.get(column.key), lang)


def language_of(raw: CellValue) -> tuple[Lang | None, list[Issue]]:
    """The language a workbook remembers (its config cell); blank in a workbook made before it
    remembered one. Another value is set aside with a warning, and both languages are used."""
    if is_blank(raw):
        return None, []
    wanted = unicodedata.normalize("NFKC", str(raw)).strip().casefold()
    for lang in LANGUAGES:
        if wanted == lang:
            return lang, []
    where = f"{CONF_SHEET}!{LANGUAGE_CELL}"
    problem = warning(
        (CONF_SHEET, LANGUAGE_CELL),
        f"工作簿记住的语言“{raw}”不是 zh、en 或 both，按中英对照输出；可在功能区“语言”中重新选择",
        f"the language the workbook remembers, “{raw}”, is not zh, en or both; both languages are "
        "used. Choose it again under Language on the ribbon",
    )
    return None, [problem.at(where)]
