"""A workbook file, checked before any spreadsheet reader opens it.

Completed workbooks arrive from many hands. Before openpyxl or calamine parses one, we make sure it
is what it claims to be: an OOXML package (not a password-encrypted or legacy OLE file, not a text
file renamed), small enough once expanded that reading it cannot exhaust memory (a zip bomb), free
of XML document type declarations (entity expansion, external entities: Excel never writes a DTD)
and without links to other workbooks, whose values could change after the approval.

Expanded sizes come from the zip's central directory. A member that inflates beyond its declared
size fails its CRC check in `zipfile` rather than growing, so the declared sizes bound what any
reader inflates.
"""

from __future__ import annotations

import io
import xml.parsers.expat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree.ElementTree import ParseError

import olefile
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from creditbook.workbook.file_io import InputError, refused

MiB = 2**20
MAX_FILE_BYTES = 32 * MiB
MAX_EXPANDED_BYTES = 64 * MiB
# openpyxl keeps every cell of every sheet in memory: 14 MB of sheet XML took 400 MB and 6 s.
# A credit review with a 10,000-line consumption table and years of audit rows stays far below.
MAX_SHEET_BYTES = 8 * MiB
XML_PARTS = (".xml", ".rels")
PROLOG_CHUNK = 1024  # a prolog is a few hundred bytes; the root starts in the first chunk
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
EXTERNAL_LINKS = "xl/externalLinks/"


def _mb(size: int) -> str:
    return f"{size / MiB:.1f} MB"


def check_workbook_file(path: Path) -> None:
    """Raise an InputError naming the file (and the part) when it must not be opened."""
    _check_head(path)
    with _refusing_bad_zips(path), zipfile.ZipFile(path) as package:
        _check_package(path, package)


def open_workbook_file(path: Path) -> zipfile.ZipFile:
    """The file's package, checked as `check_workbook_file` does, from one read of the file: the
    bytes checked are the bytes the reader parses (the file is neither opened twice nor able to
    change between the check and the read)."""
    _check_head(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise refused(path, f"无法读取：{exc.strerror}", f"cannot read: {exc.strerror}") from None
    with _refusing_bad_zips(path):
        package = zipfile.ZipFile(io.BytesIO(data))
        _check_package(path, package)
    return package


def _check_head(path: Path) -> None:
    """Not an OLE file (encrypted, legacy .xls), not empty, not beyond MAX_FILE_BYTES."""
    try:
        with path.open("rb") as stream:
            head = stream.read(len(OLE_MAGIC))
            size = path.stat().st_size
    except FileNotFoundError:
        raise refused(path, "文件不存在", "file not found") from None
    except IsADirectoryError:
        raise refused(path, "这是文件夹，不是工作簿", "a folder, not a workbook") from None
    except OSError as exc:
        raise refused(path, f"无法读取：{exc.strerror}", f"cannot read: {exc.strerror}") from None
    if head == OLE_MAGIC:
        raise _ole_problem(path)
    if size == 0:
        raise refused(path, "文件为空", "the file is empty")
    if size > MAX_FILE_BYTES:
        raise refused(
            path,
            f"文件 {_mb(size)}，超过上限 {_mb(MAX_FILE_BYTES)}",
            f"the file is {_mb(size)}, over the {_mb(MAX_FILE_BYTES)} limit",
        )


def _check_package(path: Path, package: zipfile.ZipFile) -> None:
    _check_sizes(path, package.infolist())
    _check_links(path, package)
    for info in package.infolist():
        if info.filename.endswith(XML_PARTS):
            _check_prolog(path, package, info)


@contextmanager
def _refusing_bad_zips(path: Path) -> Iterator[None]:
    """A damaged, truncated, encrypted or exotic zip as an InputError naming the file."""
    try:
        yield
    except zipfile.BadZipFile:
        raise refused(
            path,
            "不是 Excel 工作簿（.xlsx/.xlsm），或文件已损坏、被截断",
            "not an Excel workbook (.xlsx/.xlsm), or the file is damaged or truncated",
        ) from None
    except (RuntimeError, NotImplementedError) as exc:  # an encrypted or exotic zip member
        raise refused(
            path, f"工作簿包无法读取：{exc}", f"the workbook package cannot be read: {exc}"
        ) from None


def _ole_problem(path: Path) -> InputError:
    """An OLE compound file: a password-encrypted workbook, or the old binary .xls format."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            encrypted = ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage")
    except Exception:  # a damaged compound file: olefile's failures have no common type
        encrypted = False
    if encrypted:
        return refused(
            path,
            "工作簿设有打开密码（已加密）：请在 Excel 中取消密码（文件 ▸ 信息 ▸ 保护工作簿 ▸ "
            "用密码进行加密，清空）后另存",
            "the workbook is encrypted with a password: remove it in Excel (File ▸ Info ▸ "
            "Protect Workbook ▸ Encrypt with Password, clear it) and save again",
        )
    return refused(
        path,
        "这是旧版二进制格式（.xls）或已损坏的 Office 文件：请在 Excel 中另存为 .xlsm",
        "this is the old binary format (.xls) or a damaged Office file: save it as .xlsm in Excel",
    )


def _check_sizes(path: Path, members: list[zipfile.ZipInfo]) -> None:
    expanded = sum(info.file_size for info in members)
    sheets = [info for info in members if info.filename.startswith("xl/worksheets/")]
    sheet_bytes = sum(info.file_size for info in sheets)
    if expanded <= MAX_EXPANDED_BYTES and sheet_bytes <= MAX_SHEET_BYTES:
        return
    largest = max(members, key=lambda info: info.file_size)
    ratio = largest.file_size / max(largest.compress_size, 1)
    raise refused(
        path,
        f"解压后 {_mb(expanded)}（其中工作表 {_mb(sheet_bytes)}；最大部件 {largest.filename} "
        f"{_mb(largest.file_size)}，压缩比 {ratio:,.0f} 倍），超过上限（共 "
        f"{_mb(MAX_EXPANDED_BYTES)}，工作表 {_mb(MAX_SHEET_BYTES)}）：疑似压缩炸弹，拒绝读取",
        f"expands to {_mb(expanded)} (worksheets {_mb(sheet_bytes)}; largest part "
        f"{largest.filename} {_mb(largest.file_size)} at {ratio:,.0f}× compression), over the "
        f"limits ({_mb(MAX_EXPANDED_BYTES)} in all, {_mb(MAX_SHEET_BYTES)} of worksheets): "
        "refused as a possible zip bomb",
    )


def _check_links(path: Path, package: zipfile.ZipFile) -> None:
    """Links to other workbooks: their values can change after approval, so they are refused."""
    links = [
        name
        for name in package.namelist()
        if name.startswith(EXTERNAL_LINKS) and name.endswith(".xml") and "/_rels/" not in name
    ]
    if not links:
        return
    targets = []
    for link in links:
        folder, _, name = link.rpartition("/")
        rels = f"{folder}/_rels/{name}.rels"
        try:
            root = fromstring(package.read(rels), forbid_dtd=True)
            targets += [element.get("Target", "") for element in root]
        except (KeyError, ParseError, DefusedXmlException):
            targets.append(link)
    listed = ", ".join(sorted(set(targets)))
    raise refused(
        path,
        f"工作簿链接到外部文件（{listed}）：链接的值在审批后可能改变。请在 Excel 中"
        "（数据 ▸ 编辑链接 ▸ 断开链接）断开后另存",
        f"the workbook links to other files ({listed}); linked values can change after "
        "approval. Break the links in Excel (Data ▸ Edit Links ▸ Break Link) and save again",
    )


class _RootReached(Exception):
    """The prolog ended without a document type declaration."""


class _Declared(Exception):
    """A document type declaration."""


def _refuse_declaration(*_: object) -> None:
    raise _Declared


def _root_reached(*_: object) -> None:
    raise _RootReached


def _check_prolog(path: Path, package: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Parse a part up to its root element with expat, refusing any DTD on the way (as
    defusedxml's forbid_dtd does), and stop there: reading on costs time and proves nothing."""
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_declaration
    parser.EntityDeclHandler = _refuse_declaration
    parser.StartElementHandler = _root_reached
    try:
        with package.open(info) as stream:
            while chunk := stream.read(PROLOG_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _RootReached:
        return
    except _Declared:
        raise refused(
            path,
            f"部件 {info.filename} 含 XML 文档类型声明（DTD/实体）：Excel 从不写入，"
            "这是实体膨胀或外部实体攻击的手法，拒绝读取",
            f"part {info.filename} carries an XML document type declaration (DTD/entities): "
            "Excel never writes one, and it is how entity-expansion and external-entity "
            "attacks work; refused",
        ) from None
    except xml.parsers.expat.ExpatError:
        return  # malformed XML: the reader reports it as an unreadable workbook
