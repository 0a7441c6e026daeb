"""The .xlsm package: VBA project, ribbon, package parts, openpyxl round trip, reproducibility."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import olefile
import pytest
from lo import convert, needs_soffice  # tests/lo.py; pytest puts tests/ on sys.path
from oletools.olevba import VBA_Parser
from openpyxl import Workbook, load_workbook

from creditbook.workbook.layout import (
    APPROVAL_SHEET,
    CONF_SHEET,
    INPUT_SHEETS,
    LANGUAGE_CELL,
    LANGUAGE_KEY,
    LANGUAGE_KEY_CELL,
    LANGUAGES,
)
from creditbook.workbook.xlsm.package import document_modules, package_xlsm, vba_project

ROOT = Path(__file__).parents[3]
VBA_DIR = ROOT / "workbook" / "vba"
RIBBON_FILE = ROOT / "workbook" / "ribbon" / "customUI.xml"
SOURCE = (VBA_DIR / "CreditReview.bas").read_text(encoding="ascii")
SHEETS = tuple((sheet.name, sheet.code_name) for sheet in INPUT_SHEETS[:2])
MODULES = ["ThisWorkbook", *(code_name for _, code_name in SHEETS), "CreditReview"]
MODIFIED = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
COMMANDS = {
    "PY_EVALUATE": "import creditbook.excel; creditbook.excel.evaluate()",
    "PY_CHECK": "import creditbook.excel; creditbook.excel.check()",
}

CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DCTERMS = "{http://purl.org/dc/terms/}"
UI = "{http://schemas.microsoft.com/office/2006/01/customui}"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
RIBBON_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"


def _xlsx(sheets: tuple[tuple[str, str], ...] = SHEETS) -> bytes:
    """A small openpyxl workbook whose sheets carry code names; the workbook has none."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, code_name in sheets:
        sheet = workbook.create_sheet(name)
        sheet.sheet_properties.codeName = code_name
        sheet["A1"] = name
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _package(xlsx: bytes) -> bytes:
    return package_xlsm(
        xlsx, vba_project(VBA_DIR, SHEETS), RIBBON_FILE.read_bytes(), modified=MODIFIED
    )


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _round_trip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    load_workbook(io.BytesIO(data), keep_vba=True).save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def xlsm() -> bytes:
    return _package(_xlsx())


@pytest.fixture(scope="module")
def parts(xlsm: bytes) -> dict[str, bytes]:
    return _parts(xlsm)


# -- VBA -----------------------------------------------------------------------------------------


def test_oletools_reads_every_module(xlsm: bytes) -> None:
    parser = VBA_Parser("CreditReview.xlsm", data=xlsm, relaxed=False)
    found = {path: code for _, path, _, code in parser.extract_macros()}
    assert sorted(found) == sorted(f"VBA/{name}" for name in MODULES)
    expected = 'Attribute VB_Name = "CreditReview"\r\n' + SOURCE.replace("\n", "\r\n")
    assert found["VBA/CreditReview"] == expected


def test_olefile_parses_the_project_strictly(parts: dict[str, bytes]) -> None:
    data = parts["xl/vbaProject.bin"]
    assert olefile.isOleFile(data)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_UNSURE)
    streams = {"/".join(path) for path in ole.listdir()}
    assert streams == {"PROJECT", "PROJECTwm", "VBA/dir", "VBA/_VBA_PROJECT"} | {
        f"VBA/{name}" for name in MODULES
    }


def test_document_modules_follow_excels_order() -> None:
    modules = document_modules(SHEETS)
    assert [(m.name, m.kind, m.source) for m in modules] == [
        ("ThisWorkbook", "workbook", ""),
        ("shProfile", "worksheet", ""),
        ("shConsumption", "worksheet", ""),
    ]


def test_vba_project_reads_any_traversable(tmp_path: Path) -> None:
    archive = tmp_path / "sources.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("vba/CreditReview.bas", SOURCE)
        out.writestr("vba/README.txt", "not a module")
    zipped = vba_project(zipfile.Path(archive, "vba/"), SHEETS)
    assert zipped == vba_project(VBA_DIR, SHEETS)


def test_commands_are_fixed_and_ignore_the_file_name() -> None:
    assert dict(re.findall(r'^Public Const (PY_\w+) = "(.*)"$', SOURCE, re.MULTILINE)) == COMMANDS
    assert re.findall(r"^\s*RunPy (\w+)$", SOURCE, re.MULTILINE) == list(COMMANDS)
    for name in ("ThisWorkbook.Name", "ActiveWorkbook.Name", "FullName", ".Path"):
        assert name not in SOURCE


def test_python_runs_through_the_addin_late_bound() -> None:
    assert 'Private Const XLWINGS_ADDIN = "xlwings.xlam"' in SOURCE
    assert re.findall(r"Application\.Run .*", SOURCE) == [
        'Application.Run XLWINGS_ADDIN & "!RunPython", command'
    ]
    assert "Set book = Workbooks(XLWINGS_ADDIN)" in SOURCE
    assert "On Error GoTo Failed" in SOURCE


def test_missing_addin_message_is_bilingual() -> None:
    """The source is ASCII (code page 1252); Chinese is written as \\uXXXX and unescaped in VBA."""
    assert SOURCE.isascii()
    escaped = re.findall(r'Unescape\("([^"]*)"\)', SOURCE)
    assert [text.encode().decode("unicode_escape") for text in escaped] == [
        "未找到 xlwings 加载项",
        "请在命令行运行",
        "然后重启 Excel",
    ]
    for text in (
        "The xlwings add-in is not loaded",
        "pip install creditbook",
        "xlwings addin install",
    ):
        assert text in SOURCE


def test_approval_button_goes_to_the_layouts_sheet() -> None:
    assert f'Private Const APPROVAL_SHEET = "{APPROVAL_SHEET}"' in SOURCE
    assert "ThisWorkbook.Worksheets(APPROVAL_SHEET).Activate" in SOURCE


# -- ribbon --------------------------------------------------------------------------------------


def test_ribbon_callbacks_exist_with_the_ribbon_signature(parts: dict[str, bytes]) -> None:
    data = RIBBON_FILE.read_bytes()
    assert parts["customUI/customUI.xml"] == data
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"')
    root = ET.fromstring(data)
    assert root.tag == f"{UI}customUI"
    (tab,) = root.iter(f"{UI}tab")
    assert tab.get("label") == "授信 Credit Review"
    buttons = list(root.iter(f"{UI}button"))
    assert [button.get("label") for button in buttons] == [
        "评估 Evaluate",
        "校验输入 Check inputs",
        "查看审批单 Approval sheet",
    ]
    for button in buttons:
        module, sub = button.get("onAction", "").split(".")
        assert module == "CreditReview"
        assert re.search(rf"^Sub {sub}\(control As IRibbonControl\)$", SOURCE, re.MULTILINE)
        assert button.get("size") == "large"
        assert button.get("imageMso")
        for tip in (button.get("screentip", ""), button.get("supertip", "")):
            assert re.search(r"[\u4e00-\u9fff]", tip)
            assert re.search(r"[A-Za-z]{3}", tip)


# The attributes MS-CUSTOMUI (2006/01 schema, CT_DropDownRegular and CT_Item) allows on a ribbon
# drop-down and its items; Excel refuses the whole ribbon over an unknown one.
DROPDOWN_ATTRIBUTES = frozenset(
    """id idQ idMso tag label getLabel image imageMso getImage showImage getShowImage showLabel
    getShowLabel screentip getScreentip supertip getSupertip enabled getEnabled visible getVisible
    keytip getKeytip insertAfterMso insertBeforeMso insertAfterQ insertBeforeQ onAction sizeString
    getItemCount getItemLabel getItemScreentip getItemSupertip getItemImage getItemID
    showItemImage showItemLabel getSelectedItemID getSelectedItemIndex""".split()  # noqa: SIM905
)
ITEM_ATTRIBUTES = frozenset({"id", "label", "image", "imageMso", "screentip", "supertip"})


def _constant(name: str) -> str:
    match = re.search(rf'^Private Const {name} = "([^"]*)"$', SOURCE, re.MULTILINE)
    assert match, f"no constant {name} in CreditReview.bas"
    return match.group(1)


def test_the_language_list_writes_the_layouts_language_cell(parts: dict[str, bytes]) -> None:
    """The ribbon's language list: a drop-down whose callbacks exist with the signatures Excel
    calls, whose items stand for the layout's languages, writing the cell the readers read."""
    root = ET.fromstring(parts["customUI/customUI.xml"])
    (dropdown,) = root.iter(f"{UI}dropDown")
    assert set(dropdown.attrib) <= DROPDOWN_ATTRIBUTES
    assert not {"getSelectedItemID", "getSelectedItemIndex"} <= set(dropdown.attrib)
    items = list(dropdown.iter(f"{UI}item"))
    for item in items:
        assert set(item.attrib) <= ITEM_ATTRIBUTES
    ids = [item.get("id", "") for item in items]
    labels = [item.get("label", "") for item in items]
    assert labels == ["中英对照 Both", "中文", "English"]
    # OnLanguage writes LCase$(Mid$(id, Len(LANGUAGE_ITEM) + 1)); GetLanguage turns the cell back
    # into "lang" & UCase$(Left$(language, 1)) & Mid$(language, 2).
    prefix = _constant("LANGUAGE_ITEM")
    assert sorted(id_[len(prefix) :].lower() for id_ in ids) == sorted(LANGUAGES)
    assert {prefix + lang[0].upper() + lang[1:] for lang in LANGUAGES} == set(ids)
    every_id = [element.get("id") for element in root.iter() if element.get("id")]
    assert len(every_id) == len(set(every_id)), "control ids are unique"
    module, action = dropdown.get("onAction", "").split(".")
    assert module == "CreditReview"
    assert re.search(
        rf"^Sub {action}\(control As IRibbonControl, selectedId As String, "
        r"selectedIndex As Integer\)$",
        SOURCE,
        re.MULTILINE,
    )
    module, getter = dropdown.get("getSelectedItemID", "").split(".")
    assert module == "CreditReview"
    assert re.search(
        rf"^Sub {getter}\(control As IRibbonControl, ByRef returnedVal\)$", SOURCE, re.MULTILINE
    )
    assert (_constant("CONF_SHEET"), _constant("LANGUAGE_CELL")) == (CONF_SHEET, LANGUAGE_CELL)
    assert (_constant("LANGUAGE_KEY_CELL"), _constant("LANGUAGE_KEY")) == (
        LANGUAGE_KEY_CELL,
        LANGUAGE_KEY,
    )
    for tip in (dropdown.get("screentip", ""), dropdown.get("supertip", "")):
        assert re.search(r"[\u4e00-\u9fff]", tip) and re.search(r"[A-Za-z]{3}", tip)


# -- package parts -------------------------------------------------------------------------------


def _check_parts(parts: dict[str, bytes]) -> None:
    types = ET.fromstring(parts["[Content_Types].xml"])
    workbook_types = [
        o.get("ContentType")
        for o in types.iter(f"{CT}Override")
        if o.get("PartName") == "/xl/workbook.xml"
    ]
    assert workbook_types == ["application/vnd.ms-excel.sheet.macroEnabled.main+xml"]
    defaults = [(d.get("Extension"), d.get("ContentType")) for d in types.iter(f"{CT}Default")]
    assert defaults.count(("bin", "application/vnd.ms-office.vbaProject")) == 1
    assert ("xml", "application/xml") in defaults  # the content type of customUI/customUI.xml
    assert not [o for o in types.iter(f"{CT}Override") if o.get("PartName", "").endswith(".bin")]

    for rels, rel_type, target in [
        ("_rels/.rels", RIBBON_REL, "customUI/customUI.xml"),
        ("xl/_rels/workbook.xml.rels", VBA_REL, "vbaProject.bin"),
    ]:
        relationships = list(ET.fromstring(parts[rels]).iter(REL))
        assert [r.get("Target") for r in relationships if r.get("Type") == rel_type] == [target]
        ids = [r.get("Id") for r in relationships]
        assert len(set(ids)) == len(ids)

    workbook = ET.fromstring(parts["xl/workbook.xml"])
    assert workbook.find(f"{MAIN}workbookPr").get("codeName") == "ThisWorkbook"
    for index, (_, code_name) in enumerate(SHEETS, start=1):
        sheet = ET.fromstring(parts[f"xl/worksheets/sheet{index}.xml"])
        assert sheet.find(f"{MAIN}sheetPr").get("codeName") == code_name


def test_parts_are_present_once(parts: dict[str, bytes]) -> None:
    assert b"codeName" not in _parts(_xlsx())["xl/workbook.xml"]  # openpyxl wrote none
    _check_parts(parts)


def test_packaging_again_adds_nothing(xlsm: bytes, parts: dict[str, bytes]) -> None:
    assert _package(xlsm) == xlsm
    repackaged = _parts(_package(_round_trip(xlsm)))
    _check_parts(repackaged)
    assert repackaged["xl/vbaProject.bin"] == parts["xl/vbaProject.bin"]


def test_prefixes_stay_readable(parts: dict[str, bytes]) -> None:
    for name in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "docProps/core.xml"):
        assert parts[name].startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
        assert not re.search(rb"\bns\d+:", parts[name])
    assert b'<workbook xmlns:r="' in parts["xl/workbook.xml"]
    assert b'r:id="rId1"' in parts["xl/workbook.xml"]
    assert b'<dcterms:created xsi:type="dcterms:W3CDTF">' in parts["docProps/core.xml"]


def test_dates_are_the_build_date(parts: dict[str, bytes]) -> None:
    core = ET.fromstring(parts["docProps/core.xml"])
    for name in ("created", "modified"):
        assert core.find(f"{DCTERMS}{name}").text == "2026-11-28T09:30:00Z"


def test_zip_layout_is_fixed(xlsm: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(xlsm)) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names[:3] == ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"]
    assert names[3:] == sorted(names[3:])
    # file(1) recognises OOXML by the first local header's file name (offset 30).
    assert xlsm[30:49] == b"[Content_Types].xml"
    for info in infos:
        assert info.date_time == (2026, 11, 28, 9, 30, 0)
        assert (info.compress_type, info.create_system) == (zipfile.ZIP_DEFLATED, 3)
        assert info.external_attr >> 16 == 0o100644


def test_sheet_without_code_name_is_refused() -> None:
    xlsx = _xlsx((*SHEETS, ("Lists", "")))
    with pytest.raises(ValueError, match="'Lists' has no code name"):
        _package(xlsx)


@pytest.mark.parametrize(
    ("ribbon", "modified", "message"),
    [
        (b"<customUI/>", MODIFIED, "customUI document in namespace"),
        (
            b'<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"/>',
            MODIFIED,
            "2006/01/customui",
        ),
        (RIBBON_FILE.read_bytes(), datetime(2026, 11, 28), "timezone-aware"),
    ],
)
def test_bad_input_fails_clearly(ribbon: bytes, modified: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        package_xlsm(_xlsx(), vba_project(VBA_DIR, SHEETS), ribbon, modified=modified)


# -- openpyxl round trip and reproducibility -----------------------------------------------------


def test_openpyxl_round_trip_keeps_vba_and_ribbon(parts: dict[str, bytes], xlsm: bytes) -> None:
    saved = _parts(_round_trip(xlsm))
    assert saved["xl/vbaProject.bin"] == parts["xl/vbaProject.bin"]
    assert saved["customUI/customUI.xml"] == parts["customUI/customUI.xml"]
    rels = ET.fromstring(saved["_rels/.rels"]).iter(REL)
    assert [r.get("Target") for r in rels if r.get("Type") == RIBBON_REL] == [
        "customUI/customUI.xml"
    ]


def _resaved_later(xlsx: bytes) -> bytes:
    """The same workbook as openpyxl would save it at another time: other dates, other order."""
    parts = _parts(xlsx)
    parts["docProps/core.xml"] = re.sub(
        rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2030-01-02T03:04:05Z", parts["docProps/core.xml"]
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in reversed(list(parts)):
            archive.writestr(zipfile.ZipInfo(name, (2030, 1, 2, 3, 4, 6)), parts[name])
    return out.getvalue()


def test_packaging_is_reproducible(xlsm: bytes, parts: dict[str, bytes]) -> None:
    xlsx = _xlsx()
    assert _parts(_package(xlsx)) == parts
    assert _package(xlsx) == xlsm  # same machine, same zlib: same bytes
    later = _resaved_later(xlsx)
    assert _parts(later) != _parts(xlsx)
    assert _package(later) == xlsm


# -- LibreOffice ---------------------------------------------------------------------------------


@needs_soffice
def test_libreoffice_imports_the_modules(xlsm: bytes, tmp_path: Path) -> None:
    source = tmp_path / "CreditReview.xlsm"
    source.write_bytes(xlsm)
    ods = _parts(convert(source, "ods", tmp_path).read_bytes())
    library = ET.fromstring(ods["Basic/VBAProject/script-lb.xml"])
    listed = [element.get("{http://openoffice.org/2000/library}name") for element in library]
    assert sorted(listed) == sorted(MODULES)
    for name in MODULES:
        module = ET.fromstring(ods[f"Basic/VBAProject/{name}.xml"])
        kind = module.get("{http://openoffice.org/2000/script}moduleType")
        assert kind == ("normal" if name == "CreditReview" else "document")
    credit_review = ET.fromstring(ods["Basic/VBAProject/CreditReview.xml"]).text or ""
    assert 'Public Const PY_EVALUATE = "import creditbook.excel; creditbook.excel.evaluate()"' in (
        credit_review
    )
