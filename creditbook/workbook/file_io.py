"""File I/O at the edge: reading application and policy files, atomic writes."""

from __future__ import annotations

import codecs
import errno
import json
import os
import sys
import tempfile
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from creditbook.core.policy import Policy, parse_policy
from creditbook.core.prices import PriceTable, parse_prices
from creditbook.core.records import Issue, error
from creditbook.core.records import Path as JsonPath
from creditbook.data import default_prices


class InputError(Exception):
    """A file the user named cannot be used; carries located issues."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(issue.render("en") for issue in issues))
        self.issues = issues

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Issue]]]:
        """Rebuilt from its issues when it crosses from a worker process to the parent."""
        return InputError, (self.issues,)


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


# An application of 10,000 consumption lines is about 2 MiB. Parsing takes up to 30 bytes of
# memory per byte of file (8 MiB of `[{},{},…]` is 2.8 million dicts): this keeps it near 250 MB.
MAX_INPUT_BYTES = 8 * 1024 * 1024
UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def refused(where: Path | str, zh: str, en: str) -> InputError:
    """A file (or a sheet of it) that cannot be used at all, located there."""
    return InputError([error((str(where),), zh, en)])


def _read_text(path: Path) -> str:
    """UTF-8 text (a byte-order mark, as Notepad writes, is dropped), at most 8 MiB."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise refused(path, "文件不存在", "file not found") from None
    except OSError as exc:
        raise refused(path, f"无法读取：{exc.strerror}", f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise refused(path, "文件超过 8 MiB，过大", "file is larger than 8 MiB, too large")
    if data.startswith(UTF16_MARKS) or b"\x00" in data:
        raise refused(
            path,
            "文件不是 UTF-8 文本（像是 UTF-16 或二进制文件），请另存为 UTF-8",
            "file is not UTF-8 text (it looks like UTF-16, or binary); save it as UTF-8",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refused(
            path,
            f"文件不是 UTF-8 文本（第 {exc.start} 字节）",
            f"file is not UTF-8 text (byte {exc.start})",
        ) from None


def _integer(literal: str) -> int | Decimal:
    """Python will not convert an integer literal over 4300 digits; it stays a Decimal, which the
    contract then refuses as unrealistically large at its JSON path."""
    return int(literal) if len(literal) <= 4300 else Decimal(literal)


def _repeated_keys(raw: Any, repeated: list[tuple[dict[str, Any], list[str]]]) -> list[Issue]:
    """Each key given twice in one object, located by its JSON path."""
    keys = {id(obj): names for obj, names in repeated}
    issues = []
    todo: list[tuple[JsonPath, Any]] = [((), raw)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, dict):
            issues += [
                error(
                    (*path, name),
                    "同一对象中此键出现了多次，无法确定取哪个值",
                    "this key is given more than once in the same object; which value counts?",
                )
                for name in keys.get(id(value), ())
            ]
            todo += [((*path, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            todo += [((*path, index), item) for index, item in enumerate(value)]
    return issues


def read_application_json(path: Path) -> Any:
    """The raw application; numbers become Decimals so no binary float ever enters.

    Whatever the file holds, the outcome is the parsed JSON or an InputError, never a crash: an
    ambiguous key given twice in one object is refused at its JSON path; NaN and Infinity parse
    (as Decimals) and the contract refuses them at theirs.
    """
    repeated: list[tuple[dict[str, Any], list[str]]] = []

    def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs):
            counts = Counter(key for key, _ in pairs)
            repeated.append((obj, sorted(key for key, count in counts.items() if count > 1)))
        return obj

    def number(literal: str) -> Decimal:
        try:
            return Decimal(literal)
        except InvalidOperation:  # an exponent beyond ±999,999,999,999,999,999
            shown = literal if len(literal) <= 40 else literal[:37] + "..."
            raise refused(path, f"数字超出范围：{shown}", f"number out of range: {shown}") from None

    text = _read_text(path)
    try:
        raw = json.loads(
            text,
            parse_float=number,
            parse_int=_integer,
            parse_constant=Decimal,
            object_pairs_hook=json_object,
        )
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        raise InputError(
            [error((where,), f"不是有效的 JSON：{exc.msg}", f"not valid JSON: {exc.msg}")]
        ) from None
    except RecursionError:
        raise refused(path, "JSON 嵌套层数过多", "JSON is nested too deeply") from None
    issues = _repeated_keys(raw, repeated) if repeated else []
    if issues:
        raise InputError(issues)
    return raw


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


def _mode_for(path: Path) -> int:
    """Keep the permissions of the file being replaced; a new file gets the usual 0666 & ~umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
