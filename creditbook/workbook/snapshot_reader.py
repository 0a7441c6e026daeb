"""The audit snapshot of an evaluated workbook, read with calamine (Rust): many files, fast.

Reads the same hidden columns as `creditbook.workbook.package_reader.read_snapshot` (what verify
uses), for the register.
Empty cells come back as None, whole numbers as float (as openpyxl gives them from a data cell).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from creditbook.workbook.approval import SNAPSHOT_COLUMN
from creditbook.workbook.cells import CellValue
from creditbook.workbook.file_io import unreadable_workbook
from creditbook.workbook.intake import check_workbook_file
from creditbook.workbook.layout import APPROVAL_SHEET

KEY, VALUE = SNAPSHOT_COLUMN - 1, SNAPSHOT_COLUMN  # zero-based columns J and K


def read_snapshot_fast(path: Path) -> dict[str, CellValue]:
    """The snapshot left on the Approval sheet (empty if none); an unusable file is an InputError."""
    check_workbook_file(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        if APPROVAL_SHEET not in wb.sheet_names:
            return {}
        rows = wb.get_sheet_by_name(APPROVAL_SHEET).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:
        raise unreadable_workbook(path, exc) from None
    return {
        str(row[KEY]): _value(row[VALUE])
        for row in rows
        if len(row) > VALUE and row[KEY] not in ("", None)
    }


def _value(value: object) -> CellValue:
    """A calamine cell as openpyxl would give it: '' is empty; times and durations as text."""
    if value == "":
        return None
    if value is None or isinstance(value, str | int | float | date):
        return value
    return str(value)
