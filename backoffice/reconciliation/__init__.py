"""Reconciliation: the PSPs' settlement files and the banks' statements against our payments,
and the exceptions staff resolve; what clients are owed against what the client-money banks
hold (:mod:`backoffice.reconciliation.client_money`)."""
