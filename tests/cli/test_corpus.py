"""The hardening corpus through the real command line: every broken or hostile input gets its
expected outcome — a message naming the place and exit 2, or a clean evaluation — with no
traceback, under 500 MB, and the input file byte-identical afterwards.

Times are not asserted here (shared machines are noisy); scripts/reliability.py reports them
against the 10 s target in docs/reliability.md.
"""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import pytest
from corpus.cases import WORKBOOK_CASES, WorkbookCase
from corpus.json_cases import JSON_CASES, JsonCase
from corpus.runner import creditbook, digest, run_case
from openpyxl import load_workbook

from creditbook.core.records import error
from creditbook.portfolio.register import REGISTER_SHEET, read_register
from creditbook.workbook.file_io import InputError

MEMORY_LIMIT_MB = 500
CASES: tuple[WorkbookCase | JsonCase, ...] = (*WORKBOOK_CASES, *JSON_CASES)


def test_the_corpus_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 50
    assert len({case.name for case in CASES}) == len(CASES)
    assert {case.exit_code for case in WORKBOOK_CASES} == {0, 2}
    assert {case.exit_code for case in JSON_CASES} == {0, 2}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_case_has_its_outcome(case: WorkbookCase | JsonCase, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path)
    assert outcome.exit_code == case.exit_code, outcome.output
    assert not outcome.traceback, outcome.output
    missing = [text for text in case.expect if text not in outcome.output]
    assert not missing, outcome.output
    assert outcome.input_unchanged
    assert outcome.peak_mb < MEMORY_LIMIT_MB
    if isinstance(case, WorkbookCase):
        assert (outcome.evaluated is not None) == (case.exit_code == 0), outcome.output
        if outcome.evaluated is not None and case.check is not None:
            case.check(outcome.evaluated)


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every workbook case built into one folder, as a register or verify run would meet them."""
    folder = tmp_path_factory.mktemp("corpus")
    for case in WORKBOOK_CASES:
        case.build(folder)
    return folder


def test_verify_reports_every_hostile_file_without_a_crash(corpus_folder: Path) -> None:
    files = sorted(path for path in corpus_folder.iterdir() if path.is_file())
    before = {path: digest(path) for path in files}
    run = creditbook(["verify", "--json", *map(str, files)], corpus_folder)
    assert run.code == 2 and "Traceback" not in run.stdout + run.stderr, run.stderr
    reports = json.loads(run.stdout)
    assert [Path(report["file"]).name for report in reports] == [path.name for path in files]
    assert {report["status"] for report in reports} <= {"never_evaluated", "unreadable"}
    assert {path: digest(path) for path in files} == before
    assert run.peak_mb < MEMORY_LIMIT_MB


def test_register_lists_hostile_files_as_unreadable(corpus_folder: Path, tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    run = creditbook(
        ["register", str(corpus_folder), "-o", str(register), "--as-of", "2026-12-01"], tmp_path
    )
    assert run.code == 0 and not run.stderr, run.stderr
    rows = list(csv.DictReader(register.open(encoding="utf-8")))
    workbooks = [path for path in corpus_folder.iterdir() if path.suffix in (".xlsm", ".xlsx")]
    assert sorted(Path(row["file"]).name for row in rows) == sorted(p.name for p in workbooks)
    assert {row["status"] for row in rows} <= {"unreadable", "never_evaluated"}
    assert all(row["verify_failing"] == "True" for row in rows)
    assert run.peak_mb < MEMORY_LIMIT_MB


def test_an_input_error_crosses_a_process_pool_whole() -> None:
    """A worker's InputError is rebuilt from its issues in the parent (it once broke the pool)."""
    sent = InputError([error(("a.xlsm",), "文件为空", "the file is empty")])
    received = pickle.loads(pickle.dumps(sent))
    assert received.issues == sent.issues and str(received) == str(sent)


def test_a_customer_named_like_a_formula_stays_text_in_the_register(tmp_path: Path) -> None:
    """An evaluated workbook whose customer is `=HYPERLINK(…)`: the register's xlsx holds text,
    its CSV an apostrophe first (CSV injection), and reading the CSV back gives the name again."""
    case = next(case for case in WORKBOOK_CASES if case.name == "hyperlink_text")
    source = case.build(tmp_path)
    evaluated = tmp_path / "evaluated"
    assert creditbook(["evaluate", str(source), "--out", str(evaluated)], tmp_path).code == 0
    name = '=HYPERLINK("http://evil.example","点击")'
    for suffix in (".xlsx", ".csv"):
        out = tmp_path / f"register{suffix}"
        args = ["register", str(evaluated), "-o", str(out), "--as-of", "2026-12-01"]
        run = creditbook(args, tmp_path)
        assert run.code == 0, run.stderr
        assert read_register(out)["customer"].tolist() == [name]
    cell = load_workbook(tmp_path / "register.xlsx")[REGISTER_SHEET]["A2"]
    assert (cell.value, cell.data_type) == (name, "s")
    first = next(csv.DictReader((tmp_path / "register.csv").open(encoding="utf-8")))
    assert first["customer"] == f"'{name}"
