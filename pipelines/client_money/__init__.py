"""Client-money reconciliation (CASS 7 style): bank statements in, a daily reconciliation of
what clients are owed against what the client-money banks hold, staff sign-offs on it."""

from pipelines.client_money.reconcile import DayReconciliation, reconcile, reconcile_day
from pipelines.client_money.signoffs import SignOffRefused, approve, explain
from pipelines.client_money.statements import (
    FileLoad,
    SettlementFileError,
    load_settlement_files,
    parse_statement,
)

__all__ = [
    "DayReconciliation",
    "FileLoad",
    "SettlementFileError",
    "SignOffRefused",
    "approve",
    "explain",
    "load_settlement_files",
    "parse_statement",
    "reconcile",
    "reconcile_day",
]
