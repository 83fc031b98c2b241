"""Reconciliation: the PSPs' settlement files and the banks' statements against our payments,
and the exceptions staff resolve."""
