"""The package reader reads what openpyxl reads: every example workbook, evaluated, then edited as
the tamper trials edit (every edit kind, on every input sheet) and saved by openpyxl, and saved
again by LibreOffice (shared strings, booleans as TRUE(), cached formula results). Both readers
must give the same sheet values, Policy rows, Prices rows and audit snapshot, so that decide and
verify answer the same whichever read the file."""

from __future__ import annotations

import random
from pathlib import Path

import openpyxl
import pytest
from lo import needs_soffice
from openpyxl_reader import (
    load_as_read,
    read_inputs,
    read_policy_rows,
    read_price_rows,
    read_sheet_values,
    read_snapshot,
)
from tamper import (
    EDIT_WEIGHTS,
    EXAMPLES,
    OFFICIALS,
    _is_kind,
    _new_value,
    _targets,
    convert_all,
    evaluate,
)

from creditbook.workbook import package_reader
from creditbook.workbook.decide import application_of

EDITS_PER_KIND = 6


def _both(path: Path) -> None:
    wb = load_as_read(path)
    book = package_reader.open_book(path)
    assert package_reader.read_sheet_values(book) == read_sheet_values(wb), path.name
    assert package_reader.read_policy_rows(book) == read_policy_rows(wb), path.name
    assert package_reader.read_price_rows(book) == read_price_rows(wb), path.name
    assert package_reader.read_snapshot(book) == read_snapshot(wb), path.name
    for (key, ours), theirs in zip(
        package_reader.read_snapshot(book).items(), read_snapshot(wb).values(), strict=True
    ):
        assert type(ours) is type(theirs), key
    ours, theirs = package_reader.read_inputs(book), read_inputs(wb)
    assert application_of(ours, OFFICIALS[0]) == application_of(theirs, OFFICIALS[0]), path.name


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("evaluated")
    return [evaluate(source, folder / source.name) for source in EXAMPLES]


def test_the_examples_read_the_same(evaluated: list[Path]) -> None:
    for path in [*EXAMPLES, *evaluated]:
        _both(path)


def test_every_tamper_edit_reads_the_same(evaluated: list[Path], tmp_path: Path) -> None:
    rng = random.Random(20261201)
    done = 0
    for kind in EDIT_WEIGHTS:
        for n in range(EDITS_PER_KIND):
            source = rng.choice(evaluated)
            wb = openpyxl.load_workbook(source, keep_vba=True)
            targets = _targets(wb)[kind]
            target = rng.choice(targets[rng.choice(sorted(targets))])
            sheet, _, coordinate = target.address.partition("!")
            before = wb[sheet][coordinate].value
            after = _new_value(kind, target, before, rng)
            if not _is_kind(kind, target, before, after):
                continue
            wb[sheet][coordinate].value = after
            saved = tmp_path / f"edit-{kind}-{n}.xlsm"
            wb.save(saved)
            _both(saved)
            done += 1
    assert done >= len(EDIT_WEIGHTS) * EDITS_PER_KIND // 2


@needs_soffice
def test_libreoffice_saves_read_the_same(evaluated: list[Path], tmp_path: Path) -> None:
    for extension in ("xlsx", "ods"):
        out = tmp_path / extension
        out.mkdir()
        converted = convert_all(evaluated, extension, out, tmp_path / "profiles")
        if extension == "ods":
            back = tmp_path / "back"
            back.mkdir()
            converted = convert_all(converted, "xlsx", back, tmp_path / "profiles")
        for path in converted:
            _both(path)


def test_a_shared_formulas_dependents_read_as_their_own_formulas() -> None:
    """The one place the reader still asks openpyxl (its Translator, imported there only)."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (
        f'<worksheet xmlns="{ns}"><sheetData><row r="2">'
        '<c r="C2"><f t="shared" ref="C2:C3" si="0">A2*B2</f><v>6</v></c></row><row r="3">'
        '<c r="C3"><f t="shared" si="0"/><v>12</v></c></row></sheetData></worksheet>'
    ).encode()
    cells = package_reader._parse(sheet, b"").cells
    assert (cells[2, 3].formula, cells[2, 3].value) == ("=A2*B2", 6)
    assert (cells[3, 3].formula, cells[3, 3].value) == ("=A3*B3", 12)
