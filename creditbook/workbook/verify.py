"""Has an approved workbook changed since its evaluation? `creditbook verify` reads the audit
snapshot on the Approval sheet and recomputes the fingerprint from the inputs now in the file.

The status comes from the fingerprint alone; the field list only explains it. Fields are compared
canonically (numbers as Decimal values, dates as ISO text), so a workbook re-saved by openpyxl,
LibreOffice or Excel names no field that did not change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from creditbook.core.fingerprint import audit_hashes
from creditbook.core.policy import Policy
from creditbook.core.records import Issue, Lang, Text, format_path, text
from creditbook.data import default_prices
from creditbook.workbook.cells import Assembled, CellValue
from creditbook.workbook.decide import WorkbookInputs, application_of, policy_status
from creditbook.workbook.file_io import InputError, unreadable_workbook
from creditbook.workbook.flatten import EMPTY_LIST, EMPTY_MAP, flatten
from creditbook.workbook.layout import INPUT_SHEETS, POLICY_SHEET
from creditbook.workbook.package_reader import Book, open_book, read_book_inputs, read_snapshot
from creditbook.workbook.xlsm.sheetml import cell_position

Status = Literal["unchanged", "changed", "never_evaluated", "unreadable"]
PolicyKind = Literal["official", "edited", "unknown"]
Scalar = str | Decimal | bool | None
Value = Scalar | tuple[Scalar, ...]

APPLICATION = "application."
ELEMENT = re.compile(r"(.+)\[\d+\]")  # an item of a list of plain values: stop_loss[0].actions[1]
LAST_STEP = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")
STATUS_LABELS: dict[Status, Text] = {
    "unchanged": text("未改动", "unchanged"),
    "changed": text("已改动", "changed"),
    "never_evaluated": text("从未评估", "never evaluated"),
    "unreadable": text("无法读取", "unreadable"),
}
POLICY_CHANGED = text("政策表已修改", "the Policy sheet changed")
PRICES_CHANGED = text("价格表已修改", "the Prices sheet changed")
FINGERPRINT_ONLY = text(
    "输入未变但指纹与记录不符：审计快照被改动，或由不同版本的引擎评估",
    "no input changed but the fingerprint differs: the audit snapshot was altered, "
    "or another engine version evaluated it",
)


@dataclass(frozen=True)
class Change:
    """One input that differs from the approved one: its contract path, cells, old and new value."""

    path: str
    cells: tuple[str, ...]
    old: Value
    new: Value


@dataclass(frozen=True)
class PolicyCheck:
    kind: PolicyKind
    note: Text


@dataclass(frozen=True)
class Verification:
    file: Path
    status: Status
    policy: PolicyCheck | None  # None when the Policy sheet cannot be read
    changes: tuple[Change, ...] = ()
    policy_changed: bool = False
    prices_changed: bool = False
    issues: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            self.status == "unchanged"
            and self.policy is not None
            and self.policy.kind == "official"
        )


def verify_file(path: Path, officials: Sequence[Policy]) -> Verification:
    """Compare the inputs now in a workbook with the audit snapshot its evaluation left."""
    return verify_and_read(path, officials)[0]


def verify_and_read(
    path: Path, officials: Sequence[Policy]
) -> tuple[Verification, dict[str, CellValue] | None]:
    """`verify_file`, and the snapshot as its cells show (a formula as its saved result, as
    calamine reads it) for the register's row, from the same read of the file; None when the
    file cannot be opened."""
    try:
        book = open_book(path)
    except InputError as exc:
        return Verification(path, "unreadable", None, issues=tuple(exc.issues)), None
    try:
        shown = read_snapshot(book, as_written=False)
    except Exception as exc:  # a damaged Approval sheet is a fault of the file, as in open_book
        issues = unreadable_workbook(path, exc).issues
        return Verification(path, "unreadable", None, issues=tuple(issues)), None
    try:
        inputs = read_book_inputs(path, book)
    except InputError as exc:
        return Verification(path, "unreadable", None, issues=tuple(exc.issues)), shown
    return _verified(path, book, inputs, read_snapshot(book), officials), shown


def _verified(
    path: Path,
    book: Book,
    inputs: WorkbookInputs,
    snapshot: Mapping[str, CellValue],
    officials: Sequence[Policy],
) -> Verification:
    used = inputs.policy or (None if POLICY_SHEET in book.sheet_names else officials[0])
    policy = None if used is None else _policy_check(used, officials)
    if "audit.fingerprint" not in snapshot:
        return Verification(path, "never_evaluated", policy)
    app, issues = application_of(inputs, officials[0])
    if app is None or used is None:
        return Verification(path, "unreadable", policy, issues=tuple(issues))
    prices = inputs.prices or default_prices()
    if audit_hashes(app, used, prices)[1] == snapshot["audit.fingerprint"]:
        return Verification(path, "unchanged", policy)
    approved = (
        (key.removeprefix(APPLICATION), value)
        for key, value in snapshot.items()
        if key.startswith(APPLICATION)
    )
    return Verification(
        path,
        "changed",
        policy,
        changes=_changes(
            _fields(approved),
            _fields(flatten(app.model_dump(mode="json"))),
            _cell_map(inputs.assembled),
        ),
        policy_changed=snapshot.get("audit.policy_hash") != used.content_hash(),
        prices_changed=snapshot.get("audit.prices_hash") != prices.content_hash(),
    )


def _policy_check(policy: Policy, officials: Sequence[Policy]) -> PolicyCheck:
    status = policy_status(policy, officials)
    known = any((o.id, o.version) == (policy.id, policy.version) for o in officials)
    return PolicyCheck(
        "official" if status.official else "edited" if known else "unknown", status.note
    )


def _canonical(value: object) -> Scalar:
    """One value per content, whoever saved the cell: numbers as Decimal (800000 == 800000.0,
    1.2 == 1.20), dates and midnight datetimes as ISO text (a date == "2026-11-20")."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fields(rows: Iterable[tuple[str, Any]]) -> dict[str, Value]:
    """Flattened rows → path → canonical value; a list of plain values becomes one tuple field.
    An empty container counts as absent (its items, when there are some, tell the change)."""
    fields: dict[str, Value] = {}
    lists: dict[str, list[Scalar]] = {}
    for path, value in rows:
        if value in (EMPTY_LIST, EMPTY_MAP):
            continue
        element = ELEMENT.fullmatch(path)
        if element:
            lists.setdefault(element[1], []).append(_canonical(value))
        else:
            fields[path] = _canonical(value)
    return fields | {path: tuple(values) for path, values in lists.items()}


def _changes(
    old: Mapping[str, Value], new: Mapping[str, Value], cells: Mapping[str, str]
) -> tuple[Change, ...]:
    changes = []
    for path in [*old, *(path for path in new if path not in old)]:
        before, after = old.get(path), new.get(path)
        if before != after:
            changes.append(Change(path, _cells(path, before, after, cells), before, after))
    return tuple(changes)


def _cells(path: str, old: Value, new: Value, cells: Mapping[str, str]) -> tuple[str, ...]:
    """The cells that show a change: a ticked or cleared box, else the field's cell, else the
    nearest enclosing row or table (a deleted row has no cell any more)."""
    toggled = _members(old) ^ _members(new)
    ticks = tuple(sorted(cells[key] for member in toggled if (key := f"{path}={member}") in cells))
    if ticks:
        return ticks
    while path and path not in cells:
        path = LAST_STEP.sub("", path)
    return (cells[path],) if path else ()


def _members(value: Value) -> set[Scalar]:
    return set(value) if isinstance(value, tuple) else set()


def _cell_map(assembled: Assembled) -> dict[str, str]:
    """Contract path → cell; each tick box also as `path=member` (stop_loss[0].actions=notify,
    profile.new_materials=bank_statements)."""
    cells = {format_path(path): cell for path, cell in assembled.cells.items()}
    for sheet in INPUT_SHEETS:
        form = sheet.form
        for field in form.fields if form else ():
            if form and field.member is not None:  # a tick row of the form: new materials
                key = f"{format_path((form.block, field.key))}={field.member.value}"
                cells[key] = f"{sheet.name}!{form.cell(field)}"
        for table in sheet.tables:
            rows = [
                (path, cell) for path, cell in assembled.cells.items() if path[:-1] == table.block
            ]
            for path, cell in rows:
                row = cell_position(cell.partition("!")[2])[0]
                for position, column in enumerate(table.columns):
                    if column.member is not None:
                        key = f"{format_path((*path, column.key))}={column.member.value}"
                        cells[key] = f"{sheet.name}!{table.letter(position)}{row}"
    return cells


def _shown(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return ", ".join(map(_shown, value)) or "—"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def render(result: Verification, lang: Lang) -> str:
    """One line: file, status, policy, and what changed where."""
    parts = [f"{result.file}: {STATUS_LABELS[result.status].render(lang)}"]
    if result.policy is not None:
        parts.append(result.policy.note.render(lang))
    parts += [
        f"{change.path} @ {', '.join(change.cells)}: {_shown(change.old)} → {_shown(change.new)}"
        for change in result.changes
    ]
    parts += [
        label.render(lang)
        for label, changed in (
            (POLICY_CHANGED, result.policy_changed),
            (PRICES_CHANGED, result.prices_changed),
        )
        if changed
    ]
    if result.status == "changed" and not (
        result.changes or result.policy_changed or result.prices_changed
    ):
        parts.append(FINGERPRINT_ONLY.render(lang))
    parts += [issue.render(lang) for issue in result.issues]
    return " · ".join(parts)


def _json_value(value: Value) -> Any:
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def as_json(result: Verification, lang: Lang) -> dict[str, Any]:
    return {
        "file": str(result.file),
        "status": result.status,
        "ok": result.ok,
        "policy": None
        if result.policy is None
        else {"status": result.policy.kind, "note": result.policy.note.render(lang)},
        "changes": [
            {
                "path": change.path,
                "cells": list(change.cells),
                "old": _json_value(change.old),
                "new": _json_value(change.new),
            }
            for change in result.changes
        ],
        "policy_changed": result.policy_changed,
        "prices_changed": result.prices_changed,
        "issues": [
            issue.model_dump(mode="json", context={"lang": lang}) for issue in result.issues
        ],
    }
