"""The input sheets in Chinese, English or both, and the language a workbook remembers.

Workbooks are made by the real `creditbook new --lang` and read back with openpyxl, LibreOffice and
the in-memory xlwings; dropdown values picked in one language are evaluated in another.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from cli_run import ROOT, run_creditbook
from fake_xlwings import FakeBook
from lo import convert, needs_soffice
from openpyxl.workbook.workbook import Workbook
from openpyxl_reader import load, read_inputs

from creditbook.core.assess import parse_and_validate
from creditbook.core.models import Application
from creditbook.core.records import Lang
from creditbook.data import default_policy, default_prices, example_applications
from creditbook.excel import check_book, evaluate_book
from creditbook.workbook import xlwings_adapter
from creditbook.workbook.cells import SheetValues, sheet_values_of
from creditbook.workbook.evaluate import evaluate_workbook
from creditbook.workbook.layout import (
    CONF_SHEET,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    LANGUAGE_KEY,
    LANGUAGE_KEY_CELL,
    LANGUAGES,
    LISTS_SHEET,
    PROFILE,
    Field,
)
from creditbook.workbook.new import new_workbook
from creditbook.workbook.openpyxl_adapter import from_bytes, write_sheet_values
from creditbook.workbook.package_reader import read_file
from creditbook.workbook.xlsm.template import dropdown_options

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")  # not inside a code
# Latin words a Chinese sheet keeps: products and brands, the unit finance quotes prices in, and the
# example of a country code.
NAMES_KEPT = {"xlwings", "README", "SharePoint", "OneDrive", "OpenAI", "Anthropic", "token", "CH"}
SNAKE_ID = re.compile(r"\b[a-z]+_[a-z_]+\b")
FORMULA_TEXT = re.compile(r'"([^"]*)"')
EVALUATED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CUSTOMER_KEYS = {"customer_name", "credit_code", "sales_owner", "model"}  # the customer's own words


def _new(lang: str, out: Path, *extra: str | Path) -> Path:
    result = run_creditbook("new", "--lang", lang, "-o", out, *extra)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`creditbook new --lang X` for each language, blank and filled from an example."""
    folder = tmp_path_factory.mktemp("new")
    example = ROOT / "examples" / "applications" / "listed_company.json"
    made = {f"blank_{lang}": _new(lang, folder / f"blank_{lang}.xlsm") for lang in LANGUAGES}
    for lang in LANGUAGES:
        made[f"filled_{lang}"] = _new(lang, folder / f"filled_{lang}.xlsm", "--input", example)
    return made


def _customer_cells(wb: Workbook) -> set[tuple[str, str]]:
    """The cells that hold the customer's own words (names, codes, model names)."""
    cells = set()
    for sheet in INPUT_SHEETS:
        if sheet.form:
            for field in sheet.form.fields:
                if field.key in CUSTOMER_KEYS:
                    cells.add((sheet.name, sheet.form.cell(field)))
        for table in sheet.tables:
            for index, column in enumerate(table.columns):
                if column.key in CUSTOMER_KEYS:
                    last = max(wb[sheet.name].max_row, table.header_row + table.capacity)
                    for row in range(table.first_data_row, last + 1):
                        cells.add((sheet.name, f"{table.letter(index)}{row}"))
    return cells


def _shown_texts(wb: Workbook) -> Iterator[tuple[str, str]]:
    """(where, text) for every text a user reads on the input sheets: cell texts, the texts inside
    formulas (a live-check hint), validation prompts and messages, and the dropdown lists."""
    customer = _customer_cells(wb)
    for sheet in INPUT_SHEETS:
        ws = wb[sheet.name]
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or (sheet.name, cell.coordinate) in customer:
                    continue
                where = f"{sheet.name}!{cell.coordinate}"
                if cell.data_type == "f":
                    for quoted in FORMULA_TEXT.findall(cell.value):
                        yield where, quoted
                else:
                    yield where, cell.value
        for validation in ws.data_validations.dataValidation:
            for message in (
                validation.error,
                validation.errorTitle,
                validation.prompt,
                validation.promptTitle,
            ):
                if message:
                    yield f"{sheet.name} validation {validation.sqref}", message
    lists = wb[LISTS_SHEET]
    for column in lists.iter_cols(min_row=2):
        name = lists.cell(1, column[0].column).value
        if name == "list_model":  # model names, the price table's own
            continue
        for cell in column:
            if isinstance(cell.value, str):
                yield f"{LISTS_SHEET} {name}", cell.value


def _latin_words(value: str) -> set[str]:
    return set(LATIN_WORD.findall(value)) - NAMES_KEPT


@pytest.mark.parametrize("name", ["blank_zh", "filled_zh"])
def test_a_chinese_workbook_shows_no_english(made: dict[str, Path], name: str) -> None:
    wb = openpyxl.load_workbook(made[name])
    english = {(where, value) for where, value in _shown_texts(wb) if _latin_words(value)}
    assert not english, sorted(english)[:10]


@pytest.mark.parametrize("name", ["blank_en", "filled_en"])
def test_an_english_workbook_shows_no_chinese(made: dict[str, Path], name: str) -> None:
    wb = openpyxl.load_workbook(made[name])
    chinese = {(where, value) for where, value in _shown_texts(wb) if CJK.search(value)}
    assert not chinese, sorted(chinese)[:10]


def test_both_shows_both_and_no_workbook_shows_ids(made: dict[str, Path]) -> None:
    texts = [value for _, value in _shown_texts(openpyxl.load_workbook(made["filled_both"]))]
    assert "上市公司 Listed" in texts and "客户画像 Customer profile" in texts
    for lang in LANGUAGES:
        wb = openpyxl.load_workbook(made[f"filled_{lang}"])
        ids = {(where, value) for where, value in _shown_texts(wb) if SNAKE_ID.search(value)}
        assert not ids, (lang, sorted(ids)[:5])


def _list_values(wb: Workbook, name: str) -> list[str]:
    ref = wb.defined_names[name].attr_text
    sheet, cells = ref.split("!")
    return [row[0].value for row in wb[sheet][cells.replace("$", "")]]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_dropdown_lists_labels_in_the_workbooks_language(
    made: dict[str, Path], lang: Lang
) -> None:
    wb = openpyxl.load_workbook(made[f"blank_{lang}"])
    checked = set()
    for sheet in INPUT_SHEETS:
        validations = {
            str(validation.sqref): validation
            for validation in wb[sheet.name].data_validations.dataValidation
        }
        for field in sheet.fields():
            options = dropdown_options(field, lang, default_prices())
            if not options:
                continue
            listed = [v for v in validations.values() if v.formula1 == f"={field.list_name}"]
            assert listed, (sheet.name, field.key)
            assert _list_values(wb, field.list_name) == list(options)
            assert all(v.errorStyle == ("warning" if field.open_list else None) for v in listed)
            checked.add(field.key)
    assert {"entity_type", "country", "currency", "provider", "model", "trigger"} <= checked
    country = _list_values(wb, "list_country")[0]
    assert country == {"zh": "中国", "en": "China", "both": "中国 China"}[lang]
    models = _list_values(wb, "list_model")
    assert "deepseek-v4-pro" in models and len(models) == len(set(models))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_remembered_language_round_trips_through_both_readers(
    made: dict[str, Path], lang: Lang
) -> None:
    path = made[f"blank_{lang}"]
    conf = openpyxl.load_workbook(path)[CONF_SHEET]
    assert (conf[LANGUAGE_KEY_CELL].value, conf[LANGUAGE_CELL].value) == (LANGUAGE_KEY, lang)
    # outside xlwings' settings (A:B from A1 down), where finance adds Interpreter_Win and the like
    assert conf["A2"].value is None and LANGUAGE_KEY_CELL[0] not in "AB"
    assert read_file(path)[1].language == lang
    book = FakeBook(path)
    assert xlwings_adapter.read_inputs(book).language == lang
    # what the ribbon's language list does: write the cell; the next Evaluate reads it
    other = next(choice for choice in LANGUAGES if choice != lang)
    book.sheets[CONF_SHEET].range(LANGUAGE_CELL).value = other
    assert xlwings_adapter.read_inputs(book).language == other


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_evaluate_and_check_boxes_speak_the_workbooks_language(
    made: dict[str, Path], lang: Lang
) -> None:
    assert PROFILE.form is not None
    foreign = LATIN_WORD if lang == "zh" else CJK
    cell = PROFILE.form.cell("years_in_business")
    book = FakeBook(made[f"filled_{lang}"])
    check_book(book)
    evaluate_book(book, evaluated_at=EVALUATED_AT, evaluated_by="Wang Li")
    book.sheets[PROFILE.name].ws[cell] = "many"
    evaluate_book(book, evaluated_at=EVALUATED_AT, evaluated_by="Wang Li")
    check_book(book)
    prompts = [prompt for prompt, _, _ in book.app.alerts]
    where = f"{PROFILE.name}!{cell}"
    assert len(prompts) == 4 and where in prompts[2] and where in prompts[3]
    for prompt in prompts:
        shown = prompt.replace(where, "").replace("many", "").replace("OK", "")
        assert not foreign.search(shown), prompt


def test_a_workbook_from_before_the_language_cell_reads_none(made: dict[str, Path]) -> None:
    wb = load(made["blank_zh"])
    wb[CONF_SHEET][LANGUAGE_CELL] = None
    inputs = read_inputs(wb)
    assert inputs.language is None and not inputs.issues


def test_a_language_that_is_not_ours_is_a_warning_at_its_cell(
    made: dict[str, Path], tmp_path: Path
) -> None:
    wb = load(made["filled_en"])
    wb[CONF_SHEET][LANGUAGE_CELL] = "fr"
    path = tmp_path / "fr.xlsm"
    wb.save(path)
    result = evaluate_workbook(
        path, officials=[default_policy()], evaluated_by="Wang Li", evaluated_at=EVALUATED_AT
    )
    assert result.decision is not None
    warned = [issue for issue in result.issues if issue.location == f"{CONF_SHEET}!{LANGUAGE_CELL}"]
    assert len(warned) == 1 and "fr" in warned[0].message.en


# ------------------------------------------------- filled in one language, evaluated in another


def _applications() -> list[tuple[str, Application]]:
    apps = []
    for name, raw in example_applications():
        app, issues = parse_and_validate(raw, default_policy(), default_prices())
        assert app is not None, issues
        apps.append((name, app))
    return apps


def _each_choice(values: dict[str, SheetValues], app: Application, pick: Any) -> None:
    """Replace every dropdown cell's text by `pick(field, contract value, shown text)`."""
    dumped = app.model_dump()
    for sheet in INPUT_SHEETS:
        sheet_values = values[sheet.name]
        if sheet.form:
            block = dumped[sheet.form.block]
            sheet_values.form = [
                pick(field, block.get(field.key), shown) if field.kind == "choice" else shown
                for field, shown in zip(sheet.form.fields, sheet_values.form, strict=True)
            ]
        for table in sheet.tables:
            items: Any = dumped
            for part in table.block:
                items = items[part]
            sheet_values.tables[table.name] = [
                (
                    row,
                    [
                        pick(column, item.get(column.key), shown)
                        if column.kind == "choice"
                        else shown
                        for column, shown in zip(table.columns, cells, strict=True)
                    ],
                )
                for (row, cells), item in zip(sheet_values.tables[table.name], items, strict=True)
            ]


def _id(_: Field, value: Any, __: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


def _sloppy(_: Field, __: Any, shown: Any) -> Any:
    """As hurried typing leaves it: other case, spaces around."""
    return f"  {shown.upper()} " if isinstance(shown, str) else shown


# (template language, language the values are written in, how each dropdown cell is filled)
VARIANTS: dict[str, tuple[Lang, Lang, Any]] = {
    "zh workbook, ids": ("zh", "both", _id),
    "zh workbook, zh labels": ("zh", "zh", None),
    "zh workbook, English labels": ("zh", "en", None),
    "en workbook, Chinese labels": ("en", "zh", None),
    "en workbook, both labels": ("en", "both", None),
    "both workbook, sloppy English labels": ("both", "en", _sloppy),
}


def _filled(app: Application, template: Lang, values_lang: Lang, pick: Any, path: Path) -> Path:
    wb = from_bytes(new_workbook(None, lang=template))
    values = sheet_values_of(app, values_lang)
    if pick is not None:
        _each_choice(values, app, pick)
    write_sheet_values(wb, values)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(("name", "app"), _applications(), ids=lambda value: str(value)[:24])
def test_labels_in_any_language_evaluate_as_the_ids_do(
    name: str, app: Application, tmp_path: Path
) -> None:
    decisions: dict[str, Any] = {}
    for variant, (template, values_lang, pick) in VARIANTS.items():
        path = _filled(app, template, values_lang, pick, tmp_path / f"{len(decisions)}.xlsm")
        result = evaluate_workbook(
            path, officials=[default_policy()], evaluated_by="Wang Li", evaluated_at=EVALUATED_AT
        )
        assert result.decision is not None, (variant, [i.render() for i in result.issues])
        decisions[variant] = result.decision.model_dump(mode="json")
    reference = decisions.pop("zh workbook, ids")
    for variant, decision in decisions.items():
        assert decision == reference, (name, variant)


# ------------------------------------------------------------------------- as LibreOffice shows it


@needs_soffice
def test_libreoffice_shows_the_chinese_profile_and_keeps_the_language(
    made: dict[str, Path], tmp_path: Path
) -> None:
    """The zh Profile sheet printed by LibreOffice: its labels in Chinese, no English ones; a
    LibreOffice save keeps the remembered language."""
    pdf = convert(made["filled_zh"], "pdf", tmp_path)
    first_page = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert PROFILE.title.zh in first_page and "上市公司" in first_page and "中国" in first_page
    for field in PROFILE.fields():
        assert field.label.zh in first_page
        assert field.label.en not in first_page
    english = _latin_words(first_page) - {"Profile"}  # the sheet's tab name, in the page footer
    assert not english, sorted(english)
    saved = convert(made["filled_zh"], "xlsx", tmp_path)
    assert read_file(saved)[1].language == "zh"


# ------------------------------------------------------------------- an increase, in the workbook


def test_an_increase_request_goes_through_the_workbook(tmp_path: Path) -> None:
    """Current limit, the new materials (one tick row each) and the invoices paid are on the
    Profile sheet: JSON → `new --lang zh` → export gives the same application."""
    raw = dict(example_applications()[0][1])
    raw["profile"] = {
        **raw["profile"],
        "current_limit": 500000,
        "new_materials": ["bank_statements", "audited_financials"],
        "paid_invoices_12m": 9,
    }
    source = tmp_path / "increase.json"
    source.write_text(json.dumps(raw, default=str), "utf-8")
    made = _new("zh", tmp_path / "increase.xlsm", "--input", source)
    assert PROFILE.form is not None
    ws = openpyxl.load_workbook(made)[PROFILE.name]
    ticks = [field for field in PROFILE.form.fields if field.key == "new_materials"]
    assert [ws[f"{PROFILE.form.label_column}{PROFILE.form.row(f)}"].value for f in ticks] == [
        "新提交：经审计财务报表",
        "新提交：银行流水",
        "新提交：追加担保",
        "新提交：书面采购承诺",
    ]
    assert [ws[PROFILE.form.cell(field)].value for field in ticks] == ["✓", "✓", None, None]
    assert ws[PROFILE.form.cell("current_limit")].value == 500000
    exported = run_creditbook("export", made, "--json")
    assert exported.returncode == 0, exported.stderr
    profile = json.loads(exported.stdout)["profile"]
    assert profile["current_limit"] == 500000 and profile["paid_invoices_12m"] == 9
    assert profile["new_materials"] == ["audited_financials", "bank_statements"]
    with pytest.raises(KeyError, match="key of 4 rows"):
        PROFILE.form.cell("new_materials")
