"""Build an Excel ``vbaProject.bin`` from VBA source text, following MS-OVBA.

The project carries source only: ``_VBA_PROJECT`` is the 7-byte form with version 0xFFFF and
every module's source starts at offset 0, so Excel compiles the code when it opens the file.
All values that Excel would randomise are fixed or derived from the input: same input, same bytes.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from creditbook.workbook.xlsm.cfb import write_compound_file

CHUNK = 4096
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
LCID_EN_US = 0x0409
SYSKIND_WIN64 = 3
COMPAT_VERSION = 5
# MS-OVBA 2.3.4.1: Reserved1 0x61CC, Version 0xFFFF (no compiled code), Reserved2 0x00, Reserved3.
VBA_PROJECT_STREAM = bytes.fromhex("CC61FFFF000100")
HOST_EXTENDER = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"

ModuleKind = Literal["standard", "workbook", "worksheet"]

# Header attributes as Excel writes them (xlwings' quickstart.xlsm); VB_Base names the host class.
DOCUMENT_BASES = {
    "workbook": "0{00020819-0000-0000-C000-000000000046}",
    "worksheet": "0{00020820-0000-0000-C000-000000000046}",
}
DOCUMENT_ATTRIBUTES = (
    "VB_GlobalNameSpace = False",
    "VB_Creatable = False",
    "VB_PredeclaredId = True",
    "VB_Exposed = True",
    "VB_TemplateDerived = False",
    "VB_Customizable = True",
)


@dataclass(frozen=True)
class Module:
    """A code module: ``standard`` (Module1), or the document module of the workbook or a sheet.

    ``source`` is the code without the ``Attribute VB_*`` header, which the builder writes.
    """

    name: str
    source: str
    kind: ModuleKind


@dataclass(frozen=True)
class RegisteredReference:
    """REFERENCEREGISTERED (MS-OVBA 2.3.4.2.2.5): a registered type library."""

    name: str
    libid: str


@dataclass(frozen=True)
class ProjectReference:
    """REFERENCEPROJECT (MS-OVBA 2.3.4.2.2.6): another VBA project, such as an add-in."""

    name: str
    libid_absolute: str
    libid_relative: str
    major_version: int
    minor_version: int


Reference = RegisteredReference | ProjectReference

# The reference strings below are those of xlwings.xlam (stdole) and xlwings' quickstart.xlsm.
STDOLE = RegisteredReference(
    "stdole",
    r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\System32\stdole2.tlb"
    "#OLE Automation",
)
OFFICE = RegisteredReference(
    "Office",
    r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\Program Files\Common Files"
    r"\Microsoft Shared\OFFICE16\MSO.DLL#Microsoft Office 16.0 Object Library",
)
XLWINGS = ProjectReference(
    "xlwings",
    r"*\CC:\Users\felix\dev\xlwings\xlwings\addin\xlwings.xlam",
    r"*\Caddin\xlwings.xlam",
    0x68FE4C3D,
    0x000C,
)
XLWINGS_WORKBOOK_REFERENCES: tuple[Reference, ...] = (STDOLE, OFFICE, XLWINGS)


def _copy_token_bits(position: int) -> int:
    # MS-OVBA 2.4.1.3.19.1: BitCount = max(ceil(log2(position in chunk)), 4).
    return max((position - 1).bit_length(), 4)


def _compress_chunk(chunk: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.7: one CompressedChunk for up to 4096 decompressed bytes."""
    data = bytearray()
    seen: dict[bytes, list[int]] = {}
    position = 0
    while position < len(chunk):
        flag_index = len(data)
        data.append(0)
        for bit in range(8):  # MS-OVBA 2.4.1.3.8: a flag byte and up to 8 tokens.
            if position >= len(chunk):
                break
            bit_count = _copy_token_bits(position)
            limit = min((0xFFFF >> bit_count) + 3, len(chunk) - position)
            offset, length = 0, 0
            # MS-OVBA 2.4.1.3.19.4: longest match, nearest first, capped at the maximum length.
            for candidate in reversed(seen.get(chunk[position : position + 3], [])):
                size = 0
                while size < limit and chunk[candidate + size] == chunk[position + size]:
                    size += 1
                if size > length:
                    offset, length = position - candidate, size
                if length == limit:
                    break
            if length >= 3:
                # MS-OVBA 2.4.1.3.19.3: pack (Offset - 1) and (Length - 3) into a CopyToken.
                data += struct.pack("<H", (offset - 1) << (16 - bit_count) | (length - 3))
                data[flag_index] |= 1 << bit
            else:
                data.append(chunk[position])
                length = 1
            for start in range(position, position + length):
                seen.setdefault(chunk[start : start + 3], []).append(start)
            position += length
    if len(data) <= CHUNK:
        # MS-OVBA 2.4.1.1.5: size - 3, signature 0b011, compressed flag 1.
        return struct.pack("<H", 0xB000 | (len(data) - 1)) + data
    # MS-OVBA 2.4.1.3.10: a raw chunk always holds 4096 bytes and padding would become data.
    if len(chunk) < CHUNK:
        raise ValueError("the final chunk does not compress and is too short for a raw chunk")
    return struct.pack("<H", 0x3FFF) + chunk


def compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.6: compress ``data`` into a CompressedContainer."""
    chunks = (_compress_chunk(data[start : start + CHUNK]) for start in range(0, len(data), CHUNK))
    return b"\x01" + b"".join(chunks)


def decompress(container: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.1: decompress a CompressedContainer."""
    if container[:1] != b"\x01":
        raise ValueError("not a compressed container: signature byte is not 0x01")
    out = bytearray()
    position = 1
    while position < len(container):
        (header,) = struct.unpack_from("<H", container, position)
        if header >> 12 & 0b111 != 0b011:
            raise ValueError(f"bad chunk signature at offset {position}")
        chunk = container[position + 2 : position + (header & 0x0FFF) + 3]
        position += (header & 0x0FFF) + 3
        if not header & 0x8000:
            out += chunk  # MS-OVBA 2.4.1.3.3: raw chunk.
            continue
        chunk_start, index = len(out), 0
        while index < len(chunk):  # MS-OVBA 2.4.1.3.4: token sequences.
            flags = chunk[index]
            index += 1
            for bit in range(8):
                if index >= len(chunk):
                    break
                if flags >> bit & 1:
                    # MS-OVBA 2.4.1.3.19.2: unpack a CopyToken.
                    (token,) = struct.unpack_from("<H", chunk, index)
                    index += 2
                    bit_count = _copy_token_bits(len(out) - chunk_start)
                    offset = (token >> (16 - bit_count)) + 1
                    for _ in range((token & (0xFFFF >> bit_count)) + 3):
                        out.append(out[-offset])
                else:
                    out.append(chunk[index])
                    index += 1
    return bytes(out)


def _record(record_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(payload)) + payload


def _text_records(record_id: int, unicode_id: int, text: str, encoding: str) -> bytes:
    """A string in MBCS followed by the same string in UTF-16 under its Reserved/unicode id."""
    return _record(record_id, text.encode(encoding)) + _record(unicode_id, text.encode("utf-16-le"))


def _reference_records(reference: Reference, encoding: str) -> bytes:
    # MS-OVBA 2.3.4.2.2.1: REFERENCENAME, then the reference record proper.
    name = _text_records(0x0016, 0x003E, reference.name, encoding)
    if isinstance(reference, RegisteredReference):
        libid = reference.libid.encode(encoding)
        body = struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0)
        return name + _record(0x000D, body)
    absolute = reference.libid_absolute.encode(encoding)
    relative = reference.libid_relative.encode(encoding)
    body = (
        struct.pack("<I", len(absolute))
        + absolute
        + struct.pack("<I", len(relative))
        + relative
        + struct.pack("<IH", reference.major_version, reference.minor_version)
    )
    return name + _record(0x000E, body)


def _module_records(module: Module, encoding: str) -> bytes:
    # MS-OVBA 2.3.4.2.3.2: MODULE record; the stream is named after the module.
    return b"".join(
        [
            _text_records(0x0019, 0x0047, module.name, encoding),
            _text_records(0x001A, 0x0032, module.name, encoding),
            _text_records(0x001C, 0x0048, "", encoding),
            _record(0x0031, struct.pack("<I", 0)),  # source starts at offset 0
            _record(0x001E, struct.pack("<I", 0)),
            _record(0x002C, struct.pack("<H", 0xFFFF)),
            _record(0x0021 if module.kind == "standard" else 0x0022, b""),  # Reserved = 0
            _record(0x002B, b""),  # terminator, Reserved = 0
        ]
    )


def _dir_stream(
    modules: Sequence[Module],
    references: Sequence[Reference],
    project_name: str,
    codepage: int,
    encoding: str,
) -> bytes:
    """MS-OVBA 2.3.4.2 (uncompressed), in the record order of Excel's own files."""
    information = [
        _record(0x0001, struct.pack("<I", SYSKIND_WIN64)),
        _record(0x004A, struct.pack("<I", COMPAT_VERSION)),
        _record(0x0002, struct.pack("<I", LCID_EN_US)),
        _record(0x0014, struct.pack("<I", LCID_EN_US)),
        _record(0x0003, struct.pack("<H", codepage)),
        _record(0x0004, project_name.encode(encoding)),
        _text_records(0x0005, 0x0040, "", encoding),
        _text_records(0x0006, 0x003D, "", encoding),
        _record(0x0007, struct.pack("<I", 0)),
        _record(0x0008, struct.pack("<I", 0)),
        struct.pack("<HIIH", 0x0009, 4, 1, 0),  # PROJECTVERSION: Reserved 4, major 1, minor 0
        _text_records(0x000C, 0x003C, "", encoding),
    ]
    modules_header = [
        _record(0x000F, struct.pack("<H", len(modules))),
        _record(0x0013, struct.pack("<H", 0xFFFF)),
    ]
    return b"".join(
        [
            *information,
            *(_reference_records(reference, encoding) for reference in references),
            *modules_header,
            *(_module_records(module, encoding) for module in modules),
            _record(0x0010, b""),  # terminator, Reserved = 0
        ]
    )


def _module_text(module: Module, encoding: str) -> bytes:
    """MS-OVBA 2.3.4.3: the module source with its attribute header, CRLF line ends."""
    if re.search(r"(?im)^Attribute VB_", module.source):
        raise ValueError(f"module {module.name}: remove the 'Attribute VB_' lines, they are added")
    header = [f'Attribute VB_Name = "{module.name}"']
    if module.kind != "standard":
        header.append(f'Attribute VB_Base = "{DOCUMENT_BASES[module.kind]}"')
        header += [f"Attribute {attribute}" for attribute in DOCUMENT_ATTRIBUTES]
    body = re.sub(r"\r\n|\r|\n", "\r\n", module.source)
    if body and not body.endswith("\r\n"):
        body += "\r\n"
    text = "\r\n".join(header) + "\r\n" + body
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as error:
        raise ValueError(
            f"module {module.name}: {text[error.start]!r} cannot be encoded in {encoding}; "
            "VBA source should be ASCII"
        ) from error


def _encrypt(project_id: str, data: bytes) -> str:
    """MS-OVBA 2.4.3.2 Data Encryption with Seed 0, so IgnoredLength (Seed & 6) / 2 is 0."""
    seed, version = 0x00, 2
    project_key = sum(project_id.encode("ascii")) & 0xFF
    out = bytearray([seed, seed ^ version, seed ^ project_key])
    unencrypted_1, encrypted_1, encrypted_2 = project_key, out[2], out[1]
    for byte in struct.pack("<I", len(data)) + data:
        encrypted = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(encrypted)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, encrypted, byte
    return out.hex().upper()


def _project_stream(modules: Sequence[Module], project_name: str, project_id: str) -> str:
    """MS-OVBA 2.3.1 PROJECT stream: an unprotected, visible project without password."""
    protection = _encrypt(project_id, struct.pack("<I", 0))  # 2.3.1.15: not protected
    password = _encrypt(project_id, bytes([0x00]))  # 2.3.1.16: no password
    visibility = _encrypt(project_id, bytes([0xFF]))  # 2.3.1.17: visible
    lines = [f'ID="{project_id}"']
    lines += [
        f"Module={m.name}" if m.kind == "standard" else f"Document={m.name}/&H00000000"
        for m in modules
    ]
    lines += [
        f'Name="{project_name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{protection}"',
        f'DPB="{password}"',
        f'GC="{visibility}"',
        "",
        "[Host Extender Info]",  # 2.3.1.18
        HOST_EXTENDER,
        "",
        "[Workspace]",  # 2.3.1.19
        *(f"{m.name}=0, 0, 0, 0, C" for m in modules),
    ]
    return "".join(line + "\r\n" for line in lines)


def _check_names(modules: Sequence[Module], project_name: str) -> None:
    for name in [project_name, *(m.name for m in modules)]:
        if not IDENTIFIER.fullmatch(name) or name.upper() == "DIR":
            raise ValueError(f"{name!r} is not usable as a VBA project or module name")
    folded = [m.name.upper() for m in modules]
    if len(set(folded)) != len(folded):
        raise ValueError(f"module names must differ ignoring case: {sorted(folded)}")


def build_vba_project(
    modules: Sequence[Module],
    references: Sequence[Reference],
    project_name: str = "VBAProject",
    codepage: int = 1252,
) -> bytes:
    """Return the bytes of a ``vbaProject.bin`` holding ``modules`` as source code."""
    _check_names(modules, project_name)
    encoding = f"cp{codepage}"
    texts = {m.name: _module_text(m, encoding) for m in modules}
    dir_stream = _dir_stream(modules, references, project_name, codepage, encoding)
    digest = hashlib.sha256(dir_stream + b"".join(texts.values())).digest()
    project_id = "{" + str(uuid.UUID(bytes=digest[:16], version=4)).upper() + "}"
    names_wm = b"".join(
        m.name.encode(encoding) + b"\0" + m.name.encode("utf-16-le") + b"\0\0" for m in modules
    )
    vba_storage = {name: compress(text) for name, text in texts.items()}
    vba_storage |= {"_VBA_PROJECT": VBA_PROJECT_STREAM, "dir": compress(dir_stream)}
    return write_compound_file(
        {
            "PROJECT": _project_stream(modules, project_name, project_id).encode(encoding),
            "PROJECTwm": names_wm + b"\0\0",  # MS-OVBA 2.3.3
            "VBA": vba_storage,
        }
    )
