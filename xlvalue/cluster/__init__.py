"""The cluster door: Dask clients for batch runs and big TransactionsFiles."""
