"""Small SpreadsheetML facts the package reader and writer need: cell references, Excel's date
serials, number-format codes, the characters a sheet cannot hold.

Ours, so that evaluating a workbook never imports openpyxl (importing any of its modules loads all
of it, numpy included). Each answers as openpyxl's function of the same purpose does, so a workbook
reads the same through either; tests/workbook/xlsm/test_sheetml.py checks that against openpyxl.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache

# --------------------------------------------------------------------------- cell references

_LAST_COLUMN = 18278  # ZZZ, the most three letters can name
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_RANGE = re.compile(r"\$?([A-Za-z]{1,3})?\$?(\d+)?(?:(:)\$?([A-Za-z]{1,3})?\$?(\d+)?)?")


def column_index(letters: str) -> int:
    """A column's number from its letters (A is 1); ValueError for anything else."""
    if not 0 < len(letters) <= 3 or not letters.isascii() or not letters.isalpha():
        raise ValueError(f"{letters!r} is not a column name")
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


@lru_cache(maxsize=4096)  # every sheet read names its cells by the same few references
def cell_position(reference: str) -> tuple[int, int]:
    """(row, column) of a cell reference such as B12 or $B$12; ValueError for anything else."""
    match = _CELL.fullmatch(reference)
    if match is None or int(match[2]) == 0:
        raise ValueError(f"{reference!r} is not a cell reference")
    return int(match[2]), column_index(match[1])


@lru_cache(maxsize=4096)  # the merged ranges and tables of every workbook from one template alike
def range_bounds(reference: str) -> tuple[int | None, int | None, int | None, int | None]:
    """(first column, first row, last column, last row) of A1:C3, a single cell, whole columns
    (A:C, rows None) or whole rows (1:3, columns None); ValueError for anything else."""
    match = _RANGE.fullmatch(reference)
    if match is None:
        raise ValueError(f"{reference!r} is not a range")
    first_column, first_row, colon, last_column, last_row = match.groups()
    if colon:
        columns, rows = (first_column, last_column), (first_row, last_row)
        cells = all(columns + rows)
        whole = (all(columns) and not any(rows)) or (all(rows) and not any(columns))
        if not (cells or whole):
            raise ValueError(f"{reference!r} is not a range")
    else:
        last_column, last_row = first_column, first_row
    return (
        None if first_column is None else column_index(first_column),
        None if first_row is None else int(first_row),
        None if last_column is None else column_index(last_column),
        None if last_row is None else int(last_row),
    )


# --------------------------------------------------------------------------- date serials

WINDOWS_EPOCH = datetime(1899, 12, 30)  # the 1900 system's day 0, as its leap-year bug counts
MAC_EPOCH = datetime(1904, 1, 1)  # the 1904 system's day 0
_DAY = 86400


def _day_fraction(moment: time | datetime) -> float:
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return (seconds + moment.microsecond / 1_000_000) / _DAY


def to_serial(value: date | datetime | time | timedelta, epoch: datetime) -> float | int:
    """Excel's serial for a date, datetime, time of day (a fraction) or duration (in days).

    In the 1900 system, serials up to 60 count from a day earlier: Excel holds 29 February 1900,
    a day that never was, as serial 60."""
    if isinstance(value, time):
        return _day_fraction(value)
    if isinstance(value, timedelta):
        return value.total_seconds() / _DAY
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    days = (moment - epoch).days
    if epoch == WINDOWS_EPOCH and 0 < days <= 60:
        days -= 1
    return days + _day_fraction(moment)


def from_serial(
    serial: float, epoch: datetime, *, duration: bool = False
) -> datetime | time | timedelta:
    """The moment an Excel serial stands for, to the millisecond: a time of day below 1, else a
    datetime (1900 system: serials below 60 a day later, so 60 is 28 February 1900); with
    `duration`, the serial as a number of days. OverflowError or ValueError where no date is."""
    if duration:
        span = timedelta(days=serial)
        if span.microseconds:
            whole = span.total_seconds() // 1
            span = timedelta(seconds=whole, microseconds=round(span.microseconds, -3))
        return span
    day, fraction = divmod(serial, 1)
    within = timedelta(milliseconds=round(fraction * _DAY * 1000))
    if 0 <= serial < 1 and within.days == 0:
        minutes, seconds = divmod(within.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return time(hours, minutes, seconds, within.microseconds)
    if epoch == WINDOWS_EPOCH and 0 < serial < 60:
        day += 1
    return epoch + timedelta(days=day) + within


_ISO_MOMENT = re.compile(
    r"(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))?T?"
    r"(?P<time>(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?P<fraction>\.\d{1,3})?)?)?Z?"
)
_ISO_DURATION = re.compile(
    r"PT(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,3})?)S)?"
)


def from_iso(text: str) -> date | datetime | time | timedelta | None:
    """A date cell's (t="d") ISO 8601 text: a date, a time, a datetime, or a PT…H…M…S duration
    as Excel writes in strict mode; None for no text, ValueError for other text."""
    if not text:
        return None
    match = _ISO_MOMENT.match(text)
    if match and any(match.groups()):
        part = {k: int(v) for k, v in match.groupdict().items() if v and k not in _ISO_GROUPS}
        micro = int(float(match["fraction"]) * 1_000_000) if match["fraction"] else 0
        clock = (part.get("hour", 0), part.get("minute", 0), part.get("second", 0), micro)
        if not match["date"]:
            return time(*clock)
        day = (part["year"], part["month"], part["day"])
        return date(*day) if not match["time"] else datetime(*day, *clock)
    match = _ISO_DURATION.match(text)
    if match and any(match.groups()):
        return timedelta(**{k: float(v) for k, v in match.groupdict().items() if v})
    raise ValueError(f"{text!r} is not a date")


_ISO_GROUPS = ("date", "time", "fraction")

# --------------------------------------------------------------------------- number formats

# The built-in number formats (ECMA-376 part 1, 18.8.30), those with a code of their own in every
# locale: a cell's numFmtId below 164 names one of them without a <numFmt> in styles.xml.
BUILTIN_FORMATS: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)',
    43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_);_("$"* \(#,##0.00\);_("$"* "-"??_);_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}
BUILTIN_IDS: dict[str, int] = {code: number for number, code in BUILTIN_FORMATS.items()}

# Quoted text, and bracketed sections ([Red], [$-804], [>=100]) other than the elapsed-time
# [h] [hh] [m] [mm] [s] [ss], say nothing about dates.
_NOT_DATE_PARTS = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_LETTER = re.compile(r"(?<![_\\])[dmhysDMHYS]")  # not a padding (_x) or escaped (\x) letter
_ELAPSED = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)


def is_date_format(code: str | None) -> bool:
    """Whether a number in this format shows a date or time (its first section decides)."""
    if code is None:
        return False
    first = _NOT_DATE_PARTS.sub("", code.split(";")[0])
    return _DATE_LETTER.search(first) is not None


def is_duration_format(code: str | None) -> bool:
    """Whether this format shows elapsed time ([h]:mm:ss and the like; its first section)."""
    return code is not None and _ELAPSED.search(code.split(";")[0]) is not None


# --------------------------------------------------------------------------- text

FORMULA_STARTS = ("=", "+", "-", "@")  # text starting so is a formula to Excel when typed in

ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 bars


class IllegalCharacterError(ValueError):
    """Text holding a control character no worksheet can store."""
