"""Every call into the VBA library in workbook/vba/*.bas is fully qualified.

The project references xlwings.xlam (xlwings' "Import Functions" writes code that needs it). On a
machine without the add-in that reference is MISSING, and VBA then stops with "Compile error: Can't
find project or library" on any unqualified library name (Left$, MsgBox, vbLf, Err ...) before an
On Error handler can run, so the bilingual add-in-missing message would never show. Qualified names
(VBA.Strings.Left$, VBA.Interaction.MsgBox, VBA.Constants.vbLf) bind to the VBA library directly.

The members below are those of the VBA type library (VBE7.DLL) as its modules are named in the VBE
Object Browser (learn.microsoft.com, "Object Browser (Visual Basic for Applications)", VBA-Docs
Language/Reference/object-browser-visual-basic-for-applications.md), checked member by member
against a declaration listing of that library per module (github.com/artodoro/vba-language,
src/lib/VBA/*.bas). Left out: the hidden module's intrinsics (UBound, LBound, Array, VarPtr ...)
and statements (Open, Close, Print, Name ...), which the compiler treats as keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
VBA_DIR = ROOT / "workbook" / "vba"

LIBRARY: dict[str, str] = {
    "Strings": """
        Asc AscB AscW Chr Chr$ ChrB ChrB$ ChrW ChrW$ Filter Format Format$ FormatCurrency
        FormatDateTime FormatNumber FormatPercent InStr InStrB InStrRev Join LCase LCase$ Left
        Left$ LeftB LeftB$ Len LenB LTrim LTrim$ Mid Mid$ MidB MidB$ MonthName Replace Right
        Right$ RightB RightB$ RTrim RTrim$ Space Space$ Split StrComp StrConv String String$
        StrReverse Trim Trim$ UCase UCase$ WeekdayName
    """,
    "Interaction": """
        AppActivate Beep CallByName Choose Command Command$ CreateObject DeleteSetting DoEvents
        Environ Environ$ GetAllSettings GetObject GetSetting IIf InputBox MsgBox Partition
        SaveSetting SendKeys Shell Switch
    """,
    "Information": """
        Err Erl IMEStatus IsArray IsDate IsEmpty IsError IsMissing IsNull IsNumeric IsObject
        QBColor RGB TypeName VarType
    """,
    "Conversion": """
        CBool CByte CCur CDate CDbl CDec CInt CLng CLngLng CLngPtr CSng CStr CVar CVDate CVErr
        Error Error$ Fix Hex Hex$ Int Oct Oct$ Str Str$ Val
    """,
    "DateTime": """
        Calendar Date Date$ DateAdd DateDiff DatePart DateSerial DateValue Day Hour Minute Month
        Now Second Time Time$ Timer TimeSerial TimeValue Weekday Year
    """,
    "Math": "Abs Atn Cos Exp Log Randomize Rnd Round Sgn Sin Sqr Tan",
    "Financial": "DDB FV IPmt IRR MIRR NPer NPV Pmt PPmt PV Rate SLN SYD",
    "FileSystem": """
        ChDir ChDrive CurDir CurDir$ Dir EOF FileAttr FileCopy FileDateTime FileLen FreeFile
        GetAttr Kill Loc LOF MkDir RmDir SetAttr
    """,
    "Constants": """
        vbBack vbCr vbCrLf vbFormFeed vbLf vbNewLine vbNullChar vbNullString vbObjectError vbTab
        vbVerticalTab
    """,
    "VbMsgBoxStyle": """
        vbOKOnly vbOKCancel vbAbortRetryIgnore vbYesNoCancel vbYesNo vbRetryCancel vbCritical
        vbQuestion vbExclamation vbInformation vbDefaultButton1 vbDefaultButton2 vbDefaultButton3
        vbDefaultButton4 vbApplicationModal vbSystemModal vbMsgBoxHelpButton vbMsgBoxRight
        vbMsgBoxRtlReading vbMsgBoxSetForeground
    """,
    "VbMsgBoxResult": "vbOK vbCancel vbAbort vbRetry vbIgnore vbYes vbNo",
    "VbCompareMethod": "vbBinaryCompare vbTextCompare vbDatabaseCompare",
    "VbVarType": """
        vbEmpty vbNull vbInteger vbLong vbSingle vbDouble vbCurrency vbDate vbString vbObject
        vbError vbBoolean vbVariant vbDataObject vbDecimal vbByte vbLongLong vbUserDefinedType
        vbArray
    """,
    "VbTriState": "vbTrue vbFalse vbUseDefault",
    "VbDayOfWeek": """
        vbUseSystemDayOfWeek vbSunday vbMonday vbTuesday vbWednesday vbThursday vbFriday
        vbSaturday
    """,
    "VbFirstWeekOfYear": "vbUseSystem vbFirstJan1 vbFirstFourDays vbFirstFullWeek",
    "VbDateTimeFormat": "vbGeneralDate vbLongDate vbShortDate vbLongTime vbShortTime",
    "VbStrConv": """
        vbUpperCase vbLowerCase vbProperCase vbWide vbNarrow vbKatakana vbHiragana vbUnicode
        vbFromUnicode
    """,
    "VbFileAttribute": "vbNormal vbReadOnly vbHidden vbSystem vbVolume vbDirectory vbArchive vbAlias",
    "VbCallType": "vbMethod vbGet vbLet vbSet",
    "VbAppWinStyle": """
        vbHide vbNormalFocus vbMinimizedFocus vbMaximizedFocus vbNormalNoFocus vbMinimizedNoFocus
    """,
    "ColorConstants": "vbBlack vbRed vbGreen vbYellow vbBlue vbMagenta vbCyan vbWhite",
}
MEMBERS: dict[str, dict[str, str]] = {  # module -> lower-case name -> spelling
    module: {name.lower(): name for name in names.split()} for module, names in LIBRARY.items()
}
HOME: dict[str, str] = {  # lower-case name -> the module it lives in
    name: module for module, names in MEMBERS.items() for name in names
}
MODULES = {module.lower(): module for module in LIBRARY}

STRING = re.compile(r'"(?:[^"]|"")*"')
# A dotted name: optional leading dot (inside With), then identifiers joined by dots.
CHAIN = re.compile(r"(?<![\w$])((?:\.\s*)?[A-Za-z_]\w*\$?(?:\s*\.\s*[A-Za-z_]\w*\$?)*)")
PROCEDURE = re.compile(
    r"^\s*(?:(?:Public|Private|Friend|Static)\s+)*(Sub|Function|Property\s+(?:Get|Let|Set))\s+(\w+)"
    r"\s*\((.*)\)",
    re.IGNORECASE,
)
END_PROCEDURE = re.compile(r"^\s*End\s+(Sub|Function|Property)\b", re.IGNORECASE)
DECLARATION = re.compile(
    r"^\s*(?:Dim|Static|ReDim|Private|Public|Global|Const)\b(.*)", re.IGNORECASE
)
DECLARED = re.compile(
    r"(?:^|,)\s*(?:Optional\s+)?(?:ByVal\s+|ByRef\s+)?(?:ParamArray\s+)?(?:Const\s+)?"
    r"(?:WithEvents\s+)?([A-Za-z_]\w*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    identifier: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.identifier}: {self.problem}"


def code_lines(source: str) -> list[str]:
    """The source line by line with string literals emptied and comments removed."""
    lines: list[str] = []
    in_comment = False  # a comment ending in " _" continues on the next line
    for raw in source.splitlines():
        if in_comment:
            in_comment = raw.rstrip().endswith(" _")
            lines.append("")
            continue
        text = STRING.sub('""', raw)
        cut = text.find("'")
        rem = re.search(r"(?:^|:)\s*Rem(?:\s|$)", text, re.IGNORECASE)
        if rem and (cut < 0 or rem.start() < cut):
            cut = rem.start()
        if cut >= 0:
            in_comment = raw.rstrip().endswith(" _")
            text = text[:cut]
        lines.append(text)
    return lines


def _declared_names(text: str) -> set[str]:
    names: set[str] = set()
    if match := PROCEDURE.match(text):
        names.add(match.group(2).lower())
        params = re.sub(r"\([^()]*\)", "", match.group(3))  # array brackets, default values
        names.update(name.lower() for name in DECLARED.findall(params))
    elif match := DECLARATION.match(text):
        body = re.sub(r"\([^()]*\)", "", match.group(1))
        body = re.sub(r"^\s*(?:Const|WithEvents)\b", "", body, flags=re.IGNORECASE)
        if not re.match(r"\s*(?:Sub|Function|Property|Declare|Enum|Type)\b", body, re.I):
            names.update(name.lower() for name in DECLARED.findall(body))
    return names


def _scopes(lines: list[str]) -> list[set[str]]:
    """For each line, the names declared in its procedure or at module level (they shadow)."""
    module_names: set[str] = set()
    spans: list[tuple[int, int, set[str]]] = []
    start: int | None = None
    local: set[str] = set()
    for number, text in enumerate(lines):
        if PROCEDURE.match(text):
            module_names.add(PROCEDURE.match(text).group(2).lower())  # type: ignore[union-attr]
            start, local = number, _declared_names(text)
        elif END_PROCEDURE.match(text) and start is not None:
            spans.append((start, number, local))
            start = None
        elif start is None:
            module_names |= _declared_names(text)
        else:
            local |= _declared_names(text)
    scopes = [set(module_names) for _ in lines]
    for first, last, names in spans:
        for number in range(first, last + 1):
            scopes[number] = module_names | names
    return scopes


def check_source(source: str, file: str = "<source>") -> list[Finding]:
    """Unqualified or wrongly qualified VBA library names in a VBA module's source."""
    lines = code_lines(source)
    scopes = _scopes(lines)
    findings: list[Finding] = []
    for number, (text, shadowed) in enumerate(zip(lines, scopes, strict=True), start=1):
        previous = ""
        for match in CHAIN.finditer(text):
            chain = match.group(1)
            parts = [part.strip() for part in chain.split(".")]
            member_access = parts[0] == ""  # ".Left" inside a With block
            names = [part for part in parts if part]
            head = names[0].lower()
            if member_access:
                pass
            elif head == "vba" and len(names) >= 2:
                findings.extend(_check_qualified(names, file, number))
            elif head in MODULES and len(names) >= 2:
                findings.append(
                    Finding(file, number, chain, f"write VBA.{MODULES[head]}.{names[1]}")
                )
            elif (
                head in HOME
                and head not in shadowed
                and previous != "as"  # a type name: As String, As Date
                and not (previous == "on" and head == "error")  # the On Error statement
            ):
                spelled = MEMBERS[HOME[head]][head]
                findings.append(
                    Finding(file, number, names[0], f"write VBA.{HOME[head]}.{spelled}")
                )
            previous = names[-1].lower()
    return findings


def _check_qualified(names: list[str], file: str, number: int) -> list[Finding]:
    """VBA.<Module>.<Member>: the module exists and the member is one of its own."""
    chain = ".".join(names)
    module = names[1].lower()
    if module in MODULES:
        if len(names) < 3:
            return []
        member = names[2].lower()
        if member in MEMBERS[MODULES[module]]:
            return []
        home = HOME.get(member)
        where = f"it is in VBA.{home}" if home else "not a member of that module"
        return [Finding(file, number, chain, f"{names[2]}: {where}")]
    if module in HOME:  # VBA.Left$: library-qualified, which binds as well
        return []
    return [Finding(file, number, chain, f"{names[1]} is not in the VBA library list")]


def _modules() -> list[Path]:
    return sorted(VBA_DIR.glob("*.bas"))


def test_there_are_modules_to_check() -> None:
    assert _modules(), VBA_DIR


@pytest.mark.parametrize("path", _modules(), ids=lambda path: path.name)
def test_every_vba_library_call_is_fully_qualified(path: Path) -> None:
    findings = check_source(path.read_text(encoding="ascii"), f"workbook/vba/{path.name}")
    assert not findings, "\n".join(map(str, findings))


def test_our_modules_do_call_the_library_qualified() -> None:
    """The check has something to look at: our code uses the library, qualified."""
    source = "\n".join(path.read_text(encoding="ascii") for path in _modules())
    for name in ("VBA.Interaction.MsgBox", "VBA.Constants.vbLf", "VBA.Information.Err"):
        assert name in source


NEGATIVE = """\
Option Explicit
Private Sub Demo(command As String)
    Dim s As String, d As Date
    MsgBox "x"
    s = Left$(s, 1)
    s = VBA.Strings.Left$(s, 1)
    s = "MsgBox Left$(s, 1) vbLf"
    ' MsgBox Left$(s, 1) in a comment
    Rem MsgBox in a Rem comment
    On Error GoTo 0
    s = s & vbLf & Err.Description
    s = Strings.Trim$(s)
    VBA.Interaction.MsgBox s, VBA.Constants.vbCritical
    s = VBA.Strings.Len(s) & VBA.Left$(s, 1) & command
    With ActiveSheet
        s = .Name & .Left
    End With
    s = Environ$("USERNAME") ' comment _
      continued comment with MsgBox
    s = ChrW(CLng("&H4E2D")) & VBA.Conversion.CLng("1") & Replace(s, "a", "b")
End Sub
"""


def test_the_check_finds_unqualified_calls_and_only_those() -> None:
    found = [(f.line, f.identifier) for f in check_source(NEGATIVE)]
    assert found == [
        (4, "MsgBox"),
        (5, "Left$"),
        (11, "vbLf"),
        (11, "Err"),
        (12, "Strings.Trim$"),
        (13, "VBA.Constants.vbCritical"),
        (18, "Environ$"),
        (20, "ChrW"),
        (20, "CLng"),
        (20, "Replace"),
    ]


def test_findings_name_file_line_and_identifier() -> None:
    (finding,) = check_source('Sub A()\n    MsgBox "x"\nEnd Sub\n', "workbook/vba/Demo.bas")
    assert str(finding) == "workbook/vba/Demo.bas:2:MsgBox: write VBA.Interaction.MsgBox"
    (wrong,) = check_source("Sub A()\n    VBA.Strings.MsgBox 1\nEnd Sub\n")
    assert wrong.problem == "MsgBox: it is in VBA.Interaction"


def test_the_library_list_is_consistent() -> None:
    assert len(HOME) == sum(len(names) for names in MEMBERS.values())  # no name in two modules
    for name in ("left$", "mid$", "split", "chrw", "msgbox", "instr", "replace", "len", "trim"):
        assert name in HOME
    for name in ("cstr", "err", "environ$", "vblf", "vbcritical", "vbyes", "now", "abs"):
        assert name in HOME
