"""File I/O at the edge: reading application and policy files, atomic writes."""

from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from creditbook.policy import Policy, parse_policy
from creditbook.prices import PriceTable, default_prices, parse_prices
from creditbook.records import Issue, error


class InputError(Exception):
    """A file the user named cannot be used; carries located issues."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(issue.render("en") for issue in issues))
        self.issues = issues


def unreadable_workbook(path: Path, exc: Exception) -> InputError:
    return InputError(
        [
            error(
                (str(path),),
                f"不是可读取的 Excel 工作簿：{exc}",
                f"not a readable Excel workbook: {exc}",
            )
        ]
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError([error((str(path),), "文件不存在", "file not found")]) from None
    except UnicodeDecodeError:
        raise InputError(
            [error((str(path),), "文件不是 UTF-8 文本", "file is not UTF-8 text")]
        ) from None
    except OSError as exc:
        raise InputError(
            [error((str(path),), f"无法读取：{exc.strerror}", f"cannot read: {exc.strerror}")]
        ) from None


def read_application_json(path: Path) -> Any:
    """The raw application; numbers become Decimals so no binary float ever enters."""
    try:
        return json.loads(_read_text(path), parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        raise InputError(
            [error((where,), f"不是有效的 JSON：{exc.msg}", f"not valid JSON: {exc.msg}")]
        ) from None


def read_policy(path: Path) -> Policy:
    try:
        return parse_policy(_read_text(path))
    except ValidationError as exc:
        issues = [
            error(
                (str(path), *(p for p in d["loc"] if isinstance(p, int | str))), d["msg"], d["msg"]
            )
            for d in exc.errors()
        ]
        raise InputError(issues) from None
    except ValueError as exc:
        raise InputError(
            [error((str(path),), f"政策文件无效：{exc}", f"invalid policy file: {exc}")]
        ) from None


def read_prices(path: Path | None) -> PriceTable:
    if path is None:
        return default_prices()
    try:
        return parse_prices(_read_text(path))
    except (ValueError, ValidationError) as exc:
        raise InputError(
            [error((str(path),), f"价格表无效：{exc}", f"invalid price table: {exc}")]
        ) from None


def example_applications() -> list[tuple[str, Any]]:
    """The bundled example applications, by file name."""
    folder = resources.files("creditbook.bundled_examples").joinpath("applications")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".json")), key=lambda e: e.name
    )
    return [
        (entry.name, json.loads(entry.read_text("utf-8"), parse_float=Decimal)) for entry in entries
    ]


def _mode_for(path: Path) -> int:
    """Keep the permissions of the file being replaced; a new file gets the usual 0666 & ~umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def example_workbooks() -> list[tuple[str, bytes]]:
    """The bundled example workbooks (built from the example applications), by file name."""
    folder = resources.files("creditbook.workbook").joinpath("examples")
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".xlsm")), key=lambda e: e.name
    )
    return [(entry.name, entry.read_bytes()) for entry in entries]


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside the target, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, _mode_for(path))
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable: the directory entry reaches the disk too."""
    if sys.platform == "win32":  # a directory cannot be opened for fsync there
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # a file system that cannot sync one
            raise
    finally:
        os.close(handle)
