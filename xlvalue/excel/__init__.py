"""Excel doors: worksheet functions (UDFs), ribbon macros and the xlwings workbook adapter."""

__all__: list[str] = []  # a folder of modules: import them by name
