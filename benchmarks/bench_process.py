"""What a user waits for, as whole processes and behind the Evaluate button. Run on demand:

    python benchmarks/bench_process.py [--reps 7] [--example listed_company.xlsm]

(c) `python -m creditbook evaluate one.xlsm --out FOLDER` as a whole process against the floor of
    `python -c` openpyxl `load_workbook(keep_vba=True)` + `save` of the same file as a whole
    process: medians over --reps runs (interleaved, after a warm-up each), and their ratio; the
    same for the CPU seconds the processes used (less at the mercy of other jobs on the machine).
    This checkout's modules are byte-compiled first, as installing a package does (openpyxl's
    are): with PYTHONDONTWRITEBYTECODE set, every run would compile ours from source again.
(d) the Evaluate button's Python side: `import creditbook.excel` in a fresh interpreter (what
    xlwings' RunPython pays on each press), then read + decide + write through the in-memory xlwings
    fake of the tests (tests/fake_xlwings.py), with its count of Excel calls: each call is a COM
    round trip in real Excel, so the count is the figure that carries over; the fake's own time
    does not.

Not part of pytest: timings depend on the machine, so they are printed, never asserted.
See benchmarks/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "tests"))  # the xlwings fake

from fake_xlwings import FakeBook

from creditbook.excel import evaluate_book

EXAMPLES = ROOT / "workbook" / "examples"
TARGET_PROCESS_RATIO = 1.2
EVALUATED_AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
FLOOR = (
    "import sys; from openpyxl import load_workbook; "
    "load_workbook(sys.argv[1], keep_vba=True).save(sys.argv[2])"
)


def run(command: list[str]) -> float:
    """Wall seconds of one process, which must succeed."""
    return timed(command)[0]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process, which must succeed."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "CREDITBOOK_EVALUATOR": "bench"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def spread(runs: list[float]) -> str:
    return f"median {statistics.median(runs):6.3f} s  (min {min(runs):.3f}, max {max(runs):.3f})"


def whole_process(example: Path, reps: int, scratch: Path) -> None:
    ours = [sys.executable, "-m", "creditbook", "evaluate", str(example), "--out", str(scratch)]
    floor = [sys.executable, "-c", FLOOR, str(example), str(scratch / "floor.xlsm")]
    compileall.compile_dir(ROOT / "creditbook", quiet=1)  # as `pip install` does
    runs: dict[str, list[float]] = {"evaluate": [], "floor": []}
    cpu: dict[str, list[float]] = {"evaluate": [], "floor": []}
    run(ours), run(floor)  # warm-ups: the page cache
    for _ in range(reps):  # interleaved, so a busy moment of the machine hits both sides
        for side, command in (("evaluate", ours), ("floor", floor)):
            wall, used = timed(command)
            runs[side].append(wall)
            cpu[side].append(used)
    ratio = statistics.median(runs["evaluate"]) / statistics.median(runs["floor"])
    cpu_ratio = statistics.median(cpu["evaluate"]) / statistics.median(cpu["floor"])
    print(f"(c) whole process, {example.name}, {reps} runs each")
    print(f"    creditbook evaluate        {spread(runs['evaluate'])}")
    print(f"    openpyxl load + save       {spread(runs['floor'])}")
    verdict = "met" if ratio <= TARGET_PROCESS_RATIO else "MISSED"
    print(f"    ratio {ratio:5.2f}x   (target <= {TARGET_PROCESS_RATIO}x: {verdict})")
    print(
        f"    CPU seconds, medians       {statistics.median(cpu['evaluate']):.3f} s against "
        f"{statistics.median(cpu['floor']):.3f} s, ratio {cpu_ratio:.2f}x"
    )


def button(example: Path, reps: int) -> None:
    imports = [run([sys.executable, "-c", "import creditbook.excel"]) for _ in range(reps)]
    press: list[float] = []
    for _ in range(reps):
        book = FakeBook(example)  # a fresh book each press: the sheet starts unevaluated
        start = time.perf_counter()
        outcome = evaluate_book(book, evaluated_at=EVALUATED_AT, evaluated_by="bench")
        press.append(time.perf_counter() - start)
        assert outcome.decision is not None, "the example did not evaluate"
    calls = book.calls
    print(f"(d) the Evaluate button's Python side, {example.name}, {reps} runs each")
    print(f"    import creditbook.excel    {spread(imports)}   (a fresh interpreter)")
    print(f"    read + decide + write      {spread(press)}   (through the fake)")
    print(
        f"    Excel calls per press      {calls.reads + calls.writes}"
        f"  ({calls.reads} reads, {calls.writes} writes, {calls.formats} of them formats)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--example", default="listed_company.xlsm")
    args = parser.parse_args()
    example = EXAMPLES / args.example
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        whole_process(example, args.reps, Path(scratch))
    button(example, args.reps)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
