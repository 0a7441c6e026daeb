"""Where each element of an XML part lies in its bytes, so a part can be edited by splicing.

Re-serializing a part Excel wrote (ElementTree, openpyxl) renames or drops namespace prefixes that
`mc:Ignorable` still names, and reorders attributes; Excel then repairs the file. Editing by byte
ranges keeps everything not edited exactly as it was.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Span:
    """One element: its namespace URI and local name, attributes, and byte offsets.

    `start` is the `<` of its start tag, `open_end` just after that tag's `>`, `close` the `<` of
    its end tag (== `end` for an empty element `<x/>`), `end` just after the element."""

    uri: str
    name: str
    attrs: dict[str, str]
    start: int
    open_end: int
    close: int = -1
    end: int = -1
    children: list[Span] = field(default_factory=list)

    def child(self, name: str) -> Span | None:
        return next((span for span in self.children if span.name == name), None)

    def all(self, name: str) -> Iterator[Span]:
        return (span for span in self.children if span.name == name)

    @property
    def empty(self) -> bool:
        return self.close == self.end


def _tag_end(data: bytes, start: int) -> int:
    """Just after the `>` closing the tag that opens at `start` (quoted `>` skipped)."""
    position, quote = start, 0
    while True:
        byte = data[position]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (0x22, 0x27):
            quote = byte
        elif byte == 0x3E:
            return position + 1
        position += 1


def index(data: bytes, depth: int = 2) -> Span:
    """The root element's span, with its descendants down to `depth` levels below it."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    stack: list[Span] = []
    root: list[Span] = []

    def started(name: str, attrs: dict[str, str]) -> None:
        uri, _, local = name.rpartition(" ")
        at = parser.CurrentByteIndex
        span = Span(uri, local, attrs, at, _tag_end(data, at))
        if stack and len(stack) <= depth:
            stack[-1].children.append(span)
        if not stack:
            root.append(span)
        stack.append(span)

    def ended(_: str) -> None:
        span = stack.pop()
        at = parser.CurrentByteIndex
        if data[span.open_end - 2 : span.open_end] == b"/>":
            span.close = span.end = span.open_end
        else:
            span.close, span.end = at, _tag_end(data, at)

    parser.StartElementHandler = started
    parser.EndElementHandler = ended
    parser.Parse(data, True)
    return root[0]


def escape(text: str, entities: Mapping[str, str] | None = None) -> str:
    """Text as XML character data: `&`, `<` and `>` as entities, and each of `entities`' characters
    as its entity. The same bytes as `xml.sax.saxutils.escape`, whose module imports urllib and
    with it the network stack (a sixtieth of a second on every evaluate)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for character, entity in (entities or {}).items():
        text = text.replace(character, entity)
    return text


def quoteattr(value: str) -> str:
    """An attribute value in its quotes, as `xml.sax.saxutils.quoteattr` writes it: escaped, line
    breaks and tabs as character references, in double quotes unless it holds a double quote and
    no single one."""
    value = escape(value, {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


def prefix_of(data: bytes, span: Span) -> str:
    """`x:` when the element is written `<x:name`, else `` (the default namespace)."""
    tag = data[span.start + 1 : span.open_end].split(maxsplit=1)[0].rstrip(b"/>")
    head, _, _ = tag.decode().rpartition(":")
    return f"{head}:" if head else ""


def splice(data: bytes, edits: Sequence[tuple[int, int, bytes]]) -> bytes:
    """Replace each byte range [start, end) with new bytes; ranges must not overlap."""
    out, position = [], 0
    for start, end, new in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        out += [data[position:start], new]
        position = end
    out.append(data[position:])
    return b"".join(out)


def with_attribute(data: bytes, span: Span, name: str, value: str) -> tuple[int, int, bytes]:
    """An edit setting one attribute of the element's start tag (added when absent)."""
    tag = data[span.start : span.open_end]
    head = tag[:-2] if tag.endswith(b"/>") else tag[:-1]
    tail = tag[len(head) :]
    pattern = f" {name}=".encode()
    position = head.find(pattern)
    if position < 0:
        new = head + f" {name}={quoteattr(value)}".encode() + tail
    else:
        quote_at = position + len(pattern)
        closing = head.index(head[quote_at : quote_at + 1], quote_at + 1)
        new = head[:position] + f" {name}={quoteattr(value)}".encode() + head[closing + 1 :] + tail
    return span.start, span.open_end, new
