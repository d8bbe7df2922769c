"""The formula-evaluation door: compute the XV_ formulas of a workbook headlessly (`xlvalue eval`)."""

__all__: list[str] = []  # a folder of modules: import them by name
