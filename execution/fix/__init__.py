"""The LP bridge over FIX 4.4 (quickfix): quote and trade sessions per LP, the service's
``LpGateway``, the execution report journal and LP health."""

from execution.fix.bridge import FixBridge, Recovering
from execution.fix.config import LpConfig, SessionConfig, load_lps
from execution.fix.health import LpHealth
from execution.fix.journal import DirectSink, WarehouseJournal

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
