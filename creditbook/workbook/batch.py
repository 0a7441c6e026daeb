"""Evaluating workbook files: one at a time or many in a process pool, with optional PDFs."""

from __future__ import annotations

import errno
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
from openpyxl.workbook.workbook import Workbook

from creditbook.core.models import Decision
from creditbook.core.policy import Policy
from creditbook.core.records import Issue, Lang, error
from creditbook.data import default_policy
from creditbook.workbook.evaluate import evaluate_workbook
from creditbook.workbook.file_io import InputError, read_policy, write_atomic
from creditbook.workbook.layout import APPROVAL_SHEET
from creditbook.workbook.openpyxl_adapter import read_snapshot


@dataclass(frozen=True)
class FileResult:
    source: Path
    target: Path | None
    decision: Decision | None
    issues: tuple[Issue, ...]
    pdf: Path | None = None
    failed_unexpectedly: bool = False  # a bug, not a problem with the file: the CLI exits 1


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs, as plain picklable values."""

    source: Path
    target: Path
    policy_files: tuple[Path, ...]
    evaluated_by: str
    evaluated_at: datetime
    pdf: bool
    debug: bool = False  # let an unexpected exception propagate, with its traceback
    lang: Lang | None = None  # the documents' language; None: the workbook's, else both


EVALUATOR_VARIABLE = "CREDITBOOK_EVALUATOR"


def evaluator(given: str | None = None) -> str:
    """The person who evaluates: `--evaluator`, else CREDITBOOK_EVALUATOR, else not given ("").
    Never the operating-system account: 'root' or 'admin' signs nothing."""
    return (given or os.environ.get(EVALUATOR_VARIABLE, "")).strip()


def officials(policy_files: Sequence[Path]) -> list[Policy]:
    """The official policies: the configured files first, then the shipped default."""
    return [*(read_policy(path) for path in policy_files), default_policy()]


def run_job(job: Job) -> FileResult:
    """One file's result; a failure with this file never takes the other files' results along."""
    try:
        return _evaluate(job)
    except InputError as exc:
        return FileResult(job.source, None, None, tuple(exc.issues))
    except Exception as exc:
        if job.debug:
            raise
        issue = error(
            (str(job.source),),
            f"内部错误（程序缺陷，请报告）：{type(exc).__name__}: {exc}",
            f"internal error (a bug, please report): {type(exc).__name__}: {exc}",
        )
        return FileResult(job.source, None, None, (issue,), failed_unexpectedly=True)


def _evaluate(job: Job) -> FileResult:
    try:  # openpyxl saves each sheet through a scratch file in the temporary folder
        result = evaluate_workbook(
            job.source,
            officials=officials(job.policy_files),
            evaluated_by=job.evaluated_by,
            evaluated_at=job.evaluated_at,
            lang=job.lang,
        )
    except OSError as exc:
        scratch = Path(tempfile.gettempdir())
        return _not_written(job, scratch, exc, "无法写入临时文件", "cannot write a temporary file")
    if result.workbook is None:
        return FileResult(job.source, None, None, result.issues)
    try:
        write_atomic(job.target, result.workbook)
    except OSError as exc:
        return _not_written(job, job.target, exc, "无法写入", "cannot write")
    try:
        pdf = approval_pdf(job.target, job.target.parent) if job.pdf else None
    except OSError as exc:
        zh, en = _reasons(exc)
        issue = error(
            (str(job.target.with_suffix(".pdf")),),
            f"无法写入 PDF：{zh} — 评估后的工作簿已写入 {job.target}",
            f"cannot write the PDF: {en} — the evaluated workbook was written to {job.target}",
        )
        return FileResult(job.source, job.target, None, (issue,))
    return FileResult(job.source, job.target, result.decision, result.issues, pdf)


def _not_written(job: Job, where: Path, exc: OSError, failed_zh: str, failed_en: str) -> FileResult:
    zh, en = _reasons(exc)
    issue = error(
        (str(where),),
        f"{failed_zh}：{zh} — 未写入任何内容，输入文件未改动",
        f"{failed_en}: {en} — nothing was written; the input is unchanged",
    )
    return FileResult(job.source, None, None, (issue,))


# The usual reasons a write fails, in Chinese; any other reason is shown as the system says it.
WRITE_REASONS_ZH = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出磁盘配额",
    errno.EROFS: "只读文件系统",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EFBIG: "文件过大",
}


def _reasons(exc: OSError) -> tuple[str, str]:
    """Why the system refused a write, in Chinese and in English."""
    en = exc.strerror or str(exc)
    return WRITE_REASONS_ZH.get(exc.errno or 0, en), en


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
        printable(workbook, single)
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


def printable(workbook: Path, target: Path) -> None:
    """A copy of an evaluated workbook that prints its Approval sheet only, with the footer in
    the approval's language (what `approval_pdf` hands to LibreOffice)."""
    wb = load_workbook(workbook, keep_vba=True)
    for ws in wb.worksheets:
        if ws.title != APPROVAL_SHEET:
            ws.sheet_state = "hidden"
    _footer(wb)
    wb.active = wb.sheetnames.index(APPROVAL_SHEET)
    wb.save(target)


def _footer(wb: Workbook) -> None:
    """The printed footer in the approval's language: the customer, page X of Y and the start of
    the audit fingerprint that `creditbook verify` checks."""
    snapshot, ws = read_snapshot(wb), wb[APPROVAL_SHEET]
    customer = str(snapshot.get("application.profile.customer_name") or "").replace("&", "&&")
    fingerprint = str(snapshot.get("audit.fingerprint") or "")[:12]
    lang = snapshot.get("document.language")
    pages = {"zh": "第 &P 页，共 &N 页", "en": "page &P of &N"}
    prints = {"zh": "审计指纹", "en": "audit fingerprint"}
    footer = ws.oddFooter
    assert footer is not None
    footer.left.text = customer  # the title row heads every page already
    footer.center.text = pages.get(str(lang), " · ".join(pages.values()))
    footer.right.text = f"{prints.get(str(lang), ' '.join(prints.values()))} {fingerprint}"
    for side in (footer.left, footer.center, footer.right):
        side.size = 8
