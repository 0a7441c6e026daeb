"""Faults while `creditbook evaluate` writes, run against the real command in subprocesses.

`kill_trials` kills it with SIGKILL at random moments, many of them during the write, and sorts
what is left at the destination: the old file, the complete new one, or anything else (a partial
file, which must never happen). `write_faults` runs it against a full disk, a read-only file
system and a full temporary folder, each a real tmpfs mounted in a private namespace. Used by
tests/workbook/test_faults.py and by the reliability report.
"""

from __future__ import annotations

import errno
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cli_run import ROOT
from openpyxl import load_workbook

from creditbook.core.policy import Policy
from creditbook.workbook.session import officials
from creditbook.workbook.verify import verify_file

EXAMPLE = ROOT / "workbook" / "examples" / "listed_company.xlsm"
NAME = EXAMPLE.name
PAGE = 4096  # tmpfs sizes are whole pages


def evaluate_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "creditbook", "evaluate", *map(str, args), "--jobs", "1"]


def command_env(scratch: Path) -> dict[str, str]:
    """The environment of tests/cli_run.py (this checkout's package first on the path), with the
    temporary folder, where openpyxl keeps its scratch files, at `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "TMPDIR": str(scratch)}


def temporaries(folder: Path) -> list[str]:
    """The temporary files write_atomic makes for NAME in `folder` (`.NAME.<random>.tmp`)."""
    return [n for n in os.listdir(folder) if n.startswith(f".{NAME}.") and n.endswith(".tmp")]


# ------------------------------------------------------------------------------------ kill -9
@dataclass
class KillStats:
    trials: int = 0
    finished: int = 0  # the run ended by itself before the kill arrived
    temp_seen: int = 0  # the temporary file was there just before the kill: killed while writing
    old_kept: int = 0
    new_complete: int = 0
    partial: int = 0  # anything else at the destination: must stay 0
    leftover_temps: int = 0  # temporary files a killed run left beside the destination
    leftover_scratch: int = 0  # openpyxl's scratch files killed runs left in the temporary folder
    problems: list[str] = field(default_factory=list)  # one entry per trial that went wrong


@dataclass(frozen=True)
class _Baseline:
    """An uninterrupted run of one mode: how long it takes and the file its destination held."""

    seconds: float
    old: bytes


def kill_trials(workdir: Path, count: int, seed: int) -> KillStats:
    """`count` runs killed at random: alternately --out (over an earlier result) and --in-place;
    in every other pair the kill waits for the temporary file to appear, then 0–2 ms more."""
    rng = random.Random(seed)
    policies = officials([])
    baselines = {
        in_place: _baseline(workdir / f"baseline-{in_place}", in_place)
        for in_place in (False, True)
    }
    stats = KillStats()
    for index in range(count):
        in_place, poll = bool(index % 2), bool(index // 2 % 2)
        folder = workdir / f"trial{index:03d}"
        _trial(folder, in_place, poll, baselines[in_place], rng, policies, stats)
    stats.leftover_scratch = len(os.listdir(workdir / "scratch"))
    return stats


def _baseline(folder: Path, in_place: bool) -> _Baseline:
    """--out: the evaluated workbook is the old destination of the trials; --in-place: the input."""
    _, destination, args = _prepare(folder, in_place, None)
    started = time.perf_counter()
    result = subprocess.run(
        evaluate_command(*args),
        cwd=folder,
        env=command_env(folder.parent / "scratch"),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise AssertionError(f"an uninterrupted evaluate failed:\n{result.stdout}{result.stderr}")
    return _Baseline(seconds, EXAMPLE.read_bytes() if in_place else destination.read_bytes())


def _prepare(
    folder: Path, in_place: bool, old: bytes | None
) -> tuple[Path, Path, tuple[str | Path, ...]]:
    """(input, destination, evaluate arguments) in a fresh folder, with the old destination if
    given (with --in-place the input is the old file)."""
    folder.mkdir(parents=True)
    source = folder / NAME
    shutil.copyfile(EXAMPLE, source)
    if in_place:
        return source, source, (source, "--in-place")
    destination = folder / "out" / NAME
    destination.parent.mkdir()
    if old is not None:
        destination.write_bytes(old)
    return source, destination, (source, "--out", destination.parent)


def _trial(
    folder: Path,
    in_place: bool,
    poll: bool,
    baseline: _Baseline,
    rng: random.Random,
    policies: Sequence[Policy],
    stats: KillStats,
) -> None:
    source, destination, args = _prepare(folder, in_place, baseline.old)
    mode = "--in-place" if in_place else "--out"
    process = subprocess.Popen(
        evaluate_command(*args),
        cwd=folder,
        env=command_env(folder.parent / "scratch"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if poll:
        while process.poll() is None and not temporaries(destination.parent):
            time.sleep(0.0001)  # the write takes about a millisecond on a local disk
        time.sleep(rng.uniform(0, 0.002))
    else:
        time.sleep(rng.uniform(0, baseline.seconds))
    seen = bool(temporaries(destination.parent))
    process.send_signal(signal.SIGKILL)
    out, err = process.communicate()
    stats.trials += 1
    stats.temp_seen += seen
    if process.returncode != -signal.SIGKILL:
        stats.finished += 1
        if process.returncode != 0:
            stats.problems.append(f"{folder.name} {mode}: exit {process.returncode}\n{out}{err}")

    left = temporaries(destination.parent)
    stats.leftover_temps += len(left)
    others = set(os.listdir(destination.parent)) - {NAME, *left}
    if others:
        stats.problems.append(f"{folder.name} {mode}: unexpected files {sorted(others)}")
    if not in_place and source.read_bytes() != EXAMPLE.read_bytes():
        stats.problems.append(f"{folder.name} {mode}: the input changed")

    outcome = _outcome(destination, baseline.old, policies)
    if outcome == "old":
        stats.old_kept += 1
    elif outcome == "new":
        stats.new_complete += 1
    else:
        stats.partial += 1
        stats.problems.append(f"{folder.name} {mode}: {destination} is {outcome}")


def _outcome(destination: Path, old: bytes, policies: Sequence[Policy]) -> str:
    """'old', 'new' (a complete evaluated workbook), or what is wrong with the file."""
    if not destination.exists():
        return "missing"
    if destination.read_bytes() == old:
        return "old"
    try:
        with zipfile.ZipFile(destination) as archive:
            broken = archive.testzip()
        load_workbook(destination, keep_vba=True)
    except Exception as exc:
        return f"not a workbook ({type(exc).__name__}: {exc})"
    if broken is not None:
        return f"a damaged archive (member {broken})"
    status = verify_file(destination, policies).status
    return "new" if status == "unchanged" else f"a workbook that verifies as {status}"


# ------------------------------------------------- full disk, read-only, full temporary folder
@dataclass(frozen=True)
class WriteFault:
    """One evaluate that cannot write, and what it left behind."""

    scenario: str
    named: Path  # where the message must say the write failed
    reason: str  # the system's words for the expected error
    returncode: int
    stderr: str
    destination_kept: bool  # byte-identical to before the run
    input_kept: bool
    listing: tuple[str, ...]  # the mounted folder afterwards

    @property
    def clean(self) -> bool:
        """Exit 2, the path and the reason in plain words, nothing lost, no temporary file left."""
        return (
            self.returncode == 2
            and str(self.named) in self.stderr
            and self.reason in self.stderr
            and "Traceback" not in self.stderr
            and self.destination_kept
            and self.input_kept
            and self.listing == (NAME,)
        )


def _unshare() -> list[str]:
    """A private mount namespace, whose mounts vanish with it: as root directly, otherwise inside
    a user namespace."""
    return ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])


@cache
def mount_problem() -> str | None:
    """Why a private tmpfs cannot be mounted here, or None when it can."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            [*_unshare(), "mount", "-t", "tmpfs", "tmpfs", folder],
            capture_output=True,
            text=True,
            check=False,
        )
    if probe.returncode != 0:
        return f"cannot mount a private tmpfs (needs root or user namespaces): {probe.stderr}"
    return None


def write_faults(workdir: Path) -> list[WriteFault]:
    """A full disk and a read-only file system under the destination (--out over an earlier
    result, and --in-place), and a full temporary folder; each on its own tmpfs."""
    problem = mount_problem()
    if problem is not None:
        raise RuntimeError(problem)
    evaluated = _baseline(workdir / "baseline", in_place=False).old
    original = EXAMPLE.read_bytes()
    full, read_only = errno.ENOSPC, errno.EROFS
    return [
        _write_fault(workdir, "full disk", full, evaluated, in_place=False),
        _write_fault(workdir, "full disk --in-place", full, original, in_place=True),
        _write_fault(workdir, "read-only", read_only, evaluated, in_place=False),
        _write_fault(workdir, "read-only --in-place", read_only, original, in_place=True),
        _write_fault(
            workdir, "full temporary folder", full, evaluated, in_place=False, scratch=True
        ),
    ]


def _write_fault(
    workdir: Path, scenario: str, code: int, old: bytes, *, in_place: bool, scratch: bool = False
) -> WriteFault:
    """`old` is put on a fresh tmpfs as the destination (with --in-place: as the input); with
    `scratch` the tmpfs is the temporary folder too. A full one has room for `old` and 16 KiB,
    less than the evaluated workbook (with `scratch` 4 KiB: Python only takes a temporary folder
    where it can write a few bytes; evaluate itself needs none, so the write of the result fails)."""
    folder = workdir / scenario.replace(" ", "_").replace("--", "")
    mount = folder / "mnt"
    mount.mkdir(parents=True)
    source = folder / NAME
    shutil.copyfile(EXAMPLE, source)
    (folder / "old").write_bytes(old)
    destination = mount / NAME
    args = (destination, "--in-place") if in_place else (source, "--out", mount)
    pages = -(-len(old) // PAGE) + (1 if scratch else 4)
    size = pages * PAGE if code == errno.ENOSPC else 2**24
    q = shlex.quote
    script = "\n".join(
        [
            "set -e",
            f"mount -t tmpfs -o size={size} tmpfs {q(str(mount))}",
            f"cp {q(str(folder / 'old'))} {q(str(destination))}",
            # The mount point read-only: in a user namespace the file system itself cannot be.
            f"mount -o remount,ro,bind {q(str(mount))}" if code == errno.EROFS else "",
            "set +e",
            f"{shlex.join(evaluate_command(*args))} 2> {q(str(folder / 'stderr'))}",
            f"echo $? > {q(str(folder / 'returncode'))}",
            f"ls -A {q(str(mount))} > {q(str(folder / 'listing'))}",
            f"cp {q(str(destination))} {q(str(folder / 'after'))}",
        ]
    )
    ran = subprocess.run(
        [*_unshare(), "sh", "-c", script],
        cwd=folder,
        env=command_env(mount if scratch else folder / "scratch"),
        capture_output=True,
        text=True,
        check=False,
    )
    if not (folder / "returncode").exists():
        raise RuntimeError(f"{scenario}: the tmpfs could not be set up:\n{ran.stderr}")
    return WriteFault(
        scenario=scenario,
        named=mount if scratch else destination,
        reason=os.strerror(code),
        returncode=int((folder / "returncode").read_text()),
        stderr=(folder / "stderr").read_text(),
        destination_kept=(folder / "after").read_bytes() == old,
        input_kept=source.read_bytes() == EXAMPLE.read_bytes(),
        listing=tuple((folder / "listing").read_text().split()),
    )
