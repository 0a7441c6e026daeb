' Ribbon callbacks and macros of the credit review workbook.
' Python runs through the xlwings add-in. The commands are fixed, never derived from the file
' name, so the workbook keeps working after "Save As" under any name.
Option Explicit

Public Const PY_EVALUATE = "import creditbook.excel; creditbook.excel.evaluate()"
Public Const PY_CHECK = "import creditbook.excel; creditbook.excel.check()"

Private Const XLWINGS_ADDIN = "xlwings.xlam"
Private Const APPROVAL_SHEET = "Approval"

Sub OnEvaluate(control As IRibbonControl)
    Evaluate
End Sub

Sub OnCheck(control As IRibbonControl)
    CheckInputs
End Sub

Sub OnShowApproval(control As IRibbonControl)
    ThisWorkbook.Worksheets(APPROVAL_SHEET).Activate
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
    AddinMissing vbLf & vbLf & "(" & Err.Description & ")"
End Sub

Private Function AddinLoaded() As Boolean
    Dim book As Workbook
    On Error Resume Next
    Set book = Workbooks(XLWINGS_ADDIN)
    AddinLoaded = Not book Is Nothing
End Function

Private Sub AddinMissing(detail As String)
    MsgBox Unescape("\u672A\u627E\u5230 xlwings \u52A0\u8F7D\u9879") _
        & " / The xlwings add-in is not loaded." & vbLf & vbLf _
        & Unescape("\u8BF7\u5728\u547D\u4EE4\u884C\u8FD0\u884C") & " / Run in a terminal:" & vbLf _
        & "    pip install creditbook" & vbLf _
        & "    xlwings addin install" & vbLf _
        & Unescape("\u7136\u540E\u91CD\u542F Excel") & " / Then restart Excel." & detail, _
        vbExclamation, "Credit Review"
End Sub

' Turns \uXXXX escapes into characters: the VBA source is stored in code page 1252.
Private Function Unescape(escaped As String) As String
    Dim parts() As String, i As Long
    parts = Split(escaped, "\u")
    Unescape = parts(0)
    For i = 1 To UBound(parts)
        Unescape = Unescape & ChrW(CLng("&H" & Left$(parts(i), 4))) & Mid$(parts(i), 5)
    Next i
End Function
