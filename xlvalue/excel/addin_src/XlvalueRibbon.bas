Attribute VB_Name = "XlvalueRibbon"
' xlvalue ribbon callbacks. Every button of the xlvalue tab calls OnAction; the Python side
' (xlvalue.excel.macros.ribbon) dispatches on the button's id, so one callback serves them all.
Option Explicit

Public Sub OnAction(control As IRibbonControl)
    RunPython "import xlvalue.excel.macros as m; m.ribbon('" & control.ID & "')"
End Sub
