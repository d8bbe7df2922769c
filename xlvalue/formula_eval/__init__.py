"""The formula-evaluation door: compute the XV_ formulas of a workbook headlessly (`xlvalue eval`)."""
