"""Measure how creditbook stands up to broken and hostile input, faults and tampering, and write
the figures to docs/reliability.md.

    python scripts/reliability.py            # the full run (about 12 minutes on 2 cores)
    python scripts/reliability.py --quick    # small counts, to try the script itself

It runs the same machinery as the tests (tests/corpus, tests/faults.py, tests/tamper.py,
tests/core/test_fuzz.py) with the issue's counts, and rewrites the report from what it measured.
Needs LibreOffice (soffice) for the round trips and root or user namespaces for the full-disk and
read-only file systems.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import conftest  # noqa: F401  (registers the hypothesis profiles)
from corpus.cases import WORKBOOK_CASES, WorkbookCase
from corpus.json_cases import JSON_CASES, JsonCase
from corpus.runner import Outcome, run_case
from faults import KillStats, WriteFault, kill_trials, write_faults
from hypothesis import settings
from tamper import EditStats, RoundTripStats, edit_trials, round_trips

MEMORY_LIMIT_MB, TIME_LIMIT_S = 500, 10


def passed(case: WorkbookCase | JsonCase, outcome: Outcome) -> bool:
    """The test's verdict (tests/cli/test_corpus.py), the output checks of accepted workbooks aside."""
    return (
        outcome.exit_code == case.exit_code
        and not outcome.traceback
        and all(text in outcome.output for text in case.expect)
        and outcome.input_unchanged
        and outcome.peak_mb < MEMORY_LIMIT_MB
    )


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def run_corpus(workdir: Path) -> list[tuple[WorkbookCase | JsonCase, Outcome]]:
    results = []
    for case in (*WORKBOOK_CASES, *JSON_CASES):
        results.append((case, run_case(case, workdir / case.name)))
        print(f"  corpus {case.name}: exit {results[-1][1].exit_code}", file=sys.stderr)
    return results


def run_fuzz(profile: str) -> tuple[int, str]:
    """tests/core/test_fuzz.py under a hypothesis profile (tests/conftest.py): (exit code, a summary)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/core/test_fuzz.py", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, "HYPOTHESIS_PROFILE": profile},
        capture_output=True,
        text=True,
        check=False,
    )
    examples = settings.get_profile(profile).max_examples
    last = result.stdout.strip().splitlines()[-1].strip("= ")
    return result.returncode, f"{examples:,} examples per property: {last}"


def soffice_version() -> str:
    try:
        done = subprocess.run(["soffice", "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return done.stdout.strip() or "unknown"


def report(
    corpus: list[tuple[WorkbookCase | JsonCase, Outcome]],
    kills: KillStats,
    faults: list[WriteFault],
    edits: EditStats,
    trips: RoundTripStats,
    fuzz: tuple[int, str, str],
    command: str,
    minutes: float,
) -> str:
    outcomes = [outcome for _, outcome in corpus]
    good = sum(passed(case, outcome) for case, outcome in corpus)
    heaviest = max(outcomes, key=lambda outcome: outcome.peak_mb)
    slowest = max(outcomes, key=lambda outcome: outcome.seconds)
    over = [o.name for o in outcomes if o.seconds >= TIME_LIMIT_S]
    clean_faults = sum(fault.clean for fault in faults)
    edit_kinds = edits.by_kind()
    flagged = sum(counts["flagged"] for counts in edit_kinds.values())
    should_flag = sum(edit.expected != "same" for edit in edits.edits)
    fuzz_code, fuzz_summary, fuzz_profile = fuzz
    summary = table(
        ("Measure", "Result", "Target"),
        [
            ("Corpus cases tried (workbooks + JSON)", f"{len(corpus)} ({len(WORKBOOK_CASES)} + "
             f"{len(JSON_CASES)})", "≥ 50"),
            ("Cases with their expected outcome", f"{good} of {len(corpus)}", "all"),
            ("Peak memory, largest case", f"{heaviest.peak_mb:.0f} MB ({heaviest.name})",
             f"< {MEMORY_LIMIT_MB} MB"),
            ("Time, slowest case", f"{slowest.seconds:.1f} s ({slowest.name})",
             f"< {TIME_LIMIT_S} s"),
            ("Cases at or over the time target", ", ".join(over) or "none", "none"),
            ("kill -9 trials", kills.trials, "≥ 50"),
            ("… killed while the temporary file was being written", kills.temp_seen, "> 0"),
            ("… old file kept / complete new file / partial file", f"{kills.old_kept} / "
             f"{kills.new_complete} / {kills.partial}", "partial 0"),
            ("Full disk, read-only, full temporary folder: clean error, nothing lost",
             f"{clean_faults} of {len(faults)}", "all"),
            ("Random single-cell edits of evaluated workbooks", len(edits.edits), "1,000"),
            ("… that change the inputs, flagged by verify", f"{flagged} of {should_flag} "
             f"({len(edits.missed)} missed)", "all"),
            ("… that keep the meaning (150000 → \"150,000\"), reported unchanged",
             f"{len(edits.edits) - should_flag - len(edits.false_alarms)} of "
             f"{len(edits.edits) - should_flag}", "all"),
            ("Open-and-save round trips: false alarms", f"{len(trips.false_alarms)} of "
             f"{len(trips.trips)}", "0"),
            (f"Fuzzing (hypothesis profile `{fuzz_profile}`)", fuzz_summary,
             "no failure" if fuzz_code == 0 else "FAILED"),
        ],
    )
    corpus_rows = [
        (
            f"`{case.name}`",
            case.about.replace("|", "\\|"),
            case.exit_code,
            outcome.exit_code,
            "yes" if passed(case, outcome) else "**no**",
            f"{outcome.seconds:.1f}",
            f"{outcome.peak_mb:.0f}",
        )
        for case, outcome in corpus
    ]
    kinds_rows = [
        (kind, *(int(c[key]) for key in ("tried", "flagged", "missed", "same", "cell_named",
                                          "row_named", "sheet_named")))
        for kind, c in edit_kinds.items()
    ]
    trip_rows = [
        (kind, int(c["tried"]), int(c["saves"]) // max(int(c["tried"]), 1),
         int(c["false_alarms"]))
        for kind, c in trips.by_kind().items()
    ]
    fault_rows = [
        (f.scenario, f.returncode, "yes" if f.destination_kept and f.input_kept else "**no**",
         "yes" if f.clean else "**no**")
        for f in faults
    ]
    problems = [
        *(f"corpus `{case.name}`: exit {o.exit_code}, wanted {case.exit_code}"
          for case, o in corpus if not passed(case, o)),
        *kills.problems,
        *(f"fault `{f.scenario}`: {f.stderr.strip()[:200]}" for f in faults if not f.clean),
        *(f"edit missed: {e.cell} {e.before!r} → {e.after!r}" for e in edits.missed),
        *(f"false alarm: {t.workbook} ({t.kind}): {t.report[:200]}" for t in trips.false_alarms),
    ]
    return "\n\n".join(
        [
            "# Reliability — measured",
            f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d} in {minutes:.0f} minutes "
            f"(Python {platform.python_version()}, {os.cpu_count()} cores, "
            f"{soffice_version()}). Rerun the script to reproduce it; it rewrites this file.",
            "## Summary",
            summary,
            "## What still fails",
            "\n".join(f"- {line}" for line in problems) or "Nothing: every measure met its target.",
            "## Corpus",
            "Each case is built by `tests/corpus/` from a bundled example and run through "
            "`creditbook evaluate FILE --out DIR --json` (workbooks) or `creditbook evaluate "
            "--input FILE --json` (JSON) in its own process. Passed means: the expected exit code, "
            "the expected text in the output (the cell or JSON path, and the gist), no traceback, "
            "the input byte-identical afterwards, peak memory under 500 MB.",
            table(("case", "what", "expected exit", "exit", "passed", "s", "MB"), corpus_rows),
            "## Faults while writing",
            f"{kills.trials} runs killed with SIGKILL: alternately `--out` over an earlier result "
            f"and `--in-place`; in half of them the kill waited for the temporary file. Runs that "
            f"finished before the kill: {kills.finished}. Temporary files left beside the "
            f"destination by killed runs: {kills.leftover_temps} (named `.NAME.*.tmp`, never the "
            f"destination's name); openpyxl scratch files left in the temporary folder: "
            f"{kills.leftover_scratch}.",
            table(("write fault", "exit", "destination and input intact", "clean"), fault_rows),
            "## Tamper evidence",
            "Random single-cell edits of input cells in evaluated workbooks, each saved and "
            "checked with `creditbook verify`. `same` counts edits that keep the meaning "
            "(such as 150000 → \"150,000\"): verify compares meaning, so these must stay "
            "unchanged and are not counted as misses. Edits of the Policy and Prices sheets are "
            "named by sheet: verify reports a changed policy or price table as a whole.",
            table(("edit kind", "tried", "flagged", "missed", "same meaning", "cell named",
                   "row named", "sheet named"), kinds_rows),
            table(("round trip", "trips", "saves each", "false alarms"), trip_rows),
        ]
    ) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, to try the script")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args(argv)
    kills, edits, trips, profile = (8, 40, 8, "default") if args.quick else (60, 1000, 200, "report")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        print("corpus…", file=sys.stderr)
        corpus = run_corpus(work / "corpus")
        print("kill -9…", file=sys.stderr)
        kill_stats = kill_trials(work / "kills", kills, seed=20261128)
        print("write faults…", file=sys.stderr)
        faults = write_faults(work / "faults")
        print("tamper…", file=sys.stderr)
        edit_stats = edit_trials(work / "edits", edits)
        print("round trips…", file=sys.stderr)
        trip_stats = round_trips(work / "trips", trips)
        print("fuzz…", file=sys.stderr)
        fuzz_code, fuzz_summary = run_fuzz(profile)
    minutes = (time.perf_counter() - started) / 60
    command = "python scripts/reliability.py" + (" --quick" if args.quick else "")
    text = report(
        corpus,
        kill_stats,
        faults,
        edit_stats,
        trip_stats,
        (fuzz_code, fuzz_summary, profile),
        command,
        minutes,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, "utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
