' Ribbon callbacks and macros of the credit review workbook.
' Python runs through the xlwings add-in. The commands are fixed, never derived from the file
' name, so the workbook keeps working after "Save As" under any name.
' Every call into the VBA library is fully qualified (VBA.Strings.Left$, VBA.Interaction.MsgBox,
' VBA.Constants.vbLf ...): when the xlwings.xlam reference is MISSING, an unqualified name makes
' VBA fail with "Can't find project or library" before any On Error runs, so the add-in-missing
' message would never show. tests/workbook/test_vba_source.py enforces it.
Option Explicit

Public Const PY_EVALUATE = "import creditbook.excel; creditbook.excel.evaluate()"
Public Const PY_CHECK = "import creditbook.excel; creditbook.excel.check()"

Private Const XLWINGS_ADDIN = "xlwings.xlam"
Private Const APPROVAL_SHEET = "Approval"
' Where the workbook remembers the language of its documents (creditbook.workbook.layout).
Private Const CONF_SHEET = "xlwings.conf"
Private Const LANGUAGE_KEY_CELL = "D1"
Private Const LANGUAGE_KEY = "Creditbook Language"
Private Const LANGUAGE_CELL = "E1"
Private Const LANGUAGE_ITEM = "lang"

Sub OnEvaluate(control As IRibbonControl)
    Evaluate
End Sub

Sub OnCheck(control As IRibbonControl)
    CheckInputs
End Sub

Sub OnShowApproval(control As IRibbonControl)
    ThisWorkbook.Worksheets(APPROVAL_SHEET).Activate
End Sub

' The language list: its items are "lang" & Zh / En / Both; the cell holds zh / en / both.
Sub OnLanguage(control As IRibbonControl, selectedId As String, selectedIndex As Integer)
    With ThisWorkbook.Worksheets(CONF_SHEET)
        .Range(LANGUAGE_KEY_CELL).Value = LANGUAGE_KEY
        .Range(LANGUAGE_CELL).Value = _
            VBA.Strings.LCase$(VBA.Strings.Mid$(selectedId, VBA.Strings.Len(LANGUAGE_ITEM) + 1))
    End With
End Sub

Sub GetLanguage(control As IRibbonControl, ByRef returnedVal)
    Dim language As String
    On Error Resume Next
    language = VBA.Strings.LCase$(VBA.Strings.Trim$( _
        VBA.Conversion.CStr(ThisWorkbook.Worksheets(CONF_SHEET).Range(LANGUAGE_CELL).Value)))
    On Error GoTo 0
    If language <> "zh" And language <> "en" Then language = "both"
    returnedVal = LANGUAGE_ITEM & VBA.Strings.UCase$(VBA.Strings.Left$(language, 1)) _
        & VBA.Strings.Mid$(language, 2)
End Sub

Sub Evaluate()
    RunPy PY_EVALUATE
End Sub

Sub CheckInputs()
    RunPy PY_CHECK
End Sub

' Late binding (no direct call into the add-in), so a missing add-in can be reported here.
Private Sub RunPy(command As String)
    If Not AddinLoaded() Then
        AddinMissing ""
        Exit Sub
    End If
    On Error GoTo Failed
    Application.Run XLWINGS_ADDIN & "!RunPython", command
    Exit Sub
Failed:
    AddinMissing VBA.Constants.vbLf & VBA.Constants.vbLf _
        & "(" & VBA.Information.Err.Description & ")"
End Sub

Private Function AddinLoaded() As Boolean
    Dim book As Workbook
    On Error Resume Next
    Set book = Workbooks(XLWINGS_ADDIN)
    AddinLoaded = Not book Is Nothing
End Function

Private Sub AddinMissing(detail As String)
    VBA.Interaction.MsgBox Unescape("\u672A\u627E\u5230 xlwings \u52A0\u8F7D\u9879") _
        & " / The xlwings add-in is not loaded." & VBA.Constants.vbLf & VBA.Constants.vbLf _
        & Unescape("\u8BF7\u5728\u547D\u4EE4\u884C\u8FD0\u884C") & " / Run in a terminal:" _
        & VBA.Constants.vbLf & "    pip install creditbook" _
        & VBA.Constants.vbLf & "    xlwings addin install" & VBA.Constants.vbLf _
        & Unescape("\u7136\u540E\u91CD\u542F Excel") & " / Then restart Excel." & detail, _
        VBA.VbMsgBoxStyle.vbExclamation, "Credit Review"
End Sub

' Turns \uXXXX escapes into characters: the VBA source is stored in code page 1252.
Private Function Unescape(escaped As String) As String
    Dim rest As String, at As Long
    rest = escaped
    at = VBA.Strings.InStr(1, rest, "\u")
    Do While at > 0
        Unescape = Unescape & VBA.Strings.Left$(rest, at - 1) _
            & VBA.Strings.ChrW$(VBA.Conversion.CLng("&H" & VBA.Strings.Mid$(rest, at + 2, 4)))
        rest = VBA.Strings.Mid$(rest, at + 6)
        at = VBA.Strings.InStr(1, rest, "\u")
    Loop
    Unescape = Unescape & rest
End Function
