"""How fast `creditbook register` reads many workbooks. Run on demand:

    python benchmarks/bench_register.py [--count 1000] [--jobs 2] [--no-openpyxl]

--count copies of the evaluated example workbooks (`creditbook demo`) in a temporary folder, then,
in one run:
(a) the audit snapshot of every file read with calamine (`creditbook.workbook.snapshot_reader`), with the
    package reader (`creditbook.workbook.package_reader`, what `verify` uses) and, for scale, an openpyxl
    `load_workbook` of each file (skipped with --no-openpyxl: it takes most of the run): wall
    times and their ratios;
(b) the whole register (`build_register`) without verify, and with verify in --jobs processes.

Not part of pytest: timings depend on the machine, so they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

from openpyxl import load_workbook

from creditbook.cli import main
from creditbook.data import default_policy, default_prices
from creditbook.portfolio.register import build_register, find_workbooks
from creditbook.workbook.package_reader import open_book, read_snapshot
from creditbook.workbook.snapshot_reader import read_snapshot_fast

AS_OF = date(2026, 12, 20)


def cpu_seconds() -> float:
    """User + system seconds of this process and of its finished children (the pool's workers)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, action: Callable[[], object]) -> float:
    """Wall seconds of `action`, printed with the CPU seconds it used (on a busy machine the wall
    time of several processes says more about the other jobs than about ours)."""
    cpu, start = cpu_seconds(), time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.2f} s   (CPU {cpu_seconds() - cpu:6.2f} s)")
    return seconds


def evaluated_copies(count: int, scratch: Path) -> list[Path]:
    """`count` evaluated workbooks: the examples evaluated once (`creditbook demo`), copied."""
    demo, book = scratch / "demo", scratch / "book"
    if main(["demo", "--out", str(demo), "--lang", "en"]) != 0:
        raise SystemExit("creditbook demo failed")
    examples = sorted(demo.glob("*.xlsm"))
    book.mkdir()
    for index in range(count):
        source = examples[index % len(examples)]
        shutil.copy(source, book / f"{index:05d}-{source.name}")
    return find_workbooks([book])


def register_times(files: list[Path], jobs: int) -> tuple[float, float]:
    """Wall seconds of the register without verify and with verify (in `jobs` processes)."""
    officials, prices = [default_policy()], default_prices()
    plain = timed(
        "(b) register without verify",
        lambda: build_register(files, officials, prices, AS_OF, verify=False),
    )
    full = timed(
        f"(b) register with verify ({jobs} processes)",
        lambda: build_register(files, officials, prices, AS_OF, verify=True, jobs=jobs),
    )
    return plain, full


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-openpyxl", action="store_true", help="skip the openpyxl loads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        files = evaluated_copies(args.count, Path(scratch))
        print(f"\n{len(files)} evaluated workbooks, jobs={args.jobs}")
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

        def by_calamine() -> None:
            for path in files:
                read_snapshot_fast(path)

        def by_package() -> None:
            for path in files:
                read_snapshot(open_book(path))

        def by_openpyxl() -> None:
            for path in files:
                load_workbook(path)

        fast = timed("(a) snapshot read, calamine", by_calamine)
        package = timed("(a) inputs and snapshot, package reader", by_package)
        slow = None if args.no_openpyxl else timed("(a) openpyxl load_workbook alone", by_openpyxl)
        plain, full = register_times(files, args.jobs)
        scale = "" if slow is None else f", openpyxl {slow / fast:.1f}×"
        print(f"\n  package reader {package / fast:.1f}× calamine's time{scale}")
        print(
            f"  verify makes the register {full / plain:.1f}× slower ({full:.1f} s vs {plain:.1f} s)"
        )
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main_bench()
