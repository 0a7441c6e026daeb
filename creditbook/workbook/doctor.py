"""`creditbook doctor`: what a finance PC needs for the Evaluate button, checked and said plainly.

Python and creditbook; the xlwings package against the add-in Excel loads (the version constant in
the xlam's VBA, found in the user's XLSTART folder on Windows or Excel's startup folder on a Mac);
the interpreter a workbook's `xlwings.conf` names; the Mark of the Web on a workbook file (Windows:
its `Zone.Identifier` stream); LibreOffice for `--pdf`. Each check is a record; on Linux the
Excel checks say they do not apply.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import olefile
from openpyxl import load_workbook

from creditbook import __version__
from creditbook.core.records import Text, text
from creditbook.workbook.layout import CONF_SHEET
from creditbook.workbook.xlsm.ovba import decompress

ADDIN = "xlwings.xlam"
VERSION_CONSTANT = re.compile(rb'XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"]+)"', re.IGNORECASE)
MODULE_STREAM_NAME, MODULE_OFFSET, PROJECT_VERSION = 0x001A, 0x0031, 0x0009


@dataclass(frozen=True)
class Check:
    name: Text
    ok: bool | None  # None: does not apply here, or optional and absent
    detail: Text


def _check(name: Text, ok: bool | None, zh: str, en: str) -> Check:
    return Check(name, ok, text(zh, en))


def addin_folders(platform: str, environ: Mapping[str, str], home: Path) -> list[Path]:
    """Where `xlwings addin install` puts the add-in: Excel's user startup folder."""
    if platform.startswith("win"):
        appdata = environ.get("APPDATA")
        return [Path(appdata) / "Microsoft" / "Excel" / "XLSTART"] if appdata else []
    if platform == "darwin":
        office = home / "Library" / "Group Containers" / "UBF8T346G9.Office"
        return [office / "User Content.localized" / "Startup.localized" / "Excel"]
    return []


def _module_offsets(dir_stream: bytes) -> dict[str, int]:
    """MS-OVBA 2.3.4.2: each module's stream name and where its compressed source starts."""
    offsets, name, position = {}, "", 0
    while position + 6 <= len(dir_stream):
        record, size = struct.unpack_from("<HI", dir_stream, position)
        position += 6
        if record == PROJECT_VERSION:  # its size field says 4; the record holds 6 bytes
            size = 6
        payload = dir_stream[position : position + size]
        position += size
        if record == MODULE_STREAM_NAME:
            name = payload.decode("latin-1")
        elif record == MODULE_OFFSET:
            offsets[name] = struct.unpack("<I", payload)[0]
    return offsets


def addin_version(xlam: Path) -> str | None:
    """The XLWINGS_VERSION constant in the add-in's VBA modules; None when there is none."""
    with zipfile.ZipFile(xlam) as package:
        project = package.read("xl/vbaProject.bin")
    with olefile.OleFileIO(io.BytesIO(project)) as ole:
        offsets = _module_offsets(decompress(ole.openstream("VBA/dir").read()))
        for stream, offset in offsets.items():
            if ole.exists(f"VBA/{stream}"):
                source = decompress(ole.openstream(f"VBA/{stream}").read()[offset:])
                found = VERSION_CONSTANT.search(source)
                if found:
                    return found.group(1).decode("ascii")
    return None


def _package_version() -> str | None:
    try:
        return metadata.version("xlwings")
    except metadata.PackageNotFoundError:
        return None


def _addin(platform: str, environ: Mapping[str, str], home: Path) -> Check:
    name = text("xlwings 加载项", "xlwings add-in")
    folders = addin_folders(platform, environ, home)
    if not folders:
        return _check(
            name, None, "本系统没有 Excel，不适用", "no Excel on this system: does not apply"
        )
    package = _package_version()
    if package is None:
        return _check(name, False, "先安装 xlwings 包", "install the xlwings package first")
    found = [folder / ADDIN for folder in folders if (folder / ADDIN).is_file()]
    if not found:
        where = str(folders[0])
        return _check(
            name,
            False,
            f"未找到加载项（{where}）：运行 xlwings addin install，然后重启 Excel",
            f"the add-in is not installed ({where}): run xlwings addin install, then restart Excel",
        )
    try:
        installed = addin_version(found[0])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        installed = None
    if installed is None:
        return _check(
            name,
            False,
            f"{found[0]} 无法读取版本：重新运行 xlwings addin install",
            f"cannot read the version of {found[0]}: run xlwings addin install again",
        )
    if installed != package:
        return _check(
            name,
            False,
            f"加载项版本 {installed} 与 Python 包 xlwings {package} 不一致：运行 xlwings addin install，然后重启 Excel",
            f"add-in {installed} does not match the xlwings package {package}: run xlwings addin "
            "install, then restart Excel",
        )
    return _check(
        name,
        True,
        f"加载项 {installed} 与 Python 包一致",
        f"add-in {installed} matches the package",
    )


def _interpreter(workbook: Path, platform: str) -> Check:
    name = text("工作簿的 Python 解释器", "the workbook's Python interpreter")
    try:
        wb = load_workbook(workbook, read_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        return _check(name, False, f"无法打开工作簿：{exc}", f"cannot open the workbook: {exc}")
    settings: dict[str, str] = {}
    if CONF_SHEET in wb.sheetnames:
        for key, value in wb[CONF_SHEET].iter_rows(min_col=1, max_col=2, values_only=True):
            if key is not None and value is not None:
                settings[str(key).strip()] = str(value).strip()
    wb.close()
    key = "Interpreter_Mac" if platform == "darwin" else "Interpreter_Win"
    configured = settings.get(key, "")
    if not platform.startswith("win") and platform != "darwin":
        shown = ", ".join(f"{k}={v}" for k, v in settings.items() if k.startswith("Interpreter"))
        return _check(
            name,
            None,
            f"本系统没有 Excel；设置：{shown or '无'}",
            f"no Excel here; settings: {shown or 'none'}",
        )
    if not configured:
        return _check(
            name,
            True,
            f"xlwings.conf 未设置 {key}：使用 xlwings 功能区上设置的解释器",
            f"{key} is not set in xlwings.conf: the interpreter set on the xlwings ribbon is used",
        )
    if Path(configured).is_file() or shutil.which(configured):
        return _check(name, True, f"{key} = {configured}", f"{key} = {configured}")
    return _check(
        name,
        False,
        f"{key} = {configured} 不存在：改为已安装 creditbook 的 python",
        f"{key} = {configured} does not exist: set it to the python that has creditbook",
    )


def _mark_of_the_web(workbook: Path, platform: str) -> Check:
    name = text("网络来源标记（Mark of the Web）", "Mark of the Web")
    if not platform.startswith("win"):
        return _check(name, None, "仅 Windows 适用", "applies on Windows only")
    stream = Path(f"{workbook}:Zone.Identifier")
    if not stream.exists():
        return _check(name, True, "文件没有网络来源标记", "the file carries no Mark of the Web")
    return _check(
        name,
        False,
        "文件来自网络，Excel 会阻止宏：右键 → 属性 → 解除锁定，或放入受信任位置",
        "the file came from the internet and Excel blocks its macros: Properties → Unblock, or "
        "move it to a Trusted Location",
    )


def diagnose(
    workbook: Path | None,
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> list[Check]:
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    python = ".".join(map(str, sys.version_info[:3]))
    package = _package_version()
    checks = [
        _check(
            text("Python", "Python"),
            sys.version_info >= (3, 11),
            f"Python {python}（需要 3.11 或更高）",
            f"Python {python} (3.11 or later needed)",
        ),
        _check(
            text("creditbook", "creditbook"), True, f"版本 {__version__}", f"version {__version__}"
        ),
        _check(
            text("xlwings（Python 包）", "xlwings (Python package)"),
            bool(package),
            f"版本 {package}" if package else "未安装：pip install xlwings",
            f"version {package}" if package else "missing: pip install xlwings",
        ),
        _addin(platform, environ, home),
    ]
    if workbook is not None:
        checks += [_interpreter(workbook, platform), _mark_of_the_web(workbook, platform)]
    office = shutil.which("soffice") or shutil.which("libreoffice")
    checks.append(
        _check(
            text("LibreOffice（--pdf 需要）", "LibreOffice (for --pdf)"),
            True if office else None,
            f"已安装：{office}" if office else "未安装：--pdf 不可用（可选）",
            f"installed: {office}" if office else "not installed: --pdf is unavailable (optional)",
        )
    )
    return checks
