"""Cell values as real sheets hold them → contract values, and located problems."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import SOUND_APPLICATION

from creditbook.core.models import Action, Application, EntityType
from creditbook.core.records import Lang, error, text
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import (
    CellProblem,
    SheetValues,
    assemble,
    from_cell,
    language_of,
    locate,
    sheet_values_of,
    to_cell,
)
from creditbook.workbook.decide import parse_cells
from creditbook.workbook.layout import (
    BUFFERS,
    CONF_SHEET,
    CONSUMPTION,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    PROFILE,
    STOP_LOSS,
    Field,
)

MONEY = Field("amount", text("金额", "Amount"), "money")
RATIO = Field("ratio", text("比例", "Ratio"), "ratio")
INTEGER = Field("count", text("次数", "Count"), "integer")
DATE = Field("day", text("日期", "Date"), "date")
TERMS = Field("terms", text("账期", "Terms"), "choice", choices=(0, 15, 30))
ENTITY = Field("entity_type", text("主体", "Entity"), "choice", choices=EntityType)
FLAG = Field("actions", text("通知", "Notify"), "flag", member=Action.NOTIFY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1200000, Decimal(1200000)),
        (0.1, Decimal("0.1")),
        ("1200000", Decimal(1200000)),
        ("¥1,200,000", Decimal(1200000)),
        ("￥1,200,000.50", Decimal("1200000.50")),
        ("1.2万", Decimal(12000)),
        ("3亿", Decimal(300000000)),
        ("１２３，４５６", Decimal(123456)),
        ("USD 2,500", Decimal(2500)),
        ("2500元", Decimal(2500)),
        ("(1,000)", Decimal(-1000)),
        (" 42 ", Decimal(42)),
    ],
)
def test_money_as_real_sheets_hold_it(raw: object, expected: Decimal) -> None:
    assert from_cell(MONEY, raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30%", Decimal("0.3")), (0.95, Decimal("0.95")), ("９５％", Decimal("0.95"))],
)
def test_percent_strings(raw: object, expected: Decimal) -> None:
    assert from_cell(RATIO, raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", ["#REF!", "#N/A", "#VALUE!", "#DIV/0!", "abc", "1.2.3", float("nan"), float("inf"), True]
)
def test_unusable_numbers_are_problems_never_zero(raw: object) -> None:
    with pytest.raises(CellProblem) as problem:
        from_cell(MONEY, raw)  # type: ignore[arg-type]
    assert problem.value.zh and problem.value.en and problem.value.zh != problem.value.en


def test_integers_must_be_whole() -> None:
    assert from_cell(INTEGER, "12") == 12
    assert from_cell(INTEGER, 12.0) == 12
    with pytest.raises(CellProblem, match="whole number"):
        from_cell(INTEGER, 12.5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (datetime(2026, 11, 20, 0, 0), date(2026, 11, 20)),
        (date(2026, 11, 20), date(2026, 11, 20)),
        (46346, date(2026, 11, 20)),
        ("2026-11-20", date(2026, 11, 20)),
        ("2026/11/20", date(2026, 11, 20)),
        ("2026年11月20日", date(2026, 11, 20)),
        (1, date(1900, 1, 1)),
    ],
)
def test_dates_as_serials_or_text(raw: object, expected: date) -> None:
    assert from_cell(DATE, raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["2026-02-30", "next week", 0, -5, 46346.5, 9999999])
def test_impossible_dates_are_problems(raw: object) -> None:
    with pytest.raises(CellProblem):
        from_cell(DATE, raw)  # type: ignore[arg-type]


def test_choices_accept_label_key_or_either_language() -> None:
    for raw in ("上市公司 Listed", "上市公司", "listed", "LISTED", "Listed"):
        assert from_cell(ENTITY, raw) == "listed"
    assert from_cell(TERMS, "30") == 30
    assert from_cell(TERMS, "30天") == 30
    with pytest.raises(
        CellProblem, match="pick one from the list: Listed; State-owned; Public sector"
    ) as problem:
        from_cell(ENTITY, "bank")
    assert "请从下拉列表中选择：上市公司、国有企业" in problem.value.zh
    with pytest.raises(CellProblem, match="one of 0, 15, 30"):
        from_cell(TERMS, 31)


@pytest.mark.parametrize(
    "raw",
    [
        "private_sme",
        "PRIVATE_SME",
        " private sme ",
        "中小民营企业",
        " 中小民营企业 ",
        "Private SME",
        "private-sme",
        "中小民营企业 Private SME",
        "中小民营企业  private   sme",
        "中小民营企业 / Private SME",
        "ＰＲＩＶＡＴＥ ＳＭＥ",  # full-width, as a Chinese input method types it
    ],
)
def test_a_choice_reads_from_its_id_or_any_languages_label(raw: str) -> None:
    entity = next(field for field in PROFILE.fields() if field.key == "entity_type")
    assert from_cell(entity, raw) == "private_sme"


COUNTRY = next(field for field in PROFILE.fields() if field.key == "country")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("CN", "CN"),
        ("中国", "CN"),
        ("China", "CN"),
        ("中国 China", "CN"),
        ("singapore", "SG"),
        ("新加坡", "SG"),
        ("ch", "CH"),  # a country the list does not name, by its code
        (" de ", "DE"),
    ],
)
def test_a_country_reads_from_its_code_or_name(raw: str, code: str) -> None:
    assert from_cell(COUNTRY, raw) == code


def test_an_unknown_country_lists_the_choices_in_plain_words() -> None:
    with pytest.raises(CellProblem) as problem:
        from_cell(COUNTRY, "Atlantis")
    assert problem.value.en.startswith("“Atlantis” is not one of the choices for Country")
    assert "China; Hong Kong, China; Macao, China" in problem.value.en
    assert "two-letter country code" in problem.value.en
    assert "中国、中国香港" in problem.value.zh and "两位国家代码" in problem.value.zh


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_every_dropdown_option_reads_back_as_its_value(lang: Lang) -> None:
    """What a user picks from any dropdown, in any language, is the value it shows."""
    for sheet in INPUT_SHEETS:
        for field in sheet.fields():
            if field.kind != "choice":
                continue
            assert field.choices is not None
            values = (
                list(field.choices)
                if not isinstance(field.choices, type)
                else [choice.value for choice in field.choices]
            )
            for value, option in zip(values, field.options_in(lang), strict=True):
                assert from_cell(field, option) == value, (field.key, option)
                assert to_cell(field, _enum_or(field, value), lang) in (option, value)


def _enum_or(field: Field, value: object) -> object:
    return field.choices(value) if isinstance(field.choices, type) else value  # type: ignore[call-arg]


def test_dropdown_options_are_one_language_each() -> None:
    entity = next(field for field in PROFILE.fields() if field.key == "entity_type")
    assert entity.options_in("zh")[0] == "上市公司"
    assert entity.options_in("en")[0] == "Listed"
    assert entity.options_in("both")[0] == "上市公司 Listed"
    assert COUNTRY.options_in("zh")[0] == "中国" and COUNTRY.options_in("en")[0] == "China"


@pytest.mark.parametrize(
    ("raw", "lang", "warned"),
    [
        (None, None, False),
        ("", None, False),
        ("zh", "zh", False),
        (" EN ", "en", False),
        ("both", "both", False),
        ("fr", None, True),
    ],
)
def test_the_remembered_language_reads_from_its_cell(
    raw: str | None, lang: str | None, warned: bool
) -> None:
    read, issues = language_of(raw)
    assert read == lang
    assert [issue.location for issue in issues] == (
        [f"{CONF_SHEET}!{LANGUAGE_CELL}"] if warned else []
    )


def test_flags() -> None:
    assert from_cell(FLAG, "✓") is True
    assert from_cell(FLAG, "x") is True
    assert from_cell(FLAG, None) is False
    with pytest.raises(CellProblem):
        from_cell(FLAG, "maybe")


def test_to_cell_shows_dropdown_text_and_ticks() -> None:
    assert to_cell(ENTITY, EntityType.LISTED) == "上市公司 Listed"
    assert to_cell(FLAG, True) == "✓"
    assert to_cell(FLAG, False) is None
    assert to_cell(MONEY, Decimal("1200000.00")) == 1200000


def _empty_values() -> dict[str, SheetValues]:
    """Every input blank but the currency (required in the sheet, defaulted in the contract)."""
    values = {
        sheet.name: SheetValues(
            form=[None] * len(sheet.form.fields) if sheet.form else [],
            tables={table.name: [] for table in sheet.tables},
        )
        for sheet in INPUT_SHEETS
    }
    assert PROFILE.form is not None
    keys = [field.key for field in PROFILE.form.fields]
    values[PROFILE.name].form[keys.index("currency")] = "CNY"
    return values


def test_blank_rows_inside_a_table_are_skipped_and_rows_keep_their_cells() -> None:
    values = _empty_values()
    table = CONSUMPTION.tables[0]
    width = len(table.columns)
    line = ["OpenAI", "gpt-6.1-sol", 100, None, 10, None, 1.2, None, None, None]
    values[CONSUMPTION.name].tables[table.name] = [
        (6, line),
        (7, [None] * width),
        (8, ["深度求索", "deepseek-flash", "#REF!", None, 1, None, 1, None, None, 16]),
    ]
    assembled = assemble(values)
    assert [item["provider"] for item in assembled.raw["consumption"]] == ["openai", "deepseek"]
    assert assembled.cells[("consumption", 1)] == "Consumption!B8"
    [problem] = assembled.issues
    assert problem.location == "Consumption!D8"
    assert problem.path == ("consumption", 1, "input_mtok_month")


def test_stop_loss_ticks_become_action_lists() -> None:
    values = _empty_values()
    table = STOP_LOSS.tables[0]
    row: list[object] = ["逾期 Overdue", 15] + [None] * (len(table.columns) - 2)
    keys = [(column.key, column.member) for column in table.columns]
    row[keys.index(("actions", Action.PAUSE_NEW_QUOTA))] = "✓"
    row[keys.index(("actions", Action.NOTIFY))] = "✓"
    values[STOP_LOSS.name].tables[table.name] = [(6, row)]  # type: ignore[list-item]
    step = assemble(values).raw["stop_loss"][0]
    assert step == {
        "trigger": "overdue",
        "threshold": Decimal(15),
        "actions": ["notify", "pause_new_quota"],
        "recovery": [],
    }


def test_a_missing_sheet_is_a_located_problem() -> None:
    values = _empty_values()
    del values[BUFFERS.name]
    issues = assemble(values).issues
    assert [issue.location for issue in issues] == ["Buffers"]


def test_locate_uses_the_nearest_enclosing_cell() -> None:
    values = _empty_values()
    assembled = assemble(values)
    located = locate(
        [
            error(("profile", "credit_code"), "x", "x"),
            error(("consumption",), "y", "y"),
            error(("stop_loss", 3), "z", "z"),
        ],
        assembled.cells,
    )
    assert PROFILE.form is not None
    assert [issue.location for issue in located] == [
        f"Profile!{PROFILE.form.cell('credit_code')}",
        f"Consumption!B{CONSUMPTION.tables[0].header_row}",
        f"StopLoss!B{STOP_LOSS.tables[0].header_row}",
    ]


def test_a_blank_required_cell_with_a_contract_default_is_still_required() -> None:
    """The sheet marks the currency required (*): a blank one must not quietly become CNY."""
    values = sheet_values_of(Application.model_validate(SOUND_APPLICATION))
    assert PROFILE.form is not None
    keys = [field.key for field in PROFILE.form.fields]
    values[PROFILE.name].form[keys.index("currency")] = None
    assembled = assemble(values)
    assert [(i.location, i.message.en) for i in assembled.issues] == [
        (f"{PROFILE.name}!{PROFILE.form.cell('currency')}", "required field is missing")
    ]


def test_a_stated_spend_far_from_its_tokens_is_warned_at_its_cell() -> None:
    understated = {
        "provider": "deepseek",
        "model": "deepseek-v4-pro",
        "input_mtok_month": 20000,
        "output_mtok_month": 3850,
        "monthly_spend": 30000,
    }
    raw = {**SOUND_APPLICATION, "consumption": [*SOUND_APPLICATION["consumption"], understated]}
    values = sheet_values_of(Application.model_validate(raw))
    app, issues = parse_cells(assemble(values), default_policy(), default_prices())
    assert app is not None
    table = CONSUMPTION.tables[0]
    column = table.letter([field.key for field in table.columns].index("monthly_spend"))
    assert [(issue.path, issue.cell) for issue in issues] == [
        (("consumption", 1, "monthly_spend"), f"Consumption!{column}{table.first_data_row + 1}")
    ]
    assert "¥283,950" in issues[0].message.zh
