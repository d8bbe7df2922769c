"""The cluster door: Dask clients for batch runs and big TransactionsFiles."""

__all__: list[str] = []  # a folder of modules: import them by name
