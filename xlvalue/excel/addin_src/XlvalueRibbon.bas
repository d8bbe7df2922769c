Attribute VB_Name = "XlvalueRibbon"
' xlvalue ribbon callbacks. Every button of the xlvalue tab calls OnAction; the Python side
' (xlvalue.excel.macros.ribbon) dispatches on the button's id, so one callback serves them all.
Option Explicit

Public Sub OnAction(control As IRibbonControl)
    Dispatch control.ID
End Sub

Public Function Dispatch(ByVal controlId As String) As Boolean
    ' xlwings' RunPython reads the active workbook (its sheets and path), so with no workbook
    ' open it would stop on runtime error 91. New template needs no workbook: it runs from a
    ' blank one, closed again if untouched; the other buttons ask for a workbook first.
    Dim blank As Workbook
    If ActiveWorkbook Is Nothing Then
        If controlId <> "xvNewTemplate" Then
            MsgBox "Open a workbook with xlvalue inputs first (or press New template).", _
                vbInformation, "xlvalue"
            Exit Function
        End If
        Set blank = Workbooks.Add
    End If
    RunPython "import xlvalue.excel.macros as m; m.ribbon('" & controlId & "')"
    If Not blank Is Nothing Then
        If blank.Saved Then blank.Close SaveChanges:=False
    End If
    Dispatch = True
End Function
