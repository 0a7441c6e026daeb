"""Evaluating workbook files: one at a time or many in a process pool, with optional PDFs."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from creditbook.files import InputError, read_policy, write_atomic
from creditbook.layout import APPROVAL_SHEET
from creditbook.models import Decision
from creditbook.policy import Policy, default_policy
from creditbook.records import Issue
from creditbook.workbooks import evaluate_workbook


@dataclass(frozen=True)
class FileResult:
    source: Path
    target: Path | None
    decision: Decision | None
    issues: tuple[Issue, ...]
    pdf: Path | None = None


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs, as plain picklable values."""

    source: Path
    target: Path
    policy_files: tuple[Path, ...]
    evaluated_by: str
    evaluated_at: datetime
    pdf: bool


def user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def officials(policy_files: Sequence[Path]) -> list[Policy]:
    """The official policies: the configured files first, then the shipped default."""
    return [*(read_policy(path) for path in policy_files), default_policy()]


def run_job(job: Job) -> FileResult:
    try:
        result = evaluate_workbook(
            job.source,
            officials=officials(job.policy_files),
            evaluated_by=job.evaluated_by,
            evaluated_at=job.evaluated_at,
        )
    except InputError as exc:
        return FileResult(job.source, None, None, tuple(exc.issues))
    if result.workbook is None:
        return FileResult(job.source, None, None, result.issues)
    write_atomic(job.target, result.workbook)
    pdf = approval_pdf(job.target, job.target.parent) if job.pdf else None
    return FileResult(job.source, job.target, result.decision, result.issues, pdf)


def run_jobs(
    jobs: Sequence[Job], processes: int, progress: Callable[[int, int, FileResult], None]
) -> list[FileResult]:
    """Results in the order of the jobs; several processes when there is more than one file."""
    results: Iterator[FileResult]
    if processes > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            results = pool.map(run_job, jobs, chunksize=max(1, len(jobs) // (processes * 32)))
            return _with_progress(results, len(jobs), progress)
    return _with_progress(map(run_job, jobs), len(jobs), progress)


def _with_progress(
    results: Iterator[FileResult], total: int, progress: Callable[[int, int, FileResult], None]
) -> list[FileResult]:
    done = []
    for result in results:
        done.append(result)
        progress(len(done), total, result)
    return done


def terminal_progress(done: int, total: int, result: FileResult) -> None:
    """A one-line progress bar on an interactive terminal; nothing when output is piped."""
    if not sys.stderr.isatty():
        return
    filled = int(30 * done / total)
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {result.source.name[:40]:<40}"
    )
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def approval_pdf(workbook: Path, out_dir: Path) -> Path | None:
    """The Approval sheet rendered by LibreOffice, when it is installed (None otherwise)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        single = Path(scratch) / f"{workbook.stem}.xlsm"
        wb = load_workbook(workbook, keep_vba=True)
        for ws in wb.worksheets:
            if ws.title != APPROVAL_SHEET:
                ws.sheet_state = "hidden"
        wb.active = wb.sheetnames.index(APPROVAL_SHEET)
        wb.save(single)
        profile = Path(scratch, "profile").as_uri()
        command = [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            scratch,
            str(single),
        ]
        subprocess.run(
            command,
            capture_output=True,
            timeout=180,
            check=False,
            env={**os.environ, "HOME": scratch},
        )
        rendered = Path(scratch) / f"{workbook.stem}.pdf"
        if not rendered.exists():
            return None
        target = out_dir / rendered.name
        write_atomic(target, rendered.read_bytes())
        return target
