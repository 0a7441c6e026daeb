"""Faults while writing: kill -9 at random moments, a full disk, a read-only file system.

The destination is always the old file or the complete new one; a write that fails says where and
why, exits 2 and loses nothing; a bug with one file of a batch keeps the other files' results.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from faults import EXAMPLE, NAME, kill_trials, mount_problem, temporaries, write_faults

from creditbook.workbook.batch import Job, run_job, run_jobs
from creditbook.workbook.evaluate import Evaluated, evaluate_workbook

KILL_TRIALS = 60

# Skipped on a developer machine that cannot mount; in CI (CI=true) that fails with the reason.
needs_mount = pytest.mark.skipif(
    mount_problem() is not None and not os.environ.get("CI"),
    reason=f"{mount_problem()}; CI runs as root",
)


def test_kill_9_leaves_the_old_file_or_the_complete_new_one(tmp_path: Path) -> None:
    stats = kill_trials(tmp_path, KILL_TRIALS, seed=6)
    assert stats.partial == 0 and not stats.problems, "\n".join(stats.problems)
    assert stats.trials == KILL_TRIALS
    assert stats.temp_seen > 0, stats  # some kills landed while the file was being written
    assert stats.old_kept > 0 and stats.new_complete > 0, stats
    assert stats.old_kept + stats.new_complete == KILL_TRIALS


@needs_mount
def test_a_write_it_cannot_make_says_why_and_loses_nothing(tmp_path: Path) -> None:
    runs = write_faults(tmp_path)
    assert [run.scenario for run in runs if not run.clean] == [], runs
    assert {run.reason for run in runs} == {os.strerror(errno.ENOSPC), os.strerror(errno.EROFS)}
    for run in runs:
        assert "未写入任何内容，输入文件未改动" in run.stderr, run
    # evaluate works in memory: a full temporary folder only shows when the result is written
    [scratch] = [run for run in runs if run.scenario == "full temporary folder"]
    assert "cannot write: " in scratch.stderr
    assert "cannot write a temporary file" not in scratch.stderr


def _job(source: Path, target: Path) -> Job:
    return Job(source, target, (), "tester", datetime(2026, 11, 28, tzinfo=UTC), pdf=False)


def test_a_failing_write_removes_its_temporary_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Path(shutil.copyfile(EXAMPLE, tmp_path / "in.xlsm"))
    target = tmp_path / "out" / NAME
    target.parent.mkdir()
    target.write_bytes(b"the old evaluated workbook")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)  # the first fsync is of the temporary file
    result = run_job(_job(source, target))
    assert result.decision is None and result.target is None and not result.failed_unexpectedly
    [issue] = [issue for issue in result.issues if issue.path == (str(target),)]
    assert issue.message.zh.startswith("无法写入：磁盘空间不足")
    assert issue.message.en.startswith(f"cannot write: {os.strerror(errno.ENOSPC)}")
    assert target.read_bytes() == b"the old evaluated workbook"
    assert temporaries(target.parent) == []
    assert source.read_bytes() == EXAMPLE.read_bytes()


def test_a_bug_with_one_file_keeps_the_others_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = [Path(shutil.copyfile(EXAMPLE, tmp_path / f"{i}.xlsm")) for i in range(3)]

    def broken_for_the_second(path: Path, **kwargs: Any) -> Evaluated:
        if path == sources[1]:
            raise ZeroDivisionError("a bug")
        return evaluate_workbook(path, **kwargs)

    monkeypatch.setattr("creditbook.workbook.batch.evaluate_workbook", broken_for_the_second)
    jobs = [_job(source, tmp_path / "out" / source.name) for source in sources]
    first, second, third = run_jobs(jobs, 1, lambda done, total, result: None)
    assert first.decision is not None and third.decision is not None
    assert (tmp_path / "out" / "2.xlsm").exists()
    assert second.decision is None and second.failed_unexpectedly
    [issue] = second.issues
    assert issue.path == (str(sources[1]),)
    assert issue.message.en == "internal error (a bug, please report): ZeroDivisionError: a bug"
    assert not (tmp_path / "out" / "1.xlsm").exists()
    with pytest.raises(ZeroDivisionError):  # --debug shows the traceback
        run_job(replace(jobs[1], debug=True))
