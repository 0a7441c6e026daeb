"""A workbook package (OPC zip) opened for surgical editing: parts read on demand, a few replaced or
added, and every other member written back with exactly the bytes it had, in its place.

Relationship targets resolve per ECMA-376 Part 2: absolute from the package root when they start
with `/`, else relative to the source part's folder.
"""

from __future__ import annotations

import io
import itertools
import posixpath
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from functools import lru_cache

from creditbook.workbook.xlsm import spans
from creditbook.workbook.xlsm.spans import quoteattr

CONTENT_TYPES = "[Content_Types].xml"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OFFICE_DOCUMENT_REL = f"{DOC_REL_NS}/officeDocument"
WORKSHEET_REL = f"{DOC_REL_NS}/worksheet"
STYLES_REL = f"{DOC_REL_NS}/styles"
SHARED_STRINGS_REL = f"{DOC_REL_NS}/sharedStrings"
TABLE_REL = f"{DOC_REL_NS}/table"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str
    part: str  # the target as a part name in the zip (no leading /); the URI when external
    external: bool


@dataclass(frozen=True)
class Sheet:
    name: str
    part: str | None  # None for a sheet that is not a worksheet (a chart sheet, a dialog)
    position: int  # its index among the workbook's sheets (definedName localSheetId)


def rels_part(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target[1:])
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


class Package:
    def __init__(self, source: bytes | zipfile.ZipFile) -> None:
        """A package from its bytes, or from a zip already opened (and checked, `intake`)."""
        self._zip = (
            source if isinstance(source, zipfile.ZipFile) else zipfile.ZipFile(io.BytesIO(source))
        )
        self._infos = self._zip.infolist()
        self._names = {info.filename for info in self._infos}
        self._cache: dict[str, bytes] = {}
        self._changed: dict[str, bytes] = {}
        self._added: list[str] = []
        self.workbook = self._workbook_part()

    # ---------------------------------------------------------------- reading
    def has(self, part: str) -> bool:
        return part in self._changed or part in self._names

    def read(self, part: str) -> bytes:
        if part in self._changed:
            return self._changed[part]
        if part not in self._cache:
            self._cache[part] = self._zip.read(part)
        return self._cache[part]

    def relationships(self, part: str) -> tuple[Relationship, ...]:
        rels = rels_part(part)
        return _relationships(part, self.read(rels)) if self.has(rels) else ()

    def related(self, part: str, rel_type: str) -> str | None:
        return next(
            (r.part for r in self.relationships(part) if r.type == rel_type and not r.external),
            None,
        )

    def _workbook_part(self) -> str:
        root = self.related("", OFFICE_DOCUMENT_REL) if self.has("_rels/.rels") else None
        return root or "xl/workbook.xml"

    def sheets(self) -> list[Sheet]:
        """The workbook's sheets in tab order, each with its worksheet part."""
        targets = {
            r.id: r.part
            for r in self.relationships(self.workbook)
            if r.type == WORKSHEET_REL and not r.external
        }
        root = ET.fromstring(self.read(self.workbook))
        return [
            Sheet(element.get("name", ""), targets.get(element.get(f"{{{DOC_REL_NS}}}id", "")), i)
            for i, element in enumerate(root.iter(f"{{{MAIN_NS}}}sheet"))
        ]

    # ---------------------------------------------------------------- writing
    def write(self, part: str, data: bytes) -> None:
        """Replace a part, or add it (at the end of the zip)."""
        if part not in self._names and part not in self._added:
            self._added.append(part)
        self._changed[part] = data

    def free_part(self, pattern: str) -> str:
        """The first unused part name of `pattern` ("xl/worksheets/sheet{}.xml") from 1 up."""
        return next(
            name
            for n in itertools.count(1)
            if not self.has(name := pattern.format(n))
            and name.lower() not in {known.lower() for known in self._names}
        )

    def relate(self, source: str, rel_type: str, target: str) -> str:
        """Add a relationship from `source` to the part `target`; its new Id."""
        rels = rels_part(source)
        data = (
            self.read(rels)
            if self.has(rels)
            else (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<Relationships xmlns="' + REL_NS.encode() + b'"></Relationships>'
            )
        )
        used = {r.id for r in self.relationships(source)} if self.has(rels) else set()
        free = next(f"rId{n}" for n in itertools.count(1) if f"rId{n}" not in used)
        relative = posixpath.relpath(target, posixpath.dirname(source) or ".")
        element = (
            f"<Relationship Id={quoteattr(free)} Type={quoteattr(rel_type)} "
            f"Target={quoteattr(relative)}/>"
        ).encode()
        self.write(rels, append_child(data, spans.index(data, 0), element))
        return free

    def declare(self, part: str, content_type: str) -> None:
        """An Override for a new part in [Content_Types].xml."""
        data = self.read(CONTENT_TYPES)
        element = (
            f"<Override PartName={quoteattr('/' + part)} ContentType={quoteattr(content_type)}/>"
        )
        self.write(CONTENT_TYPES, append_child(data, spans.index(data, 0), element.encode()))

    def to_bytes(self) -> bytes:
        """The package: every member in its order; unchanged ones with their original content."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for info in self._infos:
                data = self._changed.get(info.filename)
                archive.writestr(_copy(info), self.read(info.filename) if data is None else data)
            stamp = self._infos[0].date_time if self._infos else (1980, 1, 1, 0, 0, 0)
            for part in self._added:
                info = zipfile.ZipInfo(part, stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, self._changed[part])
        return out.getvalue()


@lru_cache(maxsize=16)  # the relationship parts of workbooks from one template are alike
def _relationships(part: str, data: bytes) -> tuple[Relationship, ...]:
    """The relationships of `part`, from its relationships part's bytes `data`."""
    found = []
    for element in ET.fromstring(data).iter(f"{{{REL_NS}}}Relationship"):
        external = element.get("TargetMode") == "External"
        target = element.get("Target", "")
        found.append(
            Relationship(
                element.get("Id", ""),
                element.get("Type", ""),
                target if external else resolve(part, target),
                external,
            )
        )
    return tuple(found)


def _copy(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    copy.compress_type = info.compress_type
    copy.create_system, copy.create_version = info.create_system, info.create_version
    copy.external_attr, copy.internal_attr = info.external_attr, info.internal_attr
    copy.comment = info.comment  # extra fields (timestamps, zip64 sizes) are the zip's, not content
    return copy


def append_child(data: bytes, element: spans.Span, child: bytes) -> bytes:
    """Add `child` as the last child of `element` (an empty `<x/>` is opened up)."""
    if element.empty:
        tag = data[element.start : element.open_end - 2].rstrip()
        name = tag[1:].split(maxsplit=1)[0]
        new = tag + b">" + child + b"</" + name + b">"
        return spans.splice(data, [(element.start, element.end, new)])
    return spans.splice(data, [(element.close, element.close, child)])
