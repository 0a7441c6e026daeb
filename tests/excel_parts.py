"""Parts real Excel adds to a workbook, generated into one of ours: what evaluate must not lose.

Each part is written the way Excel writes it, modelled on Excel-saved files in public repositories
(recorded in tests/fixtures/SOURCES.md); the content here is our own. `with_excel_parts` adds to a
workbook: a sensitivity label, a picture and a shape on the Profile sheet, printer settings for the
Profile and Approval sheets, dynamic-array metadata with a spilled formula, a web-extension task
pane, a note (legacy VML) with a threaded comment on an input cell, and a custom XML part. Every
sheet also gets the root Excel writes (mc:Ignorable naming x14ac, xr, xr2, xr3, and an xr:uid) and
rows with x14ac:dyDescent, so prefixes the writer must keep declared are in use.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
PROFILE_PART, APPROVAL_PART = "xl/worksheets/sheet1.xml", "xl/worksheets/sheet7.xml"
EXCEL_ROOT = (
    f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'mc:Ignorable="x14ac xr xr2 xr3" '
    'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
    'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2" '
    'xmlns:xr3="http://schemas.microsoft.com/office/spreadsheetml/2016/revision3" '
    'xr:uid="{uid}">'
)
LABEL_REL = "http://schemas.microsoft.com/office/2020/02/relationships/classificationlabels"
TASKPANES_REL = "http://schemas.microsoft.com/office/2011/relationships/webextensiontaskpanes"
WEBEXTENSION_REL = "http://schemas.microsoft.com/office/2011/relationships/webextension"
PRINTER = "application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings"
CONTENT_TYPES = {
    "docMetadata/LabelInfo.xml": "application/vnd.ms-office.classificationlabels+xml",
    "xl/drawings/drawing1.xml": "application/vnd.openxmlformats-officedocument.drawing+xml",
    "xl/printerSettings/printerSettings1.bin": PRINTER,
    "xl/printerSettings/printerSettings2.bin": PRINTER,
    "xl/metadata.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml",
    "xl/webextensions/taskpanes.xml": "application/vnd.ms-office.webextensiontaskpanes+xml",
    "xl/webextensions/webextension1.xml": "application/vnd.ms-office.webextension+xml",
    "xl/comments1.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml",
    "xl/threadedComments/threadedComment1.xml": "application/vnd.ms-excel.threadedcomments+xml",
    "xl/persons/person.xml": "application/vnd.ms-excel.person+xml",
    "customXml/itemProps1.xml": "application/vnd.openxmlformats-officedocument.customXmlProperties+xml",
}
DEFAULTS = {"png": "image/png", "vml": "application/vnd.openxmlformats-officedocument.vmlDrawing"}
THREAD = "{5C1A0F3E-2B7D-4E8A-9C61-0D4F8B2A7E15}"
PERSON = "{8E3B6D21-47A9-4C0F-B5E2-91D7C3A0F6B4}"


def _png() -> bytes:
    """A 4 × 4 navy PNG: the signature image a finance team would place on the sheet."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x1f\x38\x64" * 4 for _ in range(4))
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _devmode(name: str) -> bytes:
    """A printer's DEVMODEW as Windows stores it: device name, versions, A4 portrait, 600 dpi."""
    device = name.encode("utf-16-le").ljust(64, b"\x00")
    fixed = struct.pack("<HHHHI", 0x0401, 0x0401, 220, 0, 0x0001FF03)
    fields = struct.pack("<hhhhhhhh", 1, 9, 2970, 2100, 100, 1, 1, 600)
    return (device + fixed + fields).ljust(220, b"\x00") + bytes(range(64))


LABEL = (
    DECLARATION
    + '<clbl:labelList xmlns:clbl="http://schemas.microsoft.com/office/2020/mipLabelMetadata">'
    '<clbl:label id="{3f1c9a52-7d4e-4b8a-a6f0-2e9d5c1b7a34}" enabled="1" method="Privileged" '
    'siteId="{b7e2d4a1-9c3f-4e6b-8a5d-0f1e2c3b4a59}" contentBits="0" removed="0"/></clbl:labelList>'
)
DRAWING = (
    DECLARATION
    + '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
    '<xdr:twoCellAnchor editAs="oneCell"><xdr:from><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff>'
    "<xdr:row>9</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>4</xdr:col>"
    "<xdr:colOff>762000</xdr:colOff><xdr:row>11</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
    '<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="Picture 1" descr="signature.png"/>'
    '<xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill>'
    f'<a:blip xmlns:r="{REL}" r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
    '<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="762000" cy="381000"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/>'
    "</xdr:twoCellAnchor>"
    "<xdr:twoCellAnchor><xdr:from><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>12</xdr:row>"
    "<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>5</xdr:col><xdr:colOff>0</xdr:colOff>"
    '<xdr:row>14</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:sp macro="" textlink="">'
    '<xdr:nvSpPr><xdr:cNvPr id="3" name="Rectangle 2"/><xdr:cNvSpPr/></xdr:nvSpPr><xdr:spPr>'
    '<a:xfrm><a:off x="0" y="0"/><a:ext cx="1524000" cy="571500"/></a:xfrm>'
    '<a:prstGeom prst="roundRect"><a:avLst/></a:prstGeom></xdr:spPr><xdr:txBody>'
    '<a:bodyPr vertOverflow="clip" rtlCol="0" anchor="ctr"/><a:lstStyle/><a:p><a:r>'
    '<a:rPr lang="zh-CN" altLang="en-US" sz="1100"/><a:t>已核对 Checked</a:t></a:r></a:p>'
    "</xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
)
METADATA = (
    DECLARATION + f'<metadata xmlns="{MAIN}" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" '
    'pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" '
    'clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
    '<futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>'
    '<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>'
)
SPILL = '<c r="H5" cm="1"><f t="array" ref="H5:H6">_xlfn.SEQUENCE(2)</f><v>1</v></c>'
TASKPANES = (
    DECLARATION
    + '<wetp:taskpanes xmlns:wetp="http://schemas.microsoft.com/office/webextensions/taskpanes/2010/11">'
    '<wetp:taskpane dockstate="right" visibility="0" width="350" row="4">'
    f'<wetp:webextensionref xmlns:r="{REL}" r:id="rId1"/></wetp:taskpane></wetp:taskpanes>'
)
WEBEXTENSION = (
    DECLARATION
    + '<we:webextension xmlns:we="http://schemas.microsoft.com/office/webextensions/webextension/2010/11" '
    'id="{6A2F0C3D-91B8-4E27-8D5A-3C0B7E1F4A92}"><we:reference id="wa200000001" version="1.0.0.0" '
    'store="en-US" storeType="OMEX"/><we:alternateReferences/><we:properties/><we:bindings/>'
    f'<we:snapshot xmlns:r="{REL}"/></we:webextension>'
)
COMMENTS = (
    DECLARATION + f'<comments xmlns="{MAIN}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="xr" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision">'
    f"<authors><author>tc={THREAD}</author></authors><commentList>"
    f'<comment ref="C5" authorId="0" shapeId="0" xr:uid="{THREAD}"><text><t xml:space="preserve">'
    "[Threaded comment]\n\nComment:\n    营业执照名称已核对 The licence name is checked</t></text>"
    "</comment></commentList></comments>"
)
VML = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:x="urn:schemas-microsoft-com:office:excel">\n <o:shapelayout v:ext="edit">\n'
    '  <o:idmap v:ext="edit" data="1"/>\n </o:shapelayout><v:shapetype id="_x0000_t202" '
    'coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">\n'
    '  <v:stroke joinstyle="miter"/>\n  <v:path gradientshapeok="t" o:connecttype="rect"/>\n'
    ' </v:shapetype><v:shape id="_x0000_s1025" type="#_x0000_t202" style=\'position:absolute;'
    "margin-left:300pt;margin-top:60pt;width:108pt;height:59.25pt;z-index:1;visibility:hidden' "
    'fillcolor="infoBackground [80]" strokecolor="none [81]" o:insetmode="auto">\n'
    '  <v:fill color2="infoBackground [80]"/>\n  <v:shadow color="none [81]" obscured="t"/>\n'
    "  <v:path o:connecttype=\"none\"/>\n  <v:textbox style='mso-direction-alt:auto'>\n"
    "   <div style='text-align:left'></div>\n  </v:textbox>\n  <x:ClientData ObjectType=\"Note\">\n"
    "   <x:MoveWithCells/>\n   <x:SizeWithCells/>\n   <x:AutoFill>False</x:AutoFill>\n"
    "   <x:Row>4</x:Row>\n   <x:Column>2</x:Column>\n  </x:ClientData>\n </v:shape></xml>"
)
THREADED = (
    DECLARATION
    + '<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments" '
    f'xmlns:x="{MAIN}"><threadedComment ref="C5" dT="2026-11-20T09:15:00.00" personId="{PERSON}" '
    f'id="{THREAD}"><text>营业执照名称已核对 The licence name is checked</text></threadedComment>'
    "</ThreadedComments>"
)
PERSONS = (
    DECLARATION
    + '<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments" '
    f'xmlns:x="{MAIN}"><person displayName="王芳 Wang Fang" id="{PERSON}" '
    'userId="wang.fang@example.com" providerId="None"/></personList>'
)
CUSTOM_ITEM = (
    DECLARATION
    + '<ct:contentTypeSchema xmlns:ct="http://schemas.microsoft.com/office/2006/metadata/contentType" '
    'ct:_="" ct:contentTypeName="Document" ct:contentTypeID="0x0101003A6B2C"/>'
)
CUSTOM_PROPS = (
    DECLARATION + '<ds:datastoreItem ds:itemID="{2D7E4B19-6C3A-4F58-9B0E-A1C3D5E7F902}" '
    'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
    '<ds:schemaRefs><ds:schemaRef ds:uri="http://schemas.microsoft.com/office/2006/metadata/contentType"/>'
    "</ds:schemaRefs></ds:datastoreItem>"
)


def _rels(*relations: tuple[str, str, str]) -> str:
    items = "".join(
        f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>' for i, t, target in relations
    )
    return f'{DECLARATION}<Relationships xmlns="{PKG_REL}">{items}</Relationships>'


def _add_relations(rels: str, *relations: tuple[str, str, str]) -> str:
    items = "".join(
        f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>' for i, t, target in relations
    )
    return rels.replace("</Relationships>", items + "</Relationships>")


def _excel_sheet(xml: str, uid: str) -> str:
    """Our sheet with the root Excel writes and rows carrying x14ac:dyDescent."""
    xml = re.sub(r"<worksheet [^>]*>", EXCEL_ROOT.format(uid=uid), xml, count=1)
    return re.sub(r"<row (r=\"\d+\")", r'<row \1 x14ac:dyDescent="0.25"', xml)


def with_excel_parts(source: Path, target: Path) -> set[str]:
    """`source` with the parts Excel adds; the names of the members added."""
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        parts = {info.filename: archive.read(info.filename) for info in infos}
    text = {name: data.decode() for name, data in parts.items() if name.endswith((".xml", ".rels"))}
    added = {
        "docMetadata/LabelInfo.xml": LABEL,
        "xl/drawings/drawing1.xml": DRAWING,
        "xl/drawings/_rels/drawing1.xml.rels": _rels(
            ("rId1", f"{REL}/image", "../media/image1.png")
        ),
        "xl/metadata.xml": METADATA,
        "xl/webextensions/taskpanes.xml": TASKPANES,
        "xl/webextensions/_rels/taskpanes.xml.rels": _rels(
            ("rId1", WEBEXTENSION_REL, "webextension1.xml")
        ),
        "xl/webextensions/webextension1.xml": WEBEXTENSION,
        "xl/comments1.xml": COMMENTS,
        "xl/threadedComments/threadedComment1.xml": THREADED,
        "xl/persons/person.xml": PERSONS,
        "customXml/item1.xml": CUSTOM_ITEM,
        "customXml/itemProps1.xml": CUSTOM_PROPS,
        "customXml/_rels/item1.xml.rels": _rels(
            ("rId1", f"{REL}/customXmlProps", "itemProps1.xml")
        ),
        "xl/worksheets/_rels/sheet1.xml.rels": _rels(
            ("rId1", f"{REL}/printerSettings", "../printerSettings/printerSettings1.bin"),
            ("rId2", f"{REL}/drawing", "../drawings/drawing1.xml"),
            ("rId3", f"{REL}/vmlDrawing", "../drawings/vmlDrawing1.vml"),
            ("rId4", f"{REL}/comments", "../comments1.xml"),
            (
                "rId5",
                "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment",
                "../threadedComments/threadedComment1.xml",
            ),
        ),
        "xl/worksheets/_rels/sheet7.xml.rels": _rels(
            ("rId1", f"{REL}/printerSettings", "../printerSettings/printerSettings2.bin"),
        ),
    }
    binary = {
        "xl/media/image1.png": _png(),
        "xl/printerSettings/printerSettings1.bin": _devmode("Finance LaserJet"),
        "xl/printerSettings/printerSettings2.bin": _devmode("Finance LaserJet (A4)"),
        "xl/drawings/vmlDrawing1.vml": VML.encode(),
    }
    text["_rels/.rels"] = _add_relations(
        text["_rels/.rels"],
        ("rIdLabel", LABEL_REL, "docMetadata/LabelInfo.xml"),
        ("rIdTaskPanes", TASKPANES_REL, "xl/webextensions/taskpanes.xml"),
    )
    text["xl/_rels/workbook.xml.rels"] = _add_relations(
        text["xl/_rels/workbook.xml.rels"],
        ("rIdMeta", f"{REL}/sheetMetadata", "metadata.xml"),
        (
            "rIdPerson",
            "http://schemas.microsoft.com/office/2017/10/relationships/person",
            "persons/person.xml",
        ),
        ("rIdCustom", f"{REL}/customXml", "../customXml/item1.xml"),
    )
    overrides = "".join(
        f'<Override PartName="/{name}" ContentType="{kind}"/>'
        for name, kind in CONTENT_TYPES.items()
    )
    defaults = "".join(
        f'<Default Extension="{ext}" ContentType="{kind}"/>' for ext, kind in DEFAULTS.items()
    )
    types = text["[Content_Types].xml"]
    types = re.sub(r"(<Types [^>]*>)", r"\1" + defaults, types, count=1)
    text["[Content_Types].xml"] = types.replace("</Types>", overrides + "</Types>")
    for number, name in enumerate(sorted(n for n in text if n.startswith("xl/worksheets/sheet"))):
        text[name] = _excel_sheet(text[name], f"{{0000{number:04d}-0000-4000-8000-000000000000}}")
    profile = text[PROFILE_PART]
    profile = re.sub(
        r"(<row r=\"5\"[^>]*>.*?)(</row>)", lambda m: m[1] + SPILL + m[2], profile, count=1
    )
    profile = profile.replace("<pageSetup ", '<pageSetup r:id="rId1" ', 1)
    profile = profile.replace(
        "</worksheet>", '<drawing r:id="rId2"/><legacyDrawing r:id="rId3"/></worksheet>'
    )
    text[PROFILE_PART] = profile
    text[APPROVAL_PART] = text[APPROVAL_PART].replace("<pageSetup ", '<pageSetup r:id="rId1" ', 1)
    members = {**parts, **{name: value.encode() for name, value in text.items()}}
    members |= {name: value.encode() for name, value in added.items()} | binary
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in infos:
            archive.writestr(info, members[info.filename])
        for name in [*added, *binary]:
            archive.writestr(name, members[name])
    return {*added, *binary}
