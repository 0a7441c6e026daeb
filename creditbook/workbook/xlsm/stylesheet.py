"""A workbook's styles.xml, appended to and never renumbered: the cell formats our sheets wear.

A cell's `s` attribute is an index into `cellXfs`; a named style ("cb_title") is a `cellStyle`
pointing into `cellStyleXfs`. `cell_format` finds the cellXf of a named style with a number format
(and the quote prefix that keeps `=text` text), reusing an equal one, appending one otherwise. A
named style the workbook lacks is appended with its font, fill and border, from `styles.FORMATS`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from creditbook.workbook.styles import BORDER_COLOR, FONT, FORMATS, Format
from creditbook.workbook.xlsm import spans
from creditbook.workbook.xlsm.opc import MAIN_NS
from creditbook.workbook.xlsm.sheetml import BUILTIN_IDS
from creditbook.workbook.xlsm.spans import quoteattr

# styleSheet children in schema order (ECMA-376 Part 1, CT_Stylesheet)
ORDER = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)
FIRST_CUSTOM_FORMAT = 164
XF_IDS = ("numFmtId", "fontId", "fillId", "borderId")


@dataclass(frozen=True)
class Xf:
    """A cell format as its content: ids, the named style, quote prefix, alignment, protection."""

    ids: tuple[int, int, int, int]  # numFmtId, fontId, fillId, borderId
    style: int  # xfId: the cellStyleXf of its named style
    quote: bool
    alignment: tuple[tuple[str, str], ...]
    protection: tuple[tuple[str, str], ...]

    def xml(self, p: str) -> bytes:
        number, font, fill, border = self.ids
        attrs = (
            f'numFmtId="{number}" fontId="{font}" fillId="{fill}" borderId="{border}" '
            f'xfId="{self.style}"'
        )
        attrs += ' applyNumberFormat="1"' if number else ""
        attrs += ' applyFont="1"' if font else ""
        attrs += ' applyFill="1"' if fill else ""
        attrs += ' applyBorder="1"' if border else ""
        attrs += ' applyAlignment="1"' if self.alignment else ""
        attrs += ' applyProtection="1"' if self.protection else ""
        attrs += ' quotePrefix="1"' if self.quote else ""
        children = "".join(
            f"<{p}{name}{''.join(f' {k}={quoteattr(v)}' for k, v in values)}/>"
            for name, values in (("alignment", self.alignment), ("protection", self.protection))
            if values
        )
        return (
            f"<{p}xf {attrs}>{children}</{p}xf>".encode()
            if children
            else (f"<{p}xf {attrs}/>".encode())
        )


def _true(value: str | None) -> bool:
    return value in ("1", "true")


def _xf(element: ET.Element, style: int | None = None) -> Xf:
    ids = tuple(int(element.get(name, "0")) for name in XF_IDS)
    child = {c.tag.rpartition("}")[2]: tuple(sorted(c.attrib.items())) for c in element}
    return Xf(
        (ids[0], ids[1], ids[2], ids[3]),
        int(element.get("xfId", "0")) if style is None else style,
        _true(element.get("quotePrefix")),
        child.get("alignment", ()),
        child.get("protection", ()),
    )


def _font(fmt: Format, p: str) -> str:
    parts = [f'<{p}name val="{FONT}"/>']
    parts += [f'<{p}b val="1"/>'] if fmt.bold else []
    parts += [f'<{p}i val="1"/>'] if fmt.italic else []
    parts += [f'<{p}color rgb="FF{fmt.color}"/>', f'<{p}sz val="{fmt.size:g}"/>']
    return f"<{p}font>{''.join(parts)}</{p}font>"


def _fill(fmt: Format, p: str) -> str:
    return (
        f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="FF{fmt.fill}"/>'
        f"</{p}patternFill></{p}fill>"
    )


def _border(p: str) -> str:
    sides = "".join(
        f'<{p}{side} style="thin"><{p}color rgb="FF{BORDER_COLOR}"/></{p}{side}>'
        for side in ("left", "right", "top", "bottom")
    )
    return f"<{p}border>{sides}<{p}diagonal/></{p}border>"


class StyleSheet:
    """styles.xml with the cell formats asked for appended; `to_bytes` is the edited part."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.root = spans.index(data, 1)
        self.p = spans.prefix_of(data, self.root)
        tree = ET.fromstring(data)
        ns = f"{{{MAIN_NS}}}"

        def items(container: str) -> list[ET.Element]:
            element = tree.find(f"{ns}{container}")
            return [] if element is None else list(element)

        self.counts = {name: len(items(name)) for name in ORDER}
        self.added: dict[str, list[bytes]] = {name: [] for name in ORDER}
        self.formats = {
            e.get("formatCode", ""): int(e.get("numFmtId", "0")) for e in items("numFmts")
        }
        self.style_xfs = [_xf(e, index) for index, e in enumerate(items("cellStyleXfs"))]
        self.named = {e.get("name", ""): int(e.get("xfId", "0")) for e in items("cellStyles")}
        self.cell_xfs: dict[Xf, int] = {}
        for index, element in enumerate(items("cellXfs")):
            self.cell_xfs.setdefault(_xf(element), index)
        self.base = (
            _xf(items("cellXfs")[0]) if items("cellXfs") else Xf((0, 0, 0, 0), 0, False, (), ())
        )

    def _append(self, container: str, xml: str | bytes) -> int:
        """Append an item to a container; its index there."""
        self.added[container].append(xml.encode() if isinstance(xml, str) else xml)
        return self.counts[container] + len(self.added[container]) - 1

    def number_format(self, code: str | None) -> int | None:
        if code is None:
            return None
        if code in BUILTIN_IDS:
            return BUILTIN_IDS[code]
        if code not in self.formats:
            used = [FIRST_CUSTOM_FORMAT - 1, *self.formats.values()]
            self.formats[code] = max(used) + 1
            self._append(
                "numFmts",
                f'<{self.p}numFmt numFmtId="{self.formats[code]}" formatCode={quoteattr(code)}/>',
            )
        return self.formats[code]

    def _named(self, name: str) -> Xf:
        """The cellStyleXf of a named style; one of ours is added when the workbook lacks it."""
        if name not in self.named:
            fmt, p = FORMATS[name], self.p
            font = self._append("fonts", _font(fmt, p))
            fill = self._append("fills", _fill(fmt, p)) if fmt.fill else 0
            border = self._append("borders", _border(p)) if fmt.border else 0
            alignment: dict[str, str] = {"vertical": fmt.vertical}
            alignment |= {"horizontal": fmt.horizontal} if fmt.horizontal else {}
            alignment |= {"wrapText": "1"} if fmt.wrap else {}
            protection = () if fmt.locked else (("locked", "0"),)
            index = self.counts["cellStyleXfs"] + len(self.added["cellStyleXfs"])
            xf = Xf(
                (0, font, fill, border), index, False, tuple(sorted(alignment.items())), protection
            )
            self._append("cellStyleXfs", xf.xml(p).replace(f' xfId="{index}"'.encode(), b""))
            self.style_xfs.append(xf)
            self._append("cellStyles", f'<{p}cellStyle name={quoteattr(name)} xfId="{index}"/>')
            self.named[name] = index
        return self.style_xfs[self.named[name]]

    def cell_format(self, style: str | None, number_format: str | None, quote: bool) -> int:
        """The cellXfs index of a cell wearing `style` (None: the workbook's default format)."""
        base = self._named(style) if style else self.base
        number = self.number_format(number_format)
        ids = base.ids if number is None else (number, *base.ids[1:])
        xf = Xf(
            (ids[0], ids[1], ids[2], ids[3]), base.style, quote, base.alignment, base.protection
        )
        if xf not in self.cell_xfs:
            self.cell_xfs[xf] = self._append("cellXfs", xf.xml(self.p))
        return self.cell_xfs[xf]

    def to_bytes(self) -> bytes | None:
        """The edited styles.xml; None when nothing was appended."""
        if not any(self.added.values()):
            return None
        edits = []
        for position, name in enumerate(ORDER):
            new = self.added[name]
            if not new:
                continue
            count = str(self.counts[name] + len(new))
            container = self.root.child(name)
            if container is None:
                later = [s for s in self.root.children if s.name in ORDER[position + 1 :]]
                at = later[0].start if later else self.root.close
                xml = f'<{self.p}{name} count="{count}">'.encode() + b"".join(new)
                edits.append((at, at, xml + f"</{self.p}{name}>".encode()))
            elif container.empty:
                xml = f'<{self.p}{name} count="{count}">'.encode() + b"".join(new)
                edits.append((container.start, container.end, xml + f"</{self.p}{name}>".encode()))
            else:
                edits.append(spans.with_attribute(self.data, container, "count", count))
                edits.append((container.close, container.close, b"".join(new)))
        return spans.splice(self.data, edits)
