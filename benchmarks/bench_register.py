"""How fast `creditbook register` reads many workbooks. Run on demand:

    python benchmarks/bench_register.py [--count 1000] [--jobs 2]

--count copies of the evaluated example workbooks (`creditbook demo`) in a temporary folder, then,
in one run:
(a) the audit snapshot of every file read with calamine (`creditbook.workbook.snapshot_reader`) and with openpyxl
    (`creditbook.workbook.openpyxl_adapter.load` + `read_snapshot`, what `verify` uses): wall times and their ratio;
(b) the whole register (`build_register`) without verify, and with verify in --jobs processes.

Not part of pytest: timings depend on the machine, so they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

from creditbook.cli import main
from creditbook.data import default_policy, default_prices
from creditbook.portfolio.register import build_register, find_workbooks
from creditbook.workbook.openpyxl_adapter import load, read_snapshot
from creditbook.workbook.snapshot_reader import read_snapshot_fast

AS_OF = date(2026, 12, 20)


def timed(label: str, action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.2f} s")
    return seconds


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        demo, book = Path(scratch) / "demo", Path(scratch) / "book"
        if main(["demo", "--out", str(demo), "--lang", "en"]) != 0:
            raise SystemExit("creditbook demo failed")
        examples = sorted(demo.glob("*.xlsm"))
        book.mkdir()
        for index in range(args.count):
            source = examples[index % len(examples)]
            shutil.copy(source, book / f"{index:05d}-{source.name}")
        files = find_workbooks([book])
        print(
            f"\n{len(files)} evaluated workbooks ({len(examples)} examples copied), jobs={args.jobs}"
        )

        def by_calamine() -> None:
            for path in files:
                read_snapshot_fast(path)

        def by_openpyxl() -> None:
            for path in files:
                read_snapshot(load(path))

        fast = timed("(a) snapshot read, calamine", by_calamine)
        slow = timed("(a) snapshot read, openpyxl", by_openpyxl)
        officials = [default_policy()]
        prices = default_prices()
        plain = timed(
            "(b) register without verify",
            lambda: build_register(files, officials, prices, AS_OF, verify=False),
        )
        full = timed(
            f"(b) register with verify ({args.jobs} processes)",
            lambda: build_register(files, officials, prices, AS_OF, verify=True, jobs=args.jobs),
        )
        print(f"\n  calamine is {slow / fast:.1f}× faster than openpyxl for the snapshot read")
        print(f"  {len(files) / fast:,.0f} vs {len(files) / slow:,.0f} workbooks/s")
        print(
            f"  verify makes the register {full / plain:.1f}× slower ({full:.1f} s vs {plain:.1f} s)"
        )


if __name__ == "__main__":
    main_bench()
