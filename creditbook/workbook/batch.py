"""Evaluating workbook files: one at a time or many in a process pool, with optional PDFs."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from creditbook.core.models import Decision
from creditbook.core.records import Issue, Lang, error
from creditbook.workbook.cells import CellValue
from creditbook.workbook.evaluate import evaluate_workbook
from creditbook.workbook.file_io import InputError, write_atomic
from creditbook.workbook.layout import ANNEX_SHEET, APPROVAL_SHEET
from creditbook.workbook.package_reader import open_book, read_snapshot
from creditbook.workbook.session import officials

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


@dataclass(frozen=True)
class FileResult:
    source: Path
    target: Path | None
    decision: Decision | None
    issues: tuple[Issue, ...]
    pdf: Path | None = None
    annex_pdf: Path | None = None
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
    result = evaluate_workbook(  # in memory: nothing is written before the atomic write below
        job.source,
        officials=officials(job.policy_files),
        evaluated_by=job.evaluated_by,
        evaluated_at=job.evaluated_at,
        lang=job.lang,
    )
    if result.workbook is None:
        return FileResult(job.source, None, None, result.issues)
    try:
        write_atomic(job.target, result.workbook)
    except OSError as exc:
        return _not_written(job, job.target, exc, "无法写入", "cannot write")
    try:
        pdfs = document_pdfs(job.target, job.target.parent) if job.pdf else {}
    except OSError as exc:
        zh, en = _reasons(exc)
        issue = error(
            (str(job.target.with_suffix(".pdf")),),
            f"无法写入 PDF：{zh} — 评估后的工作簿已写入 {job.target}",
            f"cannot write the PDF: {en} — the evaluated workbook was written to {job.target}",
        )
        return FileResult(job.source, job.target, None, (issue,))
    return FileResult(
        job.source,
        job.target,
        result.decision,
        result.issues,
        pdfs.get(APPROVAL_SHEET),
        pdfs.get(ANNEX_SHEET),
    )


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
        # imported here: one file never needs the pool, and importing it costs each evaluate 10 ms
        from concurrent.futures import ProcessPoolExecutor

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


def document_pdfs(workbook: Path, out_dir: Path) -> dict[str, Path]:
    """NAME.pdf (the Approval sheet) and NAME.annex.pdf (the Annex sheet, when the workbook has
    one), in one LibreOffice run; empty when LibreOffice is not installed."""
    return sheet_pdfs(
        workbook,
        {
            APPROVAL_SHEET: out_dir / f"{workbook.stem}.pdf",
            ANNEX_SHEET: out_dir / f"{workbook.stem}.annex.pdf",
        },
    )


def sheet_pdfs(
    workbook: Path, targets: Mapping[str, Path], lang: Lang | None = None
) -> dict[str, Path]:
    """Each sheet named in `targets` (that the workbook has) rendered alone to its PDF by one
    LibreOffice run, footers in `lang` (None: the document's); the sheets rendered, or nothing when
    LibreOffice is not installed."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return {}
    with tempfile.TemporaryDirectory() as scratch:
        singles = printable(
            workbook,
            {sheet: Path(scratch) / f"{target.stem}.xlsm" for sheet, target in targets.items()},
            lang,
        )
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
            *map(str, singles.values()),
        ]
        subprocess.run(
            command,
            capture_output=True,
            timeout=180,
            check=False,
            env={**os.environ, "HOME": scratch},
        )
        written = {}
        for sheet, single in singles.items():
            rendered = single.with_suffix(".pdf")
            if rendered.exists():
                write_atomic(targets[sheet], rendered.read_bytes())
                written[sheet] = targets[sheet]
        return written


def printable(
    workbook: Path, copies: Mapping[str, Path], lang: Lang | None = None
) -> dict[str, Path]:
    """Copies of an evaluated workbook that each print one sheet only (sheet → copy, for the sheets
    the workbook has), with the footer in `lang` (None: the language the approval was written in):
    what LibreOffice is given."""
    from openpyxl import load_workbook  # only for printing: evaluating never loads openpyxl

    snapshot = read_snapshot(open_book(workbook))
    wb = load_workbook(workbook, keep_vba=True)
    areas = {ws.title: ws.print_area for ws in wb.worksheets}
    made = {}
    for sheet in (name for name in copies if name in wb.sheetnames):
        for ws in wb.worksheets:  # LibreOffice prints a hidden sheet that has a print area
            shown = ws.title == sheet
            ws.sheet_state = "visible" if shown else "hidden"
            ws.sheet_view.tabSelected = shown
            ws.print_area = areas[ws.title] if shown else None
        _footer(wb[sheet], snapshot, lang or snapshot.get("document.language"))
        wb.active = wb.sheetnames.index(sheet)
        wb.save(copies[sheet])
        made[sheet] = copies[sheet]
    return made


def _footer(ws: Worksheet, snapshot: Mapping[str, CellValue], lang: CellValue) -> None:
    """The printed footer in the document's language: page X of Y; on the Approval sheet also the
    customer and the start of the audit fingerprint that `creditbook verify` checks (the annex
    names its parties and its approval in its own text)."""
    pages = {"zh": "第 &P 页，共 &N 页", "en": "page &P of &N"}
    prints = {"zh": "审计指纹", "en": "audit fingerprint"}
    footer = ws.oddFooter
    assert footer is not None
    footer.center.text = pages.get(str(lang), " · ".join(pages.values()))
    fingerprint = str(snapshot.get("audit.fingerprint") or "")[:12]
    if ws.title == APPROVAL_SHEET and fingerprint:
        customer = str(snapshot.get("application.profile.customer_name") or "")
        footer.left.text = customer.replace("&", "&&")  # the title row heads every page already
        footer.right.text = f"{prints.get(str(lang), ' '.join(prints.values()))} {fingerprint}"
    for side in (footer.left, footer.center, footer.right):
        side.size = 8
