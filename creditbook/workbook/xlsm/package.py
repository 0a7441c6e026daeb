"""Turn an openpyxl-saved .xlsx into the macro-enabled, ribbon-carrying .xlsm, reproducibly.

Bytes in, bytes out. Parts are OPC (ECMA-376 Part 2) XML rewritten with ElementTree; the inputs are
our own openpyxl output. The same inputs and ``modified`` give the same zip bytes on one machine and
the same part contents everywhere (deflate output may depend on the zlib build).
"""

from __future__ import annotations

import io
import itertools
import posixpath
import stat
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path

from creditbook.workbook.xlsm.ovba import XLWINGS_WORKBOOK_REFERENCES, Module, build_vba_project

CONTENT_TYPES = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"
WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
CORE = "docProps/core.xml"
VBA_PROJECT = "xl/vbaProject.bin"
RIBBON = "customUI/customUI.xml"
FIRST_ENTRIES = (CONTENT_TYPES, ROOT_RELS, WORKBOOK)

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DCTERMS_NS = "http://purl.org/dc/terms/"
RIBBON_NS = "http://schemas.microsoft.com/office/2006/01/customui"

MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_PROJECT_TYPE = "application/vnd.ms-office.vbaProject"
VBA_PROJECT_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
RIBBON_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
WORKSHEET_REL = f"{DOC_REL_NS}/worksheet"

WORKBOOK_CODE_NAME = "ThisWorkbook"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def document_modules(sheets: Sequence[tuple[str, str]]) -> list[Module]:
    """ThisWorkbook, then one document module per (sheet name, code name), as Excel orders them.

    The modules are empty; the VBA writer adds the header attributes Excel writes. A sheet is tied
    to its module by the code name in its ``sheetPr``; the sheet name is not stored in the project.
    """
    return [
        Module(WORKBOOK_CODE_NAME, "", "workbook"),
        *(Module(code_name, "", "worksheet") for _, code_name in sheets),
    ]


def vba_project(sources: Path | Traversable, sheets: Sequence[tuple[str, str]]) -> bytes:
    """``vbaProject.bin`` with the document modules and every ``*.bas`` in ``sources`` (ASCII)."""
    files = sorted((f for f in sources.iterdir() if f.name.endswith(".bas")), key=lambda f: f.name)
    standard = [
        Module(f.name.removesuffix(".bas"), f.read_text(encoding="ascii"), "standard")
        for f in files
    ]
    return build_vba_project([*document_modules(sheets), *standard], XLWINGS_WORKBOOK_REFERENCES)


def package_xlsm(
    xlsx: bytes, vba_project: bytes, ribbon_xml: bytes, *, modified: datetime
) -> bytes:
    """Add the VBA project and the ribbon to ``xlsx``; fix its dates and zip layout to ``modified``.

    Packaging a result again replaces these parts instead of adding them twice.
    """
    if modified.tzinfo is None:
        raise ValueError("modified must be timezone-aware, or the build depends on the local zone")
    if ET.fromstring(ribbon_xml).tag != f"{{{RIBBON_NS}}}customUI":
        raise ValueError(f"the ribbon must be a customUI document in namespace {RIBBON_NS}")
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[CONTENT_TYPES] = _edit(parts[CONTENT_TYPES], _set_content_types)
    parts[ROOT_RELS] = _edit(parts[ROOT_RELS], lambda root: _relate(root, RIBBON_REL, RIBBON))
    parts[WORKBOOK_RELS] = _edit(
        parts[WORKBOOK_RELS], lambda root: _relate(root, VBA_PROJECT_REL, "vbaProject.bin")
    )
    parts[WORKBOOK] = _edit(
        parts[WORKBOOK],
        lambda root: _child(root, f"{{{MAIN_NS}}}workbookPr").set("codeName", WORKBOOK_CODE_NAME),
    )
    parts[CORE] = _edit(parts[CORE], lambda root: _set_dates(root, modified))
    parts[VBA_PROJECT] = vba_project
    parts[RIBBON] = ribbon_xml
    _check_sheet_code_names(parts)
    return _zip(parts, modified)


def _edit(data: bytes, change: Callable[[ET.Element], None]) -> bytes:
    """Parse a part, let ``change`` edit the tree, and write it back with the part's own prefixes."""
    default = None
    for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
        if prefix:
            ET.register_namespace(prefix, uri)  # global in ElementTree; these are standard prefixes
        else:
            default = uri
    root = ET.fromstring(data)
    change(root)
    if default:
        # ElementTree's default_namespace option rejects unqualified attributes (Type="...");
        # instead, unqualify the elements of the default namespace and declare it on the root.
        for element in root.iter():
            element.tag = element.tag.removeprefix(f"{{{default}}}")
        root.set("xmlns", default)
    return XML_DECLARATION + ET.tostring(root, "unicode").encode()


def _child(root: ET.Element, tag: str) -> ET.Element:
    element = root.find(tag)
    if element is None:
        raise ValueError(f"{tag} is missing; the input is not an openpyxl-saved workbook")
    return element


def _set_content_types(root: ET.Element) -> None:
    """The macro-enabled workbook type, and a ``bin`` Default for the VBA project as Excel writes."""
    _child(root, f"{{{CT_NS}}}Override[@PartName='/{WORKBOOK}']").set(
        "ContentType", MACRO_WORKBOOK_TYPE
    )
    default = root.find(f"{{{CT_NS}}}Default[@Extension='bin']")
    if default is None:
        default = ET.Element(f"{{{CT_NS}}}Default", Extension="bin")
        root.insert(0, default)
    default.set("ContentType", VBA_PROJECT_TYPE)


def _relate(root: ET.Element, rel_type: str, target: str) -> None:
    """Point the relationship of ``rel_type`` at ``target``, adding it with a free Id if missing."""
    tag = f"{{{REL_NS}}}Relationship"
    relationship = root.find(f"{tag}[@Type='{rel_type}']")
    if relationship is None:
        ids = {element.get("Id") for element in root.iter(tag)}
        free = next(f"rId{n}" for n in itertools.count(1) if f"rId{n}" not in ids)
        relationship = ET.SubElement(root, tag, Id=free, Type=rel_type)
    relationship.set("Target", target)


def _set_dates(root: ET.Element, modified: datetime) -> None:
    # W3CDTF in UTC, as Excel writes dcterms:created and dcterms:modified (ECMA-376-2 11).
    stamp = modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("created", "modified"):
        _child(root, f"{{{DCTERMS_NS}}}{name}").text = stamp


def _check_sheet_code_names(parts: dict[str, bytes]) -> None:
    """Every worksheet needs a code name, or Excel invents a document module (Sheet1, ...) for it."""
    relationships = ET.fromstring(parts[WORKBOOK_RELS])
    targets = {
        element.get("Id"): element.get("Target", "")
        for element in relationships
        if element.get("Type") == WORKSHEET_REL
    }
    for sheet in ET.fromstring(parts[WORKBOOK]).iter(f"{{{MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{DOC_REL_NS}}}id"))
        if target is None:
            continue  # not a worksheet
        # OPC part names: absolute from the package root, otherwise relative to xl/.
        part = target[1:] if target.startswith("/") else posixpath.join("xl", target)
        properties = ET.fromstring(parts[posixpath.normpath(part)]).find(f"{{{MAIN_NS}}}sheetPr")
        if properties is None or not properties.get("codeName"):
            raise ValueError(
                f"sheet {sheet.get('name')!r} has no code name; set ws.sheet_properties.codeName"
            )


def _zip(parts: dict[str, bytes], modified: datetime) -> bytes:
    """Fixed order (file(1) looks for [Content_Types].xml first), timestamp and attributes."""
    stamp = modified.astimezone(UTC)
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    names = [*FIRST_ENTRIES, *sorted(set(parts) - set(FIRST_ENTRIES))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            # The same on every machine: a Unix regular file, rw-r--r-- (zipfile's default
            # depends on the OS, and it replaces an all-zero external_attr with rw-------).
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, parts[name])
    return out.getvalue()
