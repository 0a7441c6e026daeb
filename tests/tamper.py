"""Tamper evidence, measured: random single-cell edits of evaluated workbooks are all flagged by
`creditbook verify`, and open-and-save round trips without an input change never are.

tests/workbook/test_tamper.py runs CI-sized counts; scripts/reliability.py runs the full counts (1,000 edits,
200 round trips) for docs/reliability.md.

Input cells are the cells an evaluation reads: every form input and every cell of the table rows
holding an item on the four input sheets, the value column of the Policy sheet (rows with a path),
and the cells of the Prices table. verify names the cell of an application change; it reports a
Policy or Prices change for the whole sheet, and an input error (evaluate would refuse the
workbook) as "unreadable" with the error's cell.

Edit kinds: `valid` (another value of the cell's kind; cross-field rules may still reject it),
`computed` (a number as a formula or paste-values leaves it, 880000.0000000001), `not_a_value`
(text in a number, date, dropdown or tick cell), `error_value` ("#REF!" and the other Excel
errors), `blank_required`, `added_row` (a value in an empty row of an input table), and
`reformat`: the same content written differently (800000 → "800,000", a dropdown by its code,
✓ → "是"), which is no change of the application, so verify must answer "unchanged".

What an edit should do is judged on the workbook in memory, as evaluate reads it: the same
application, policy and prices ("same"), different ones ("changed"), or an input error ("rejected").
"""

from __future__ import annotations

import random
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

import openpyxl
from lo import soffice
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.workbook.workbook import Workbook
from openpyxl_reader import read_inputs, read_policy_rows

from creditbook.core.labels import LABELS
from creditbook.core.records import text
from creditbook.data import default_policy, default_prices
from creditbook.workbook.cells import (
    EXCEL_EPOCH,
    EXCEL_ERRORS,
    CellProblem,
    CellValue,
    from_cell,
    is_blank,
    sheet_values_of,
)
from creditbook.workbook.decide import application_of
from creditbook.workbook.evaluate import evaluate_workbook, export_application
from creditbook.workbook.layout import (
    FLAG_MARK,
    INPUT_SHEETS,
    POLICY_SHEET,
    PRICES_SHEET,
    PRICES_TABLE,
    STOP_LOSS,
    Field,
)
from creditbook.workbook.openpyxl_adapter import table_rows, write_sheet_values
from creditbook.workbook.session import officials
from creditbook.workbook.verify import Status, Verification, render, verify_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "workbook" / "examples").glob("*.xlsm"))
LISTED = ROOT / "workbook" / "examples" / "listed_company.xlsm"
OFFICIALS = officials([])
WORKERS = 2  # this machine's cores; LibreOffice runs as many converters side by side

EditKind = Literal[
    "valid", "computed", "not_a_value", "error_value", "blank_required", "added_row", "reformat"
]
EDIT_WEIGHTS: dict[EditKind, int] = {
    "valid": 40,
    "computed": 10,
    "not_a_value": 10,
    "error_value": 10,
    "blank_required": 8,
    "added_row": 10,
    "reformat": 10,
}
Expected = Literal["same", "changed", "rejected"]
# verify answers an input error (evaluate would refuse the workbook) with "unreadable" and its cell.
EXPECTED_STATUS: dict[Expected, Status] = {
    "same": "unchanged",
    "changed": "changed",
    "rejected": "unreadable",
}
Pointer = Literal["cell", "row", "sheet", "none"]
# Each round trip: the saves in order, "openpyxl" or a LibreOffice conversion to that format.
PIPELINES: dict[str, tuple[str, ...]] = {
    "openpyxl": ("openpyxl",),
    "libreoffice_xlsx": ("xlsx",),
    "libreoffice_xlsm": ("xlsm",),
    "chained": ("xlsm", "openpyxl", "xlsx", "openpyxl"),
    "via_ods": ("ods", "xlsx"),
}
NOT_VALUES = ("待定", "TBD", "n/a", "见附件")
NUMBER_KINDS = ("number", "money", "mtok", "ratio")


# ----------------------------------------------------------------------------- workbooks


def evaluate(source: Path, target: Path) -> Path:
    result = evaluate_workbook(
        source,
        officials=OFFICIALS,
        evaluated_by="tamper",
        evaluated_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    )
    assert result.workbook is not None, result.issues
    target.write_bytes(result.workbook)
    return target


def with_playbook(target: Path) -> Path:
    """The listed company with the policy's default stop-loss playbook on its StopLoss sheet."""
    app, issues = export_application(LISTED)
    assert app is not None, issues
    playbook = app.model_copy(update={"stop_loss": default_policy().stop_loss})
    wb = openpyxl.load_workbook(LISTED, keep_vba=True)
    write_sheet_values(wb, sheet_values_of(playbook), sheets=(STOP_LOSS,))
    wb.save(target)
    return target


def sources(folder: Path) -> list[Path]:
    """The seven example workbooks and the listed company with a stop-loss playbook (written into
    `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [*EXAMPLES, with_playbook(folder / "stop_loss.xlsm")]


# ------------------------------------------------------------------------- input cells


def input_cells(wb: Workbook) -> list[list[tuple[str, Field]]]:
    """By input sheet: every form input, and every cell of the table rows that hold an item."""
    by_sheet = []
    for sheet in INPUT_SHEETS:
        ws, cells = wb[sheet.name], []
        if sheet.form:
            cells += [(f"{sheet.name}!{sheet.form.cell(f)}", f) for f in sheet.form.fields]
        for table in sheet.tables:
            for row, values in table_rows(ws, table):
                if any(value is not None for value in values):
                    cells += [
                        (f"{sheet.name}!{table.letter(position)}{row}", column)
                        for position, column in enumerate(table.columns)
                    ]
        by_sheet.append(cells)
    return by_sheet


def empty_row_cells(wb: Workbook) -> list[list[tuple[str, Field]]]:
    """By input table: the cells of its empty rows (typing into one adds an item)."""
    by_table = []
    for sheet in INPUT_SHEETS:
        for table in sheet.tables:
            by_table.append(
                [
                    (f"{sheet.name}!{table.letter(position)}{row}", column)
                    for row, values in table_rows(wb[sheet.name], table)
                    if all(is_blank(value) for value in values)
                    for position, column in enumerate(table.columns)
                ]
            )
    return by_table


def policy_cells(wb: Workbook) -> list[str]:
    """The Policy value cells of its rows with a path, but for empty lists and maps."""
    rows = read_policy_rows(wb) or []
    return [f"{POLICY_SHEET}!C{row}" for row, _, value in rows if value not in ("[]", "{}")]


def price_cells(wb: Workbook) -> list[str]:
    ws = wb[PRICES_SHEET]
    return [
        cell.coordinate
        for row in ws[ws.tables[PRICES_TABLE].ref][1:]
        for cell in row
        if cell.value is not None
    ]


# ------------------------------------------------------------------------------ values


def another_value(field: Field, raw: CellValue, rng: random.Random) -> CellValue:
    """A value of the field's kind, most often different from `raw` (checked by the caller)."""
    if field.kind == "flag":
        return None if raw else FLAG_MARK
    if field.options:
        return rng.choice(field.options)
    current = from_cell(field, raw)
    if field.kind == "date":
        return (current or date(2026, 11, 1)) + timedelta(days=rng.randint(1, 60))
    if field.kind == "text":
        return f"{current or ''}{rng.choice('ABXYZ')}"
    if field.kind == "ratio":
        return rng.choice([0.8, 0.9, 0.95, 0.985, 1])
    step = Decimal(rng.randint(1, 40)) / (10 if field.kind == "number" else 1)
    if field.kind == "money":
        step *= 1000
    return float((current or 0) + step)


def computed_value(number: Decimal | float | None, ratio: bool, rng: random.Random) -> float:
    """What a formula or paste-values leaves in a number cell: the last of 17 digits are binary
    noise (800000 * 1.1 = 880000.0000000001, 11 / 12 = 0.9166666666666666)."""
    if ratio:
        return rng.choice([11 / 12, 29 / 30, 0.7 + 0.2, 0.1 * 9])
    return float(str(number or 1)) * rng.choice([1.1, 1.15, 2 / 3])


def same_value(field: Field, raw: CellValue, rng: random.Random) -> CellValue:
    """The content of `raw` written another way finance might type it."""
    value = from_cell(field, raw)
    if field.kind == "flag":
        return rng.choice(["x", "是", "yes", True] if value else ["否", "no", False, " "])
    if value is None:
        return " "
    if field.kind == "choice":
        if isinstance(field.choices, Mapping):  # a country: its code or its name
            name = field.choices.get(value, text(value, value))
            return rng.choice([value.lower(), name.zh, name.en, f"{name.zh} {name.en}"])
        if not isinstance(field.choices, type):
            return rng.choice([f"{value}天", f"{value} days", str(value)])
        choice = field.choices(value)
        return rng.choice([choice.value, LABELS[choice].zh, LABELS[choice].en])
    if field.kind == "date":
        serial = (value - EXCEL_EPOCH).days
        return rng.choice([value.isoformat(), f"{value:%Y/%m/%d}", f"{value:%Y年%m月%d日}", serial])
    if field.kind == "text":
        return f" {value} "
    if field.kind == "ratio":
        return f"{value * 100:f}%"
    written = [str(value), f"{value:,}"]
    if field.kind == "money":
        written += [f"¥{value:,f}", f"{value / 10000:f}万"]
    return rng.choice(written)


def another_plain(value: CellValue, rng: random.Random) -> CellValue:
    """Another value of the same type, for a Policy or Prices cell."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.randint(1, 9)
    if isinstance(value, float):
        return value + rng.randint(1, 9) / 100
    return f"{value}{rng.choice('ABXYZ')}"


def _meaning_differs(field: Field, before: CellValue, after: CellValue) -> bool:
    try:
        return bool(from_cell(field, before) != from_cell(field, after))
    except CellProblem:
        return True


# ------------------------------------------------------------------------------- edits


@dataclass(frozen=True)
class Target:
    address: str  # Profile!C21
    field: Field | None  # None on the Policy and Prices sheets

    @property
    def sheet(self) -> str:
        return self.address.partition("!")[0]


@dataclass(frozen=True)
class Edit:
    workbook: str
    cell: str
    kind: EditKind
    before: CellValue
    after: CellValue
    expected: Expected
    status: Status
    pointer: Pointer  # the nearest place verify's report names: the edited cell, its row, its sheet
    report: str  # verify's line, in English

    @property
    def flagged(self) -> bool:
        return self.status != "unchanged"

    @property
    def missed(self) -> bool:
        return self.expected != "same" and not self.flagged

    @property
    def false_alarm(self) -> bool:
        return self.expected == "same" and self.flagged

    @property
    def as_expected(self) -> bool:
        return self.status == EXPECTED_STATUS[self.expected]


@dataclass(frozen=True)
class EditStats:
    edits: tuple[Edit, ...]

    @property
    def missed(self) -> list[Edit]:
        return [edit for edit in self.edits if edit.missed]

    @property
    def false_alarms(self) -> list[Edit]:
        return [edit for edit in self.edits if edit.false_alarm]

    def by_kind(self) -> dict[str, Counter[str]]:
        """Per edit kind: tried, flagged, missed, false_alarms, cell_, row_ and sheet_named, and how
        many edits changed the application (changed), made it invalid (rejected) or not (same)."""
        table: dict[str, Counter[str]] = {kind: Counter() for kind in EDIT_WEIGHTS}
        for edit in self.edits:
            table[edit.kind].update(
                tried=1,
                flagged=edit.flagged,
                missed=edit.missed,
                false_alarms=edit.false_alarm,
                cell_named=edit.pointer == "cell",
                row_named=edit.pointer == "row",
                sheet_named=edit.pointer == "sheet",
                **{edit.expected: 1},
            )
        return table

    def by_sheet(self) -> Counter[str]:
        return Counter(edit.cell.partition("!")[0] for edit in self.edits)


def _meaning(wb: Workbook) -> tuple[object, str, str] | None:
    """Application, policy hash and prices hash as evaluate reads them; None on an input error."""
    inputs = read_inputs(wb)
    app, _ = application_of(inputs, OFFICIALS[0])
    if app is None:
        return None
    policy, prices = inputs.policy or OFFICIALS[0], inputs.prices or default_prices()
    return app, policy.content_hash(), prices.content_hash()


def _targets(wb: Workbook) -> dict[EditKind, dict[str, list[Target]]]:
    """Per edit kind, per sheet, the cells that kind of edit applies to."""
    filled = [Target(address, field) for cells in input_cells(wb) for address, field in cells]
    plain = [
        *(Target(address, None) for address in policy_cells(wb)),
        *(Target(f"{PRICES_SHEET}!{coordinate}", None) for coordinate in price_cells(wb)),
    ]
    by_kind: dict[EditKind, list[Target]] = {
        "valid": [*filled, *(t for t in plain if _value(wb, t) is not None)],
        "computed": [
            *(t for t in filled if t.field and t.field.kind in NUMBER_KINDS),
            *(t for t in plain if _is_number(_value(wb, t))),
        ],
        "not_a_value": [
            *(t for t in filled if t.field and t.field.kind != "text"),
            *(t for t in plain if _is_number(_value(wb, t))),
        ],
        "error_value": [*filled, *plain],
        "blank_required": [
            t for t in filled if t.field and t.field.required and not is_blank(_value(wb, t))
        ],
        "added_row": [Target(a, f) for cells in empty_row_cells(wb) for a, f in cells],
        "reformat": filled,
    }
    targets: dict[EditKind, dict[str, list[Target]]] = {}
    for kind, chosen in by_kind.items():
        for target in chosen:
            targets.setdefault(kind, {}).setdefault(target.sheet, []).append(target)
    return targets


def _is_number(value: CellValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(wb: Workbook, target: Target) -> CellValue:
    sheet, _, coordinate = target.address.partition("!")
    value: CellValue = wb[sheet][coordinate].value
    return value


def _new_value(kind: EditKind, target: Target, before: CellValue, rng: random.Random) -> CellValue:
    """The value to type for this kind of edit (checked by `_is_kind`)."""
    if kind == "not_a_value":
        return rng.choice(NOT_VALUES)
    if kind == "error_value":
        return rng.choice(EXCEL_ERRORS)
    if kind == "blank_required":
        return None
    if kind == "computed":
        field = target.field
        number = before if field is None else from_cell(field, before)
        return computed_value(number, field is not None and field.kind == "ratio", rng)
    if target.field is None:
        return another_plain(before, rng)
    if kind == "reformat":
        return same_value(target.field, before, rng)
    return another_value(target.field, before, rng)


def _is_kind(kind: EditKind, target: Target, before: CellValue, after: CellValue) -> bool:
    """Whether the cell's content changes as the kind says: a reformat keeps it, others do not."""
    if target.field is None:
        return after != before
    differs = _meaning_differs(target.field, before, after)
    return not differs if kind == "reformat" else differs


def _pointer(result: Verification, target: Target) -> Pointer:
    named = {cell for change in result.changes for cell in change.cells}
    named |= {issue.location for issue in result.issues if issue.severity == "error"}
    if target.address in named:
        return "cell"
    sheet = target.sheet
    rows = {_row(place) for place in named if place.partition("!")[0] == sheet}
    if _row(target.address) in rows:
        return "row"
    sheet_flag = {POLICY_SHEET: result.policy_changed, PRICES_SHEET: result.prices_changed}
    if rows or sheet_flag.get(sheet) or sheet in named:
        return "sheet"
    return "none"


def _row(address: str) -> int | None:
    coordinate = address.partition("!")[2]
    return coordinate_from_string(coordinate)[1] if coordinate else None


def _edit_one_workbook(job: tuple[Path, int, str]) -> list[Edit]:
    """`count` edits of one evaluated workbook, each saved next to it and verified, then undone."""
    path, count, seed = job
    rng = random.Random(seed)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    original, targets = _meaning(wb), _targets(wb)
    kinds, weights = zip(*((k, w) for k, w in EDIT_WEIGHTS.items() if k in targets), strict=True)
    saved = path.with_name(f"{path.stem}.edited{path.suffix}")
    edits: list[Edit] = []
    while len(edits) < count:
        kind: EditKind = rng.choices(kinds, weights)[0]
        target = rng.choice(targets[kind][rng.choice(sorted(targets[kind]))])
        sheet, _, coordinate = target.address.partition("!")
        cell = wb[sheet][coordinate]
        before, number_format = cell.value, cell.number_format
        after = _new_value(kind, target, before, rng)
        if not _is_kind(kind, target, before, after):
            continue
        cell.value = after
        now = _meaning(wb)
        expected: Expected = "rejected" if now is None else "same" if now == original else "changed"
        wb.save(saved)
        result = verify_file(saved, OFFICIALS)
        cell.value, cell.number_format = before, number_format
        edits.append(
            Edit(
                path.stem,
                target.address,
                kind,
                before,
                after,
                expected,
                result.status,
                _pointer(result, target),
                render(result, "en"),
            )
        )
    return edits


def edit_trials(workdir: Path, count: int, seed: int = 20261201) -> EditStats:
    """`count` random single-cell edits of the evaluated example workbooks, each verified."""
    folder = workdir / "evaluated"
    folder.mkdir(parents=True, exist_ok=True)
    evaluated = [evaluate(source, folder / source.name) for source in sources(workdir / "sources")]
    rng = random.Random(seed)
    per_workbook = Counter(rng.choice(evaluated) for _ in range(count))
    jobs = [(path, per_workbook[path], f"{seed}:{path.stem}") for path in evaluated]
    with ProcessPoolExecutor(WORKERS) as pool:
        return EditStats(
            tuple(edit for edits in pool.map(_edit_one_workbook, jobs) for edit in edits)
        )


# ------------------------------------------------------------------------- round trips


@dataclass(frozen=True)
class RoundTrip:
    workbook: str  # rt007: the variant's name
    kind: str  # a key of PIPELINES
    status: Status
    report: str  # verify's line, in English


@dataclass(frozen=True)
class RoundTripStats:
    trips: tuple[RoundTrip, ...]

    @property
    def false_alarms(self) -> list[RoundTrip]:
        return [trip for trip in self.trips if trip.status != "unchanged"]

    def by_kind(self) -> dict[str, Counter[str]]:
        """Per pipeline: round trips tried, false alarms, and saves made."""
        table: dict[str, Counter[str]] = {}
        for trip in self.trips:
            table.setdefault(trip.kind, Counter()).update(
                tried=1, false_alarms=trip.status != "unchanged", saves=len(PIPELINES[trip.kind])
            )
        return table


def convert_all(files: Sequence[Path], extension: str, out_dir: Path, profiles: Path) -> list[Path]:
    """LibreOffice conversions of many files: WORKERS soffice processes side by side, each with
    its own profile (see tests/lo.py) and many files per start; the files' stems must differ."""
    chunks = [list(files[k::WORKERS]) for k in range(WORKERS) if files[k::WORKERS]]

    def run(k: int) -> subprocess.CompletedProcess[str]:
        timeout = 120 + 10 * len(chunks[k])
        return soffice(chunks[k], extension, out_dir, profiles / f"lo-profile-{k}", timeout)

    with ThreadPoolExecutor(len(chunks)) as pool:
        runs = list(pool.map(run, range(len(chunks))))
    converted = [out_dir / f"{path.stem}.{extension}" for path in files]
    missing = [path.name for path in converted if not path.exists()]
    if missing:
        output = "".join(f"{r.stdout}{r.stderr}" for r in runs)
        raise AssertionError(f"soffice did not write {', '.join(missing)}:\n{output}")
    return converted


def _resave(job: tuple[Path, Path]) -> Path:
    source, target = job
    openpyxl.load_workbook(source, keep_vba=True).save(target)
    return target


def _variant(job: tuple[Path, Path, str]) -> Path:
    """`source` with one to three random edits that keep it evaluable, evaluated into `target`:
    a computed number first, then valid, computed or reformatted values."""
    source, target, seed = job
    rng = random.Random(seed)
    wb = openpyxl.load_workbook(source, keep_vba=True)
    targets = _targets(wb)
    edits, wanted = 0, rng.randint(1, 3)
    while edits < wanted:
        kind: EditKind = rng.choice(["valid", "computed", "reformat"]) if edits else "computed"
        chosen = rng.choice(targets[kind][rng.choice(sorted(targets[kind]))])
        sheet, _, coordinate = chosen.address.partition("!")
        cell = wb[sheet][coordinate]
        before, number_format = cell.value, cell.number_format
        after = _new_value(kind, chosen, before, rng)
        if not _is_kind(kind, chosen, before, after):
            continue
        cell.value = after
        if _meaning(wb) is None:
            cell.value, cell.number_format = before, number_format
            continue
        edits += 1
    edited = target.with_name(f"{target.stem}.source{target.suffix}")
    wb.save(edited)
    return evaluate(edited, target)


def _verify(path: Path) -> tuple[Status, str]:
    result = verify_file(path, OFFICIALS)
    return result.status, render(result, "en")


def round_trips(
    workdir: Path, count: int, seed: int = 20261201, kinds: Sequence[str] = tuple(PIPELINES)
) -> RoundTripStats:
    """`count` evaluated workbooks (random variants of the examples), each opened and saved
    along one of the pipelines (kinds in turn) and verified: any status but "unchanged" is a
    false alarm."""
    originals = sources(workdir / "sources")
    plan = [
        (kinds[i % len(kinds)], originals[i // len(kinds) % len(originals)]) for i in range(count)
    ]
    (workdir / "evaluated").mkdir(parents=True, exist_ok=True)
    jobs = [
        (source, workdir / "evaluated" / f"rt{i:03d}.xlsm", f"{seed}:{i}")
        for i, (_, source) in enumerate(plan)
    ]
    with ProcessPoolExecutor(WORKERS) as pool:
        files = list(pool.map(_variant, jobs))
        for step in range(max(len(PIPELINES[kind]) for kind in kinds)):
            out = workdir / f"save{step + 1}"
            out.mkdir(exist_ok=True)
            todo = [
                (i, PIPELINES[kind][step])
                for i, (kind, _) in enumerate(plan)
                if step < len(PIPELINES[kind])
            ]
            for save in sorted({save for _, save in todo}):
                batch = [i for i, s in todo if s == save]
                paths = [files[i] for i in batch]
                saved = (
                    list(pool.map(_resave, [(p, out / p.name) for p in paths]))
                    if save == "openpyxl"
                    else convert_all(paths, save, out, workdir)
                )
                for i, path in zip(batch, saved, strict=True):
                    files[i] = path
        verified = list(pool.map(_verify, files))
    return RoundTripStats(
        tuple(
            RoundTrip(path.stem, kind, status, report)
            for path, (kind, _), (status, report) in zip(files, plan, verified, strict=True)
        )
    )
