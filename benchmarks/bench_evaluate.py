"""How fast `creditbook evaluate` is, measured against what it cannot avoid. Run on demand:

    python benchmarks/bench_evaluate.py [--reps 15] [--batch 200] [--register 1000]
                                        [--example listed_company.xlsm]

(a) one workbook file → file in-process (`creditbook.workbook.batch.run_job`) against the floor of an openpyxl
    `load_workbook(keep_vba=True)` + `save` of the same file: medians over --reps runs, and their ratio
    (target ≤ 0.5: evaluate reads the package and writes only its own parts).
(b) --batch workbooks (copies of the examples) through `run_jobs` with 1 and with 2 processes:
    wall times and the speed-up, next to a machine check (a pure-CPU loop in 1 and 2 processes)
    that shows how much parallelism the machine really gave at that moment.
(c) `register` over --register evaluated workbooks without and with verification (`bench_register`), and
    their ratio (target ≤ 3).

Not part of pytest: timings depend on the machine, so they are printed, never asserted.
See benchmarks/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

from bench_register import evaluated_copies, register_times

from creditbook.workbook.batch import FileResult, Job, run_job, run_jobs

EXAMPLES = ROOT / "workbook" / "examples"
TARGET_RATIO = 0.5
TARGET_REGISTER = 3.0  # register with verification / without
TARGET_SPEEDUP = 1.8  # "near-linear" on 2 cores
EVALUATED_AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


# ------------------------------------------------------------------------------------- helpers
def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_of(action: Callable[[], object], reps: int) -> tuple[float, list[float]]:
    """Median wall seconds over `reps` calls, after one untimed warm-up call."""
    action()
    runs = [timed(action) for _ in range(reps)]
    return statistics.median(runs), runs


def cpu_seconds() -> float:
    """User + system CPU of this process and of its reaped children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def spin(loops: int) -> int:
    """Pure CPU work: no I/O, no shared state."""
    total = 0
    for i in range(loops):
        total += i * i
    return total


def machine_speedup(loops: int = 10_000_000) -> float:
    """Speed-up of 2 processes over 1 on pure CPU work, right now: the most (b) can show."""
    serial = timed(lambda: [spin(loops) for _ in range(2)])
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(spin, [1, 1]))  # both workers started before the clock runs
        parallel = timed(lambda: list(pool.map(spin, [loops, loops])))
    return serial / parallel


def job(source: Path, target: Path) -> Job:
    return Job(source, target, (), "bench", EVALUATED_AT, pdf=False)


def quiet(done: int, total: int, result: FileResult) -> None:
    """run_jobs progress callback that prints nothing."""


# ------------------------------------------------------------------------------- (a) one file
def evaluate_once(source: Path, target: Path) -> None:
    result = run_job(job(source, target))
    if result.decision is None:
        problems = [issue.render("en") for issue in result.issues]
        raise SystemExit(f"{source.name} did not evaluate: {problems}")


def load_and_save(source: Path, target: Path) -> None:
    load_workbook(source, keep_vba=True).save(target)


def single_file(example: Path, reps: int, scratch: Path) -> float:
    source = scratch / example.name
    shutil.copyfile(example, source)
    floor, floor_runs = median_of(lambda: load_and_save(source, scratch / "floor.xlsm"), reps)
    evaluate, runs = median_of(lambda: evaluate_once(source, scratch / "out.xlsm"), reps)
    ratio = evaluate / floor
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"(a) one workbook, file -> file, in-process: {example.name}, median of {reps} runs")
    print(
        f"    floor     openpyxl load(keep_vba) + save  {floor * 1000:7.1f} ms"
        f"   (min {min(floor_runs) * 1000:.1f}, max {max(floor_runs) * 1000:.1f})"
    )
    print(
        f"    evaluate  creditbook.workbook.batch.run_job        {evaluate * 1000:7.1f} ms"
        f"   (min {min(runs) * 1000:.1f}, max {max(runs) * 1000:.1f})"
    )
    print(
        f"    ratio     evaluate / floor                {ratio:7.2f}      target <= {TARGET_RATIO}: {verdict}"
    )
    return ratio


# ------------------------------------------------------------------------------ (b) the batch
def batch(count: int, scratch: Path) -> float:
    examples = sorted(EXAMPLES.glob("*.xlsm"))
    inputs = scratch / "batch"
    inputs.mkdir()
    sources = []
    for index in range(count):
        example = examples[index % len(examples)]
        sources.append(inputs / f"{index:03d}_{example.name}")
        shutil.copyfile(example, sources[-1])
    before_check = machine_speedup()
    walls, cpus = {}, {}
    for processes in (1, 2):
        jobs = [job(source, scratch / f"out{processes}" / source.name) for source in sources]
        cpu_before = cpu_seconds()
        start = time.perf_counter()
        results = run_jobs(jobs, processes, quiet)
        walls[processes] = time.perf_counter() - start
        cpus[processes] = cpu_seconds() - cpu_before
        failed = [result.source.name for result in results if result.decision is None]
        if failed:
            raise SystemExit(f"batch: {len(failed)} workbooks did not evaluate: {failed[:3]}")
    after_check = machine_speedup()
    speedup = walls[1] / walls[2]
    verdict = "meets" if speedup >= TARGET_SPEEDUP else "MISSES"
    print(f"(b) batch of {count} workbooks (copies of {len(examples)} examples), run_jobs")
    for processes, wall in walls.items():
        print(
            f"    {processes} process{'es' if processes > 1 else '  '}  wall {wall:7.2f} s"
            f"   {wall / count * 1000:6.1f} ms/workbook   CPU {cpus[processes]:7.2f} s"
            f"   CPU/wall {cpus[processes] / wall:4.2f}"
        )
    print(
        f"    speed-up  1 -> 2 processes  {speedup:5.2f}x"
        f"   target near-linear (>= {TARGET_SPEEDUP}x on 2 cores): {verdict}"
    )
    print(
        f"    machine check: pure-CPU loop, 2 processes vs 1: {before_check:4.2f}x before the batch,"
        f" {after_check:4.2f}x after"
    )
    print(f"    batch speed-up / machine speed-up  {speedup / max(before_check, after_check):4.2f}")
    return speedup


# -------------------------------------------------------------------------- (c) the register
def register(count: int, scratch: Path) -> float:
    files = evaluated_copies(count, scratch / "register")
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"(c) register over {len(files)} evaluated workbooks, verification in {jobs} processes")
    plain, full = register_times(files, jobs)
    ratio = full / plain
    verdict = "meets" if ratio <= TARGET_REGISTER else "MISSES"
    print(
        f"    ratio     with verification / without  {ratio:7.2f}      "
        f"target <= {TARGET_REGISTER}: {verdict}"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15, help="repetitions for (a)")
    parser.add_argument("--batch", type=int, default=200, help="workbooks for (b)")
    parser.add_argument("--register", type=int, default=1000, help="workbooks for (c), 0 skips")
    parser.add_argument("--example", default="listed_company.xlsm", help="workbook for (a)")
    args = parser.parse_args()
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    print(
        f"creditbook evaluate benchmark — Python {platform.python_version()}, "
        f"openpyxl {openpyxl.__version__}, {cores} usable cores, {platform.machine()}; "
        f"load average {load_average()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as scratch:
        single_file(EXAMPLES / args.example, args.reps, Path(scratch))
        batch(args.batch, Path(scratch))
        if args.register:
            register(args.register, Path(scratch))
    busy = os.getloadavg()[0] > cores
    print(
        f"load average at the end: {load_average()} (1, 5, 15 min) on {cores} cores"
        + (": other work shared the CPUs, the figures above are pessimistic" if busy else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
