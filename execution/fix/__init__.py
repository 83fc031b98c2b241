"""The LP bridge over FIX 4.4 (quickfix): quote and trade sessions per LP, the service's
``LpGateway``, the execution report journal and LP health.

The names below load on first use: the command line reaches ``execution.fix.resets`` without
loading quickfix, which takes seconds to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from execution.fix.bridge import FixBridge, Recovering
    from execution.fix.config import LpConfig, SessionConfig, load_lps
    from execution.fix.health import LpHealth
    from execution.fix.journal import DirectSink, WarehouseJournal

_WHERE = {
    "DirectSink": "journal",
    "FixBridge": "bridge",
    "LpConfig": "config",
    "LpHealth": "health",
    "Recovering": "bridge",
    "SessionConfig": "config",
    "WarehouseJournal": "journal",
    "load_lps": "config",
}

__all__ = [
    "DirectSink",
    "FixBridge",
    "LpConfig",
    "LpHealth",
    "Recovering",
    "SessionConfig",
    "WarehouseJournal",
    "load_lps",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"execution.fix.{module}"), name)
