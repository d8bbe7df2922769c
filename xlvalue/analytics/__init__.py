"""The pure analytics core: transactions, RFM, ranking, customer value and CLV, weighted
scores, activity-based costing and the purchase/spend models.

It imports numpy, pandas and scipy only (pyarrow for memory hand-back, threadpoolctl to keep
BLAS to one thread inside fits); nothing here knows of workbooks or Excel, so the same
functions serve every door.
"""

__all__: list[str] = []  # a folder of modules: import them by name
