"""Broken and hostile workbooks, each built from a bundled example and paired with its outcome.

Every case is generated, not stored: a case follows the layout and the template as they change,
and a 300 MB zip bomb need not live in the repository. `expect` holds text that the output
(stdout and stderr of `creditbook evaluate FILE --out DIR --json`) must contain: for a refusal the
place (a cell such as `Profile!C21`, or the file) and the gist of the message; for an acceptance
something of the decision. `check` looks into the evaluated workbook of an accepted case.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.protection import SheetProtection

from creditbook.workbook.layout import APPROVAL_SHEET, AUDIT_SHEET, BUFFERS, CONSUMPTION, PROFILE
from creditbook.workbook.xlsm.cfb import write_compound_file
from creditbook.workbook.xlsm.ovba import Module, build_vba_project
from creditbook.workbook.xlsm.package import document_modules

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "workbook" / "examples" / "listed_company.xlsm"
MiB = 2**20


@dataclass(frozen=True)
class WorkbookCase:
    name: str
    build: Callable[[Path], Path]  # writes the case into the folder, returns its path
    exit_code: int  # 0 evaluated, 2 refused with a located message
    expect: tuple[str, ...]
    about: str
    check: Callable[[Path], None] | None = None  # looks into the evaluated workbook (exit 0)


def _profile(key: str) -> str:
    assert PROFILE.form is not None
    return f"{PROFILE.name}!{PROFILE.form.cell(key)}"


def _buffers(key: str) -> str:
    assert BUFFERS.form is not None
    return f"{BUFFERS.name}!{BUFFERS.form.cell(key)}"


CONSUMPTION_TABLE = CONSUMPTION.tables[0]
FIRST_LINE = CONSUMPTION_TABLE.first_data_row  # the example has three consumption lines here on


def _line(key: str, row: int = FIRST_LINE) -> str:
    position = [column.key for column in CONSUMPTION_TABLE.columns].index(key)
    return f"{CONSUMPTION.name}!{CONSUMPTION_TABLE.letter(position)}{row}"


# ------------------------------------------------------------------------------ builders


def _writes(suffix: str, content: Callable[[], bytes]) -> Callable[[str], Callable[[Path], Path]]:
    def named(name: str) -> Callable[[Path], Path]:
        def build(folder: Path) -> Path:
            target = folder / f"{name}{suffix}"
            target.write_bytes(content())
            return target

        return build

    return named


def _saved(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _changed(change: Callable[[Workbook], None]) -> Callable[[], bytes]:
    """The example, opened and changed with openpyxl, saved with its VBA."""

    def content() -> bytes:
        wb = load_workbook(BASE, keep_vba=True)
        change(wb)
        return _saved(wb)

    return content


def _typed(cells: Mapping[str, object], *, as_text: bool = False) -> Callable[[], bytes]:
    """The example with values typed into cells ("Profile!C21": value); `as_text` keeps a
    leading = + - @ as text, as Excel does after an apostrophe."""

    def change(wb: Workbook) -> None:
        for address, value in cells.items():
            sheet, _, coordinate = address.partition("!")
            cell = wb[sheet][coordinate]
            cell.value = value
            if as_text and isinstance(value, str):
                cell.data_type, cell.quotePrefix = "s", True

    return _changed(change)


def _parts(change: Callable[[dict[str, bytes]], None]) -> Callable[[], bytes]:
    """The example with its package parts changed directly (what openpyxl could not write)."""

    def content() -> bytes:
        with zipfile.ZipFile(BASE) as source:
            parts = {info.filename: source.read(info) for info in source.infolist()}
        change(parts)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for name, data in parts.items():
                target.writestr(name, data)
        return buffer.getvalue()

    return content


def _sheet_part(parts: Mapping[str, bytes], sheet: str) -> str:
    workbook = parts["xl/workbook.xml"].decode()
    found = re.search(rf'<sheet name="{re.escape(sheet)}"[^>]*r:id="(rId\d+)"', workbook)
    assert found, sheet
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'Target="/?([^"]+)" Id="{found.group(1)}"', rels)
    assert target, found.group(1)
    return target.group(1)


def _raw_cell(address: str, inner: str, kind: str = "n") -> Callable[[], bytes]:
    """The example with one cell's content written as raw XML (`inner`, of type `kind`), keeping
    the cell's style, so a date cell keeps its date format as when a user types into it."""
    sheet, _, coordinate = address.partition("!")

    def change(parts: dict[str, bytes]) -> None:
        part = _sheet_part(parts, sheet)
        text = parts[part].decode()
        cell = re.compile(rf'<c r="{coordinate}"( s="\d+")?[^>]*?(/>|>.*?</c>)')
        found = cell.search(text)
        assert found, address
        xml = f'<c r="{coordinate}"{found.group(1) or ""} t="{kind}">{inner}</c>'
        parts[part] = (text[: found.start()] + xml + text[found.end() :]).encode()

    return _parts(change)


def _prolog(part: str, doctype: str, body: Callable[[str], str] = lambda s: s) -> Callable[[], bytes]:
    """A part with a document type declaration put after its XML declaration."""

    def change(parts: dict[str, bytes]) -> None:
        name = part if "/" in part else _sheet_part(parts, part)
        text = parts[name].decode()
        head, rest = ("", text)
        if text.startswith("<?xml"):
            declaration, _, rest = text.partition("?>")
            head = f"{declaration}?>"
        parts[name] = f"{head}{doctype}{body(rest)}".encode()

    return _parts(change)


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY a "lollollollollollollollollollol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>"
)


def _laughs_in_name(rest: str) -> str:
    return re.sub(r'(<c r="C5"[^>]*>)(.*?)(</c>)', r'\1<is><t>&j;</t></is>\3', rest, count=1)


def _zip_bomb(member: str, size: int) -> Callable[[], bytes]:
    """The example with `member` added: `size` bytes of zeros, deflated about 1,000 to 1."""

    def content() -> bytes:
        buffer = io.BytesIO(_parts(lambda parts: None)())
        with (
            zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as package,
            package.open(member, "w", force_zip64=True) as stream,
        ):
            for _ in range(size // MiB):
                stream.write(bytes(MiB))
        return buffer.getvalue()

    return content


def _padded_sheet(parts: dict[str, bytes]) -> None:
    """The Profile sheet grown to 9 MB by empty rows of cells, past the worksheet limit."""
    part = _sheet_part(parts, PROFILE.name)
    rows = "".join(f'<row r="{r}"><c r="Z{r}"/></row>' for r in range(1000, 1000 + 300_000))
    parts[part] = parts[part].replace(b"</sheetData>", rows.encode() + b"</sheetData>")


def _external_link(parts: dict[str, bytes]) -> None:
    """A link to another workbook, the way Excel stores one (as `[1]` in formulas)."""
    parts["xl/externalLinks/externalLink1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<externalBook r:id="rId1"><sheetNames><sheetName val="Limits"/></sheetNames>'
        b'<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>5000000</v></cell>'
        b"</row></sheetData></sheetDataSet></externalBook></externalLink>"
    )
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/externalLinkPath" Target="file:///\\\\fileserver\\credit\\limits.xlsx" '
        b'TargetMode="External"/></Relationships>'
    )
    rels = parts["xl/_rels/workbook.xml.rels"]
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        b"</Relationships>",
        b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'externalLink" Target="/xl/externalLinks/externalLink1.xml" Id="rIdX1" />'
        b"</Relationships>",
    )
    types = parts["[Content_Types].xml"]
    parts["[Content_Types].xml"] = types.replace(
        b"</Types>",
        b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>',
    )
    workbook = parts["xl/workbook.xml"]
    parts["xl/workbook.xml"] = workbook.replace(
        b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rIdX1"/>'
        b"</externalReferences>"
    )


def _encrypted() -> bytes:
    source = io.BytesIO(BASE.read_bytes())
    target = io.BytesIO()
    OOXMLFile(source).encrypt("s3cret", target)
    return target.getvalue()


def _legacy_xls() -> bytes:
    """An OLE compound file with a BIFF `Workbook` stream, as Excel 97-2003 saves one."""
    return write_compound_file({"Workbook": bytes(4096), "\x05SummaryInformation": bytes(512)})


AUTO_OPEN = (
    "Sub Auto_Open()\r\n"
    '    Shell "cmd /c echo pwned > %TEMP%\\creditbook-pwned.txt"\r\n'
    "End Sub\r\n"
)


def _hostile_macros(parts: dict[str, bytes]) -> None:
    """The VBA project replaced by one whose Auto_Open runs a shell command in Excel."""
    sheets = [("Profile", "shProfile")]
    modules = [*document_modules(sheets), Module("Payload", AUTO_OPEN, "standard")]
    parts["xl/vbaProject.bin"] = build_vba_project(modules, ())


def _rows_of_consumption(count: int) -> Callable[[Workbook], None]:
    """`count` consumption lines (cycling over three models), the table grown to hold them."""

    def change(wb: Workbook) -> None:
        ws = wb[CONSUMPTION.name]
        lines = [
            ("openai", "gpt-6.1-sol", 9, 1.5),
            ("anthropic", "claude-sonnet-5.5", 4, 0.8),
            ("aliyun_bailian", "qwen3-max", 20, 5),
        ]
        for offset in range(count):
            provider, model, tokens_in, tokens_out = lines[offset % 3]
            row = FIRST_LINE + offset
            ws.cell(row, 2, provider)
            ws.cell(row, 3, model)
            ws.cell(row, 4, tokens_in)
            ws.cell(row, 6, tokens_out)
        last_column = CONSUMPTION_TABLE.letter(len(CONSUMPTION_TABLE.columns) - 1)
        ws.tables[CONSUMPTION_TABLE.name].ref = (
            f"B{CONSUMPTION_TABLE.header_row}:{last_column}{FIRST_LINE + count - 1}"
        )

    return change


def _table_to_sheet_end(stray: bool) -> Callable[[Workbook], None]:
    def change(wb: Workbook) -> None:
        ws = wb[CONSUMPTION.name]
        ws.tables[CONSUMPTION_TABLE.name].ref = f"B{CONSUMPTION_TABLE.header_row}:J1048576"
        if stray:
            ws["B1048576"] = "x"

    return change


def _random_bytes() -> bytes:
    return random.Random(6).randbytes(4096)


# ------------------------------------------------------------------------------ checks


def _text_cells(*texts: str) -> Callable[[Path], None]:
    """Each text reaches the Approval sheet and the audit row as text, never as a formula."""

    def check(evaluated: Path) -> None:
        wb = load_workbook(evaluated)
        for sheet in (APPROVAL_SHEET, AUDIT_SHEET):
            cells = [cell for row in wb[sheet].iter_rows() for cell in row]
            for text in texts:
                found = [cell for cell in cells if cell.value == text]
                assert found, (sheet, text)
                assert all(cell.data_type == "s" for cell in found), (sheet, text)

    return check


def _macros_kept(evaluated: Path) -> None:
    """The foreign VBA project passes through untouched (it is never run, never rewritten)."""
    with zipfile.ZipFile(evaluated) as package:
        project = package.read("xl/vbaProject.bin")
    assert b"Payload" in project


def _hidden_rows_counted(evaluated: Path) -> None:
    wb = load_workbook(evaluated)
    shown = [cell.value for row in wb[APPROVAL_SHEET].iter_rows() for cell in row]
    assert "claude-sonnet-5.5" in shown


# ------------------------------------------------------------------------------ the corpus


def _case(
    name: str,
    about: str,
    exit_code: int,
    expect: tuple[str, ...],
    content: Callable[[], bytes],
    *,
    suffix: str = ".xlsm",
    check: Callable[[Path], None] | None = None,
) -> WorkbookCase:
    return WorkbookCase(name, _writes(suffix, content)(name), exit_code, expect, about, check)


REFUSED = "not an Excel workbook"
BOMB = "possible zip bomb"
DTD = "document type declaration"
C5, C9, C13, C21, C23 = (_profile(k) for k in ("customer_name", "years_in_business",
                          "on_time_ratio_12m", "requested_limit", "application_date"))

WORKBOOK_CASES: tuple[WorkbookCase, ...] = (
    # --- not a workbook at all
    _case("not_a_zip", "CSV text saved as .xlsm", 2, (REFUSED,), lambda: b"customer,limit\nA,1\n"),
    _case("empty_file", "a zero-byte file", 2, ("empty",), lambda: b""),
    _case("random_bytes", "4 KB of random bytes", 2, (REFUSED,), _random_bytes),
    _case(
        "html_as_xlsx",
        "an HTML table saved with an .xlsx name, as some web exports do",
        2,
        (REFUSED,),
        lambda: b"<html><body><table><tr><td>1</td></tr></table></body></html>",
        suffix=".xlsx",
    ),
    _case(
        "truncated_zip",
        "the first half of a good workbook (an interrupted download)",
        2,
        ("damaged or truncated",),
        lambda: BASE.read_bytes()[: BASE.stat().st_size // 2],
    ),
    _case(
        "encrypted",
        "a workbook encrypted with an open password (Excel: Encrypt with Password)",
        2,
        ("encrypted with a password",),
        _encrypted,
    ),
    _case("legacy_xls", "an Excel 97-2003 binary file", 2, (".xls",), _legacy_xls, suffix=".xls"),
    _case(
        "missing_workbook_part",
        "a package without xl/workbook.xml",
        2,
        ("not a readable Excel workbook",),
        _parts(lambda parts: parts.pop("xl/workbook.xml") and None),
    ),
    _case(
        "malformed_sheet_xml",
        "the Profile sheet's XML cut off mid-element",
        2,
        ("not a readable Excel workbook",),
        _parts(
            lambda parts: parts.update(
                {(p := _sheet_part(parts, PROFILE.name)): parts[p][: len(parts[p]) // 2]}
            )
        ),
    ),
    # --- hostile packages
    _case(
        "zip_bomb_member",
        "an extra 300 MB part of zeros (1,000× compression) inside a good workbook",
        2,
        (BOMB, "xl/media/image1.png"),
        _zip_bomb("xl/media/image1.png", 300 * MiB),
    ),
    _case(
        "zip_bomb_sheet",
        "the Profile sheet padded to 9 MB of empty cells (300,000 rows), past the sheet limit",
        2,
        (BOMB,),
        _parts(_padded_sheet),
    ),
    _case(
        "xml_entity_bomb",
        "billion laughs: 10^9 expansions of an entity in the customer name cell",
        2,
        (DTD, "xl/worksheets/sheet1.xml"),
        _prolog(PROFILE.name, BILLION_LAUGHS, _laughs_in_name),
    ),
    _case(
        "xml_external_entity",
        "an external entity (file:///etc/passwd) declared in xl/workbook.xml",
        2,
        (DTD, "xl/workbook.xml"),
        _prolog("xl/workbook.xml", '<!DOCTYPE workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
    ),
    _case(
        "dtd_in_relationships",
        "a DOCTYPE in the package relationships",
        2,
        (DTD, "_rels/.rels"),
        _prolog("_rels/.rels", "<!DOCTYPE Relationships>"),
    ),
    _case(
        "external_link",
        "a link to \\\\fileserver\\credit\\limits.xlsx, as Excel stores one",
        2,
        ("links to other files", "limits.xlsx"),
        _parts(_external_link),
    ),
    _case(
        "hostile_macros",
        "the VBA project replaced by an Auto_Open that shells out: evaluated, never run, kept",
        0,
        ('"decision": "approve"',),
        _parts(_hostile_macros),
        check=_macros_kept,
    ),
    # --- sheets
    _case(
        "plain_workbook",
        "an ordinary workbook without our sheets",
        2,
        ("not a credit review workbook", "creditbook new"),
        lambda: _saved(Workbook()),
        suffix=".xlsx",
    ),
    _case(
        "profile_renamed",
        "the Profile sheet renamed to 客户",
        2,
        ("Profile",),
        _changed(lambda wb: setattr(wb[PROFILE.name], "title", "客户")),
    ),
    _case(
        "consumption_deleted",
        "the Consumption sheet deleted",
        2,
        ("Consumption",),
        _changed(lambda wb: wb.remove(wb[CONSUMPTION.name])),
    ),
    _case(
        "extra_sheet",
        "a sheet of the user's own added: evaluated",
        0,
        ('"decision": "approve"',),
        _changed(lambda wb: wb.create_sheet("备注 Notes")),
    ),
    _case(
        "input_sheet_hidden",
        "the Profile sheet hidden: read as usual",
        0,
        ('"decision": "approve"',),
        _changed(lambda wb: setattr(wb[PROFILE.name], "sheet_state", "hidden")),
    ),
    _case(
        "sheet_protected",
        "the Profile sheet protected with a password (protection, not encryption): read",
        0,
        ('"decision": "approve"',),
        _changed(
            lambda wb: setattr(wb[PROFILE.name], "protection", SheetProtection(sheet=True, password="x"))
        ),
    ),
    # --- wrong types and odd numbers
    _case("text_in_number", "years in business typed as words", 2, (C9, "not a number"),
          _typed({C9: "many years"})),
    _case("date_in_money", "a date typed as the requested limit", 2, (C21,),
          _typed({C21: datetime(2026, 1, 1)})),
    _case("number_in_choice", "42 as the entity type", 2, (_profile("entity_type"),),
          _typed({_profile("entity_type"): 42})),
    _case("bool_in_number", "TRUE as years in business", 2, (C9,), _typed({C9: True})),
    _case("separators_and_currency", "¥1,200,000 as text: read as 1200000", 0,
          ('"requested_limit": 1200000',), _typed({C21: "¥1,200,000"})),
    _case("full_width_digits", "１２０００００ in full-width digits: read as 1200000", 0,
          ('"requested_limit": 1200000',), _typed({C21: "１２０００００"})),
    _case("wan", "120万 as the requested limit: read as 1200000", 0,
          ('"requested_limit": 1200000',), _typed({C21: "120万"})),
    _case("percent_text", "99% as text for the on-time ratio: read as 0.99", 0,
          ('"decision": "approve"',), _typed({C13: "99%"})),
    _case("percent_over_100", "150% as the on-time ratio", 2, (C13,), _typed({C13: "150%"})),
    _case("error_ref", "#REF! in the requested limit", 2, (C21, "#REF!"), _typed({C21: "#REF!"})),
    _case("error_na_in_table", "#N/A in a consumption line", 2, (_line("input_mtok_month"), "#N/A"),
          _typed({_line("input_mtok_month"): "#N/A"})),
    _case("error_div0", "#DIV/0! as the deposit", 2, (_buffers("deposit"), "#DIV/0!"),
          _typed({_buffers("deposit"): "#DIV/0!"})),
    _case("huge_number", "1e308 as the requested limit", 2, (C21,), _typed({C21: 1e308})),
    _case("huge_exponent_text", "1e999999 typed as text", 2, (C21,), _typed({C21: "1e999999"})),
    _case("exponent_overflow_text", "1e9999999 typed as text (beyond Decimal when scaled)", 2,
          (C21, "unrealistically large"), _typed({C21: "1e9999999"})),
    _case("huge_exponent_in_count", "1e999999 typed as the overdue events (an integer)", 2,
          (_profile("overdue_events_12m"), "unrealistically large"),
          _typed({_profile("overdue_events_12m"): "1e999999"})),
    _case("negative_deposit", "a deposit of -5,000", 2, (_buffers("deposit"),),
          _typed({_buffers("deposit"): -5000})),
    _case("nan_cell", "NaN stored as a number (Excel never writes one): the file is unreadable",
          2, ("not a readable Excel workbook",), _raw_cell(C21, "<v>NaN</v>")),
    _case("infinite_cell", "1E+999 stored as a number, read as infinity", 2, (C21, "finite"),
          _raw_cell(C21, "<v>1E+999</v>")),
    _case("infinity_text", "Infinity typed as text", 2, (C21,), _typed({C21: "Infinity"})),
    _case("blank_required", "the customer name left blank", 2, (C5,), _typed({C5: None})),
    _case("very_long_text", "a 40,000-character customer name", 2, (C5,),
          _raw_cell(C5, f"<is><t>{'长' * 40_000}</t></is>", "inlineStr")),
    _case("escaped_control_character", "_x0007_ (Excel's escape of a bell) in the customer name: "
          "kept as the literal text", 0, ('"customer_name": "ACME_x0007_ Ltd"',),
          _raw_cell(C5, "<is><t>ACME_x0007_ Ltd</t></is>", "inlineStr")),
    _case("negative_threshold", "a stop-loss threshold of -1 on a filled step", 2, ("StopLoss!C",),
          _typed({"StopLoss!B6": "over_limit", "StopLoss!C6": -1, "StopLoss!D6": "✓",
                  "StopLoss!L6": "✓"})),
    # --- dates
    _case("date_before_1900", "1899-12-31 as the application date", 2, (C23,),
          _typed({C23: "1899-12-31"})),
    _case("date_serial_zero", "serial 0 as the application date", 2, (C23,),
          _raw_cell(C23, "<v>0</v>")),
    _case("date_serial_negative", "serial -1 as the application date", 2, (C23,),
          _raw_cell(C23, "<v>-1</v>")),
    _case("date_serial_phantom", "serial 60, Excel's phantom 1900-02-29", 2, (C23,),
          _raw_cell(C23, "<v>60</v>")),
    _case("date_serial_huge", "serial 10,000,000, past the year 9999", 2, (C23,),
          _raw_cell(C23, "<v>10000000</v>")),
    _case("date_serial_fraction", "serial 46346.75 (2026-11-20 18:00): the date is read", 0,
          ('"decision": "approve"',), _raw_cell(C23, "<v>46346.75</v>")),
    _case("date_as_text", "2026年11月20日 typed as text", 0, ('"decision": "approve"',),
          _typed({C23: "2026年11月20日"})),
    # --- shapes of sheets
    _case("merged_over_input", "C5:D5 merged over the customer name: read", 0,
          ('"decision": "approve"',), _changed(lambda wb: wb[PROFILE.name].merge_cells("C5:D5"))),
    _case("merged_across_table_cells", "provider and model cells of a line merged", 2,
          (_line("model"),), _changed(lambda wb: wb[CONSUMPTION.name].merge_cells(
              f"{_line('provider').partition('!')[2]}:{_line('model').partition('!')[2]}"))),
    _case("hidden_rows", "the consumption lines hidden: still evaluated, shown on the approval",
          0, ('"decision": "approve"',),
          _changed(lambda wb: [setattr(wb[CONSUMPTION.name].row_dimensions[r], "hidden", True)
                               for r in range(FIRST_LINE, FIRST_LINE + 3)] and None),
          check=_hidden_rows_counted),
    _case("ten_thousand_lines", "10,000 consumption lines, the table grown to hold them", 0,
          ('"decision"',), _changed(_rows_of_consumption(10_000))),
    _case("table_to_sheet_end", "the consumption table stretched to row 1,048,576 (no cells)",
          0, ('"decision": "approve"',), _changed(_table_to_sheet_end(stray=False))),
    _case("stray_cell_at_sheet_end", "the table stretched to row 1,048,576 with a cell there", 2,
          ("Consumption", "1,048,576"), _changed(_table_to_sheet_end(stray=True))),
    # --- formulas and formula text in user fields
    _case("hyperlink_text", "=HYPERLINK(…) typed as text in the customer name: stays text", 0,
          ('=HYPERLINK(\\"http://evil.example\\"',),
          _typed({C5: '=HYPERLINK("http://evil.example","点击")'}, as_text=True),
          check=_text_cells('=HYPERLINK("http://evil.example","点击")')),
    _case("dde_text", "+cmd|' /C calc'!A0 in the customer name: stays text", 0,
          ("\"customer_name\": \"+cmd|' /C calc'!A0\"",),
          _typed({C5: "+cmd|' /C calc'!A0"}, as_text=True),
          check=_text_cells("+cmd|' /C calc'!A0")),
    _case("at_sum_text", "@SUM(1+1)*cmd|' /C calc'!A0 as a model name (spend stated): stays text",
          0, ("@SUM(1+1)*cmd|",),
          _typed({_line("model"): "@SUM(1+1)*cmd|' /C calc'!A0", _line("monthly_spend"): 90000},
                 as_text=True)),
    _case("minus_formula_text", "-2+3+cmd|' /C calc'!A0 in the customer name: stays text", 0,
          ("-2+3+cmd|",), _typed({C5: "-2+3+cmd|' /C calc'!A0"}, as_text=True),
          check=_text_cells("-2+3+cmd|' /C calc'!A0")),
    _case("dde_formula", "a real DDE formula =cmd|' /C calc'!A0 with no cached value", 2, (C5,),
          _raw_cell(C5, "<f>cmd|' /C calc'!A0</f>")),
    _case("formula_with_cached_value", "=HYPERLINK(…) as a formula whose cached value is read", 0,
          ('"customer_name": "Cached Co."',),
          _raw_cell(C5, '<f>HYPERLINK("http://x","Cached Co.")</f><v>Cached Co.</v>', "str")),
)
