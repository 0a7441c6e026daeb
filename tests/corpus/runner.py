"""Runs one corpus case through the real `creditbook evaluate` and measures what it took.

The command's peak resident memory comes from `os.wait4` in a small launcher process that forks
and execs it: Linux keeps the memory high-water mark a process had before `exec` in the one it
reports after, so a command started straight from this (large) test process would show the test
process's peak. `hashlib` proves the input file byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from corpus.cases import WorkbookCase
from corpus.json_cases import JsonCase

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 120  # seconds: a case still running by then is killed and reported as a hang
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Outcome:
    name: str
    exit_code: int
    output: str  # stdout, then stderr
    seconds: float
    peak_mb: float
    input_unchanged: bool
    evaluated: Path | None  # the evaluated workbook, when one was written

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def creditbook(args: list[str], cwd: Path) -> Run:
    """`python -m creditbook ARGS` in `cwd`, measured."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONIOENCODING": "utf-8"}
    stdout, stderr, peak = cwd / ".stdout", cwd / ".stderr", cwd / ".peak"
    peak.unlink(missing_ok=True)
    command = [sys.executable, "-c", LAUNCHER, str(peak), "-m", "creditbook", *args]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=err, env=env, start_new_session=True
        )
        guard = threading.Timer(HANG_GUARD, os.killpg, (process.pid, signal.SIGKILL))
        guard.start()
        code = process.wait()
        seconds = time.perf_counter() - started
        guard.cancel()
    return Run(
        code,
        stdout.read_text("utf-8", "replace"),
        stderr.read_text("utf-8", "replace"),
        seconds,
        int(peak.read_text()) / 1024 if peak.exists() else float("inf"),  # Linux: KiB
    )


def run_case(case: WorkbookCase | JsonCase, folder: Path) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    source = case.build(folder)
    before = digest(source)
    out = folder / "out"
    if isinstance(case, WorkbookCase):
        args = ["evaluate", str(source), "--out", str(out), "--json", "--jobs", "1"]
    else:
        args = ["evaluate", "--input", str(source), "--json"]
    run = creditbook(args, folder)
    evaluated = out / source.name
    return Outcome(
        case.name,
        run.code,
        run.stdout + run.stderr,
        run.seconds,
        run.peak_mb,
        digest(source) == before,
        evaluated if evaluated.exists() else None,
    )
