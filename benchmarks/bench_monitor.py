"""How fast `creditbook monitor` reads usage, at 1 M, 10 M and 100 M rows, against the CSV path it
replaced:

    python benchmarks/bench_monitor.py [--sizes 1M,10M,100M] [--customers 2000] [--engine duckdb]

Generates usage in the generic format (customer, date, provider, model, cost: 2,000 customers ×
20 models over 90 days) as Parquet, in chunks of at most 10 M rows written by DuckDB straight from
`range()` (generation never holds the data in memory), under a temporary folder that is deleted
afterwards. Each measurement runs in its own process — `read_book` (receivables, then the usage
aggregated by the engine, back as Arrow columns of per key × day sums, added per customer and day
as integers) and `monitor` (metrics, playbook and "since when" per customer) — and reports its
wall time, rows per second and peak memory (the process's maximum RSS, `resource.getrusage`).

The old path is measured in the same run on a 1 M-row CSV of the same rows: the `read_usage` and
`monitor` of the commit before this change (`OLD_COMMIT`), taken from git into a temporary module
(so it is main's own code, not a reimplementation), against the new path on the same CSV and on
the same rows as Parquet. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

# main before monitor read usage where it lives: the row-by-row CSV reader
OLD_COMMIT = "c8b2da1f47c810a18e4c811d772ac9efba87d603"
AS_OF = "2026-12-20"
MODELS = (
    "gpt-6-astra",
    "gpt-6.1-sol",
    "gpt-5.4-mini",
    "claude-sonnet-5.5",
    "claude-opus-5",
    "deepseek-v4",
    "deepseek-r2",
    "qwen3-max",
    "qwen3.5-plus",
    "doubao-pro-2",
    *(f"model-{n}" for n in range(10)),
)
CHUNK = 10_000_000
TARGET_SPEED_UP, TARGET_PEAK_MB = 20, 4096


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


def rows_sql(start: int, stop: int, customers: int) -> str:
    """Rows start..stop-1 of the synthetic book: deterministic (DuckDB's hash of the row number),
    spread evenly over customers, models and the 90 days before the as-of date, so every customer
    has every day (≈ 31 groups each come back); cost 0.01–50.00 as DECIMAL(18, 2)."""
    models = ", ".join(f"'{m}'" for m in MODELS)
    return f"""
        SELECT
            printf('C%07d', hash(i) % {customers}) AS customer,
            DATE '{AS_OF}' - CAST(hash(i + 1) % 90 AS INTEGER) AS date,
            'openai' AS provider,
            ([{models}])[1 + CAST(hash(i + 2) % {len(MODELS)} AS INTEGER)] AS model,
            CAST((hash(i + 3) % 5000) / 100.0 + 0.01 AS DECIMAL(18, 2)) AS cost
        FROM range({start}, {stop}) AS r(i)
    """


def generate(folder: Path, rows: int, customers: int, kind: str = "parquet") -> Path:
    import duckdb

    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    for index, start in enumerate(range(0, rows, CHUNK)):
        stop = min(rows, start + CHUNK)
        target = folder / f"usage-{index:03d}.{kind}"
        options = "FORMAT parquet, COMPRESSION zstd" if kind == "parquet" else "FORMAT csv, HEADER"
        sql = rows_sql(start, stop, customers)
        if kind == "csv":
            sql = f"SELECT customer, strftime(date, '%Y-%m-%d') AS date, provider, model, cost FROM ({sql})"
        con.execute(f"COPY ({sql}) TO '{target}' ({options})")
    con.close()
    return folder if rows > CHUNK else next(folder.iterdir())


def write_inputs(folder: Path, customers: int) -> tuple[Path, Path]:
    """A register of the customers (CNY, 60,000 limit) and one invoice each on 30 November."""
    import csv

    from creditbook.portfolio.register import REGISTER_COLUMNS

    register, receivables = folder / "register.csv", folder / "ar.csv"
    with register.open("w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, REGISTER_COLUMNS, restval="")
        out.writeheader()
        for n in range(customers):
            out.writerow(
                {
                    "customer": f"Customer {n}",
                    "credit_code": f"C{n:07d}",
                    "decision": "approve",
                    "tier": "T2",
                    "approved_limit": 60000,
                    "currency": "CNY",
                    "structure": "monthly_settlement",
                    "high_cost_share": "0.2",
                    "peak_monthly_spend": 30000,
                    "status": "evaluated",
                }
            )
    lines = ["invoice,customer,issue_date,due_date,paid_date,amount"]
    lines += [f"I{n},C{n:07d},2026-11-30,2026-12-30,,10000" for n in range(customers)]
    receivables.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return register, receivables


def measure(args: argparse.Namespace) -> None:
    """One measurement in this process: print its figures as JSON."""
    import resource
    from datetime import date

    from creditbook.data import default_policy, default_prices
    from creditbook.portfolio import monitor, register

    policy, prices, as_of = default_policy(), default_prices(), date.fromisoformat(AS_OF)
    imported = time.perf_counter()
    if args.path == "new":  # start-up, the same for every size: loading the engine's libraries
        import ibis
        import ibis.backends.duckdb  # noqa: F401

        if args.engine == "spark":
            from creditbook.portfolio.sources import spark_session

            spark_session()
    startup = time.perf_counter() - imported
    started = time.perf_counter()
    customers = monitor.customers_of(register.read_register(Path(args.register)))
    if args.path == "old":
        old = _old_monitor_module(Path(args.workdir))
        old_customers = old.customers_of(register.read_register(Path(args.register)))
        usage = old.read_usage(Path(args.usage), old_customers, policy, prices)
        invoices = old.read_receivables(Path(args.receivables), old_customers)
        # main's monitor() filtered the whole usage list once per customer (quadratic: hours at
        # 2,000 customers); grouped first, as the new path does, only its reading is compared.
        used: dict[str, list[object]] = {}
        for item in usage:
            used.setdefault(item.customer, []).append(item)
        billed: dict[str, list[object]] = {}
        for invoice in invoices:
            billed.setdefault(invoice.customer, []).append(invoice)
        results = [
            old.assess_customer(c, used.get(c.name, []), billed.get(c.name, []), policy, as_of)
            for c in old_customers
        ]
        rows = len(usage)
    else:
        options = monitor.Options(engine=args.engine)
        reading, invoices = monitor.read_book(
            args.usage, Path(args.receivables), customers, policy, prices, as_of, options
        )
        results = monitor.monitor(customers, reading.spend, invoices, policy, as_of)
        rows = reading.rows
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fired = sum(health.action_needed for health in results)
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "startup": startup,
                "peak_mb": peak_kb / 1024,
                "fired": fired,
            }
        )
    )


def _old_monitor_module(workdir: Path):  # type: ignore[no-untyped-def]
    """main's monitor.py of OLD_COMMIT, imported from a temporary file."""
    import importlib.util

    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:creditbook/portfolio/monitor.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = workdir / "old_monitor.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_monitor", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_monitor"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def run_one(
    path: str, usage: Path, register: Path, receivables: Path, work: Path, engine: str
) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--measure",
        *("--path", path, "--usage", str(usage), "--register", str(register)),
        *("--receivables", str(receivables), "--workdir", str(work), "--engine", engine),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"measuring {path} on {usage} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,10M,100M", help="comma-separated row counts")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--no-old", action="store_true", help="skip the old CSV path at 1 M")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    for name in ("path", "usage", "register", "receivables", "workdir"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args)
        return
    sizes = [parse_size(size) for size in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="creditbook-bench-monitor-"))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; data under {work}")
    try:
        register, receivables = write_inputs(work, args.customers)
        table: list[tuple[str, int, dict[str, float]]] = []
        if not args.no_old:
            csv_path = generate(work / "csv-1M", 1_000_000, args.customers, "csv")
            old = run_one("old", csv_path, register, receivables, work, "duckdb")
            new_csv = run_one("new", csv_path, register, receivables, work, "duckdb")
            table += [("old: CSV row by row (main)", 1_000_000, old)]
            table += [("new: CSV, duckdb", 1_000_000, new_csv)]
            shutil.rmtree(work / "csv-1M")
        for size in sizes:
            started = time.perf_counter()
            data = generate(work / f"parquet-{size}", size, args.customers)
            made = time.perf_counter() - started
            print(f"generated {size:,} rows of Parquet in {made:.1f} s", flush=True)
            result = run_one("new", data, register, receivables, work, args.engine)
            table.append((f"new: Parquet, {args.engine}", size, result))
            shutil.rmtree(work / f"parquet-{size}")
            print(
                f"  {size:,} rows: {result['seconds']:.2f} s, {result['peak_mb']:.0f} MB",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        f"{'path':28} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak MB':>8} "
        f"{'start-up s':>10} {'customers fired':>15}"
    )
    for name, size, result in table:
        rate = size / result["seconds"]
        print(
            f"{name:28} {size:>12,} {result['seconds']:>9.2f} {rate:>12,.0f} "
            f"{result['peak_mb']:>8.0f} {result['startup']:>10.2f} {int(result['fired']):>15}"
        )
    base = {name: size / r["seconds"] for name, size, r in table if size == 1_000_000}
    old_rate = base.get("old: CSV row by row (main)")
    if old_rate:
        for name, rate in base.items():
            if name.startswith("new"):
                print(
                    f"speed-up at 1 M rows, {name}: {rate / old_rate:.0f}× (target ≥ {TARGET_SPEED_UP}×)"
                )
    parquet = [(size, r["seconds"]) for name, size, r in table if name.startswith("new: Parquet")]
    if len(parquet) > 1:
        (small, t_small), (large, t_large) = parquet[0], parquet[-1]
        print(
            f"time per row, {large:,} against {small:,} rows: {(t_large / large) / (t_small / small):.2f} "
            "(1.00 is linear; fixed start-up costs make small sizes look slower)"
        )
    peak = max(r["peak_mb"] for _, _, r in table)
    print(f"peak memory of any run: {peak:.0f} MB (target < {TARGET_PEAK_MB} MB at 100 M rows)")


if __name__ == "__main__":
    main()
