"""Excel doors: worksheet functions (UDFs), ribbon macros and the xlwings workbook adapter."""
