"""Our SpreadsheetML helpers answer as openpyxl's functions of the same purpose (the package reader
must read a workbook as openpyxl does), over many generated references, serials and format codes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles.numbers import BUILTIN_FORMATS as OPENPYXL_FORMATS
from openpyxl.styles.numbers import is_date_format as openpyxl_is_date
from openpyxl.styles.numbers import is_timedelta_format as openpyxl_is_duration
from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_from_string,
    coordinate_to_tuple,
    get_column_letter,
    range_boundaries,
)
from openpyxl.utils.datetime import from_excel, from_ISO8601, to_excel

from creditbook.workbook.xlsm import sheetml
from creditbook.workbook.xlsm.sheetml import MAC_EPOCH, WINDOWS_EPOCH

EPOCHS = st.sampled_from([WINDOWS_EPOCH, MAC_EPOCH])
COLUMNS = st.integers(1, 18278)
ROWS = st.integers(1, 1_048_576)
LETTERS = st.text(st.sampled_from("AbZz$1:"), max_size=5)


@given(COLUMNS)
def test_column_letters_to_numbers(column: int) -> None:
    letters = get_column_letter(column)
    assert sheetml.column_index(letters) == column_index_from_string(letters) == column
    assert sheetml.column_index(letters.lower()) == column


@pytest.mark.parametrize("bad", ["", "AAAA", "A1", "$A", "É", "1"])
def test_what_is_no_column_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        sheetml.column_index(bad)
    with pytest.raises(ValueError):
        column_index_from_string(bad)


@given(COLUMNS, ROWS, st.booleans(), st.booleans())
def test_cell_references(column: int, row: int, dollar_column: bool, dollar_row: bool) -> None:
    plain = f"{get_column_letter(column)}{row}"
    assert sheetml.cell_position(plain) == coordinate_to_tuple(plain) == (row, column)
    absolute = f"{'$' * dollar_column}{get_column_letter(column)}{'$' * dollar_row}{row}"
    assert sheetml.cell_position(absolute)[0] == coordinate_from_string(absolute)[1] == row


@pytest.mark.parametrize("bad", ["", "A", "1", "A0", "A1:B2", "A-1", "ZZZZ1"])
def test_what_is_no_cell_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        sheetml.cell_position(bad)


def _same_bounds(reference: str) -> None:
    try:
        expected = range_boundaries(reference)
    except ValueError:
        with pytest.raises(ValueError):
            sheetml.range_bounds(reference)
        return
    assert sheetml.range_bounds(reference) == expected


@given(COLUMNS, ROWS, COLUMNS, ROWS, st.integers(0, 3))
def test_range_bounds(left: int, top: int, right: int, bottom: int, shape: int) -> None:
    a, b = get_column_letter(left), get_column_letter(right)
    reference = [f"{a}{top}:{b}{bottom}", f"{a}{top}", f"{a}:{b}", f"{top}:{bottom}"][shape]
    _same_bounds(reference)
    _same_bounds("$" + reference.replace(":", ":$"))


@given(LETTERS)
@settings(max_examples=500)
def test_range_bounds_of_any_text(reference: str) -> None:
    _same_bounds(reference)


# --------------------------------------------------------------------------- date serials

SERIALS = st.one_of(
    st.floats(0, 2_958_465, allow_nan=False),  # up to 9999-12-31
    st.integers(0, 2_958_465),
    st.floats(0, 1, allow_nan=False),
    st.floats(58, 62, allow_nan=False),  # about the 1900 system's phantom 29 February
)


@given(SERIALS, EPOCHS)
@settings(max_examples=2000)
def test_serials_to_dates(serial: float, epoch: datetime) -> None:
    try:
        expected = from_excel(serial, epoch)
    except (OverflowError, ValueError) as fault:
        with pytest.raises(type(fault)):
            sheetml.from_serial(serial, epoch)
        return
    assert sheetml.from_serial(serial, epoch) == expected
    assert type(sheetml.from_serial(serial, epoch)) is type(expected)


@given(st.floats(0, 100_000, allow_nan=False), EPOCHS)
@settings(max_examples=1000)
def test_serials_to_durations(serial: float, epoch: datetime) -> None:
    assert sheetml.from_serial(serial, epoch, duration=True) == from_excel(
        serial, epoch, timedelta=True
    )


def test_the_1900_systems_leap_year_bug() -> None:
    serial = sheetml.from_serial
    assert serial(1, WINDOWS_EPOCH) == datetime(1900, 1, 1)
    assert serial(59, WINDOWS_EPOCH) == datetime(1900, 2, 28)
    assert serial(60, WINDOWS_EPOCH) == datetime(1900, 2, 28)  # Excel's 29 February 1900
    assert serial(61, WINDOWS_EPOCH) == datetime(1900, 3, 1)
    assert serial(0, MAC_EPOCH) == time(0)
    assert serial(1, MAC_EPOCH) == datetime(1904, 1, 2)
    assert sheetml.to_serial(date(1900, 3, 1), WINDOWS_EPOCH) == 61
    assert sheetml.to_serial(date(1900, 2, 28), WINDOWS_EPOCH) == 59
    assert sheetml.to_serial(date(2024, 1, 1), WINDOWS_EPOCH) == 45292
    assert sheetml.to_serial(date(2024, 1, 1), MAC_EPOCH) == 45292 - 1462


MOMENTS = st.one_of(
    st.dates(date(1900, 1, 1), date(9999, 12, 31)),
    st.datetimes(datetime(1900, 1, 1), datetime(9999, 12, 31)),
    st.times(),
    st.timedeltas(timedelta(0), timedelta(days=10_000)),
)


@given(MOMENTS, EPOCHS)
@settings(max_examples=2000)
def test_dates_to_serials(moment: date | datetime | time | timedelta, epoch: datetime) -> None:
    assert sheetml.to_serial(moment, epoch) == to_excel(moment, epoch)


@given(st.datetimes(datetime(1900, 3, 1), datetime(9999, 12, 31)), EPOCHS)
def test_a_whole_day_comes_back(moment: datetime, epoch: datetime) -> None:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    assert sheetml.from_serial(sheetml.to_serial(day, epoch), epoch) == day


ISO = st.one_of(
    st.dates().map(date.isoformat),
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds")),
    st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.times().map(lambda t: t.isoformat(timespec="seconds")),
    st.times().map(lambda t: t.isoformat(timespec="minutes")),
    st.builds(
        lambda h, m, s: f"PT{h}H{m}M{s}S",
        st.integers(0, 999),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
    st.just("PT1.5S"),
    st.just("PT12M"),
)


@given(ISO)
@settings(max_examples=500)
def test_iso_dates(text: str) -> None:
    assert sheetml.from_iso(text) == from_ISO8601(text)


@pytest.mark.parametrize("bad", ["yesterday", "P1D"])
def test_what_is_no_iso_date_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        sheetml.from_iso(bad)
    with pytest.raises(ValueError):
        from_ISO8601(bad)


# --------------------------------------------------------------------------- number formats


def test_the_builtin_formats_are_openpyxls() -> None:
    """The same ids and codes, but for 44 where openpyxl lost the section separators; it is not a
    date format either way."""
    assert set(sheetml.BUILTIN_FORMATS) == set(OPENPYXL_FORMATS)
    for number, code in sheetml.BUILTIN_FORMATS.items():
        assert code == OPENPYXL_FORMATS[number] or number == 44
        assert sheetml.is_date_format(code) == openpyxl_is_date(OPENPYXL_FORMATS[number])
        assert sheetml.is_duration_format(code) == openpyxl_is_duration(OPENPYXL_FORMATS[number])
        assert sheetml.BUILTIN_IDS[code] == number
    dates = {n for n, code in sheetml.BUILTIN_FORMATS.items() if sheetml.is_date_format(code)}
    assert dates == {14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47}


KNOWN_CODES = [
    "yyyy-mm-dd",
    "yyyy/m/d;@",
    "[$-804]yyyy年m月d日",
    '"date: "0',
    '"Day" 0.00',
    r"\d0",
    "_d0",
    "[Red]0.00",
    "[Blue]#,##0;[Red]-#,##0",
    "[h]:mm:ss",
    "[hh]:mm",
    "[mm]:ss",
    "[ss].00",
    "[H]:MM",
    "[>=100]0;0",
    "0;yyyy",
    '#,##0 "天"',
    "¥#,##0.00",
    '"¥"#,##0.00_);[Red]\\("¥"#,##0.00\\)',
    "General",
    "@",
    "mmm d, yyyy h:mm AM/PM",
    "0%",
    None,
]
CODE_PIECES = st.sampled_from(
    ['"', "\\", "_", "[", "]", "$", "-", "h", "m", "s", "d", "y", "H", "M", "S", "D", "Y", "0",
     "#", ";", ":", ".", ",", "@", "E", "+", "Red", "[h]", "[mm]", "[$-409]", '"text"', "年"]
)  # fmt: skip


@pytest.mark.parametrize("code", KNOWN_CODES)
def test_known_format_codes(code: str | None) -> None:
    assert sheetml.is_date_format(code) == openpyxl_is_date(code)
    assert sheetml.is_duration_format(code) == openpyxl_is_duration(code)


@given(st.lists(CODE_PIECES, max_size=12).map("".join))
@settings(max_examples=3000)
def test_generated_format_codes(code: str) -> None:
    assert sheetml.is_date_format(code) == openpyxl_is_date(code)
    assert sheetml.is_duration_format(code) == openpyxl_is_duration(code)


# --------------------------------------------------------------------------- text


@given(st.text(st.characters(max_codepoint=0x7F), max_size=4))
def test_illegal_characters_are_openpyxls(text: str) -> None:
    assert bool(sheetml.ILLEGAL_CHARACTERS.search(text)) == bool(ILLEGAL_CHARACTERS_RE.search(text))


def test_every_control_character_but_tab_and_line_ends_is_illegal() -> None:
    illegal = {chr(c) for c in range(0x20) if sheetml.ILLEGAL_CHARACTERS.fullmatch(chr(c))}
    assert illegal == {chr(c) for c in range(0x20)} - {"\t", "\n", "\r"}
