"""`creditbook doctor`: each check against real files. The add-in is the xlwings.xlam that the
xlwings package ships (the file `xlwings addin install` copies); Windows and macOS folders are
laid out under a temporary home, and the Mark of the Web is the `Zone.Identifier` stream's name,
which on Linux is an ordinary file beside the workbook."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import xlwings
from cli_run import ROOT, run_creditbook

from creditbook.workbook.doctor import Check, addin_folders, addin_version, diagnose
from creditbook.workbook.layout import CONF_SHEET
from creditbook.workbook.xlsm.ovba import Module, build_vba_project

SHIPPED_ADDIN = Path(xlwings.__file__).parent / "addin" / "xlwings.xlam"
TEMPLATE = ROOT / "workbook" / "CreditReview.xlsm"


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name.en: check for check in checks}


def windows_home(tmp_path: Path, addin: Path | None) -> dict[str, str]:
    appdata = tmp_path / "AppData" / "Roaming"
    folder = addin_folders("win32", {"APPDATA": str(appdata)}, tmp_path)[0]
    folder.mkdir(parents=True)
    if addin is not None:
        shutil.copyfile(addin, folder / "xlwings.xlam")
    return {"APPDATA": str(appdata)}


def test_the_shipped_addin_carries_the_package_version() -> None:
    assert addin_version(SHIPPED_ADDIN) == xlwings.__version__


def test_a_matching_addin_on_windows_is_fine(tmp_path: Path) -> None:
    environ = windows_home(tmp_path, SHIPPED_ADDIN)
    check = by_name(diagnose(None, platform="win32", environ=environ, home=tmp_path))[
        "xlwings add-in"
    ]
    assert check.ok is True and xlwings.__version__ in check.detail.en


def test_a_missing_addin_says_how_to_install_it(tmp_path: Path) -> None:
    environ = windows_home(tmp_path, None)
    check = by_name(diagnose(None, platform="win32", environ=environ, home=tmp_path))[
        "xlwings add-in"
    ]
    assert check.ok is False and "xlwings addin install" in check.detail.en
    assert "XLSTART" in check.detail.en


def addin_claiming(version: str, path: Path) -> Path:
    """An add-in package whose VBA (written by our own MS-OVBA writer) claims `version`."""
    source = f'Option Explicit\nPublic Const XLWINGS_VERSION As String = "{version}"\n'
    project = build_vba_project([Module("Main", source, "standard")], [])
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("xl/vbaProject.bin", project)
    return path


def test_an_older_addin_is_named_with_both_versions(tmp_path: Path) -> None:
    old = addin_claiming("0.30.0", tmp_path / "old.xlam")
    assert addin_version(old) == "0.30.0"
    environ = windows_home(tmp_path, old)
    check = by_name(diagnose(None, platform="win32", environ=environ, home=tmp_path))[
        "xlwings add-in"
    ]
    assert check.ok is False
    assert "0.30.0" in check.detail.en and xlwings.__version__ in check.detail.en


def test_the_mac_startup_folder_is_where_the_addin_is_looked_for(tmp_path: Path) -> None:
    folder = addin_folders("darwin", {}, tmp_path)[0]
    folder.mkdir(parents=True)
    shutil.copyfile(SHIPPED_ADDIN, folder / "xlwings.xlam")
    check = by_name(diagnose(None, platform="darwin", environ={}, home=tmp_path))["xlwings add-in"]
    assert check.ok is True


def test_the_workbook_interpreter_must_exist_on_windows(tmp_path: Path) -> None:
    workbook = tmp_path / "Acme.xlsm"
    wb = openpyxl.load_workbook(TEMPLATE, keep_vba=True)
    conf = wb[CONF_SHEET]
    conf.append(["Interpreter_Win", str(tmp_path / "no" / "python.exe")])
    wb.save(workbook)
    environ = windows_home(tmp_path, SHIPPED_ADDIN)
    check = by_name(diagnose(workbook, platform="win32", environ=environ, home=tmp_path))[
        "the workbook's Python interpreter"
    ]
    assert check.ok is False and "does not exist" in check.detail.en
    python = tmp_path / "python.exe"
    python.write_text("")
    conf["B2"] = str(python)
    wb.save(workbook)
    check = by_name(diagnose(workbook, platform="win32", environ=environ, home=tmp_path))[
        "the workbook's Python interpreter"
    ]
    assert check.ok is True


def test_the_mark_of_the_web_is_found_and_explained(tmp_path: Path) -> None:
    workbook = tmp_path / "Acme.xlsm"
    shutil.copyfile(TEMPLATE, workbook)
    environ = windows_home(tmp_path, SHIPPED_ADDIN)
    assert by_name(diagnose(workbook, platform="win32", environ=environ, home=tmp_path))[
        "Mark of the Web"
    ].ok
    Path(f"{workbook}:Zone.Identifier").write_text("[ZoneTransfer]\nZoneId=3\n")
    check = by_name(diagnose(workbook, platform="win32", environ=environ, home=tmp_path))[
        "Mark of the Web"
    ]
    assert check.ok is False and "Unblock" in check.detail.en


def test_on_linux_the_excel_checks_do_not_apply_and_the_command_exits_0() -> None:
    run = run_creditbook("doctor", str(TEMPLATE), "--lang", "en")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "does not apply" in run.stdout and "Python" in run.stdout


def test_a_problem_is_exit_1(tmp_path: Path) -> None:
    run = run_creditbook("doctor", str(tmp_path / "missing.xlsm"), "--lang", "en")
    assert run.returncode == 1
    assert "cannot open the workbook" in run.stdout
