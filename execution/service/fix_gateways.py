"""LP gateways over FIX 4.4 for the service: the bridge to every LP configured in the warehouse.

Used when ``BROKERSTACK_EXECUTION_LPS=fix`` (as ``brokerstack up`` runs it, next to the two LP
simulators). The bridge's journal thread is the one writer of execution reports and LP health;
the service journals LP orders before sending and applies the reports it receives.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from brokerstack.errors import ConfigError
from execution.core import Core
from execution.fix.bridge import FixBridge, Recovering
from execution.fix.config import load_lps
from execution.fix.health import LpHealth
from execution.fix.journal import WarehouseJournal
from execution.inbox import Inbox
from execution.lp import LpGateway
from execution.units import units_to_lots


class FixGateways:
    """Starts the report journal and the bridge; stops them in the reverse order."""

    def __init__(self, conn: psycopg.Connection[Any], database_url: str, inbox: Inbox, store: Path):
        configs = load_lps(conn)
        if not configs:
            raise ConfigError("BROKERSTACK_EXECUTION_LPS=fix but no LP has FIX sessions configured")
        self.codes = [config.code for config in configs]
        health = LpHealth()
        self.journal = WarehouseJournal(
            database_url, inbox, health, {config.code: config.lp_id for config in configs}
        )
        self.bridge = FixBridge(configs, inbox, store, sink=self.journal, health=health)

    def gateways(self) -> dict[str, LpGateway]:
        return dict.fromkeys(self.codes, self.bridge)

    def start(self, core: Core, conn: psycopg.Connection[Any]) -> None:
        """Connect, then ask each LP for the status of every order still in flight."""
        self.journal.start()
        self.bridge.start()
        self.bridge.recover(_in_flight(core, conn))

    def stop(self) -> None:
        self.bridge.stop()
        self.journal.stop()


def _in_flight(core: Core, conn: psycopg.Connection[Any]) -> list[Recovering]:
    prices: dict[str, Decimal | None] = dict(
        conn.execute(
            """SELECT cl_ord_id, avg_px FROM lp_orders
               WHERE status IN ('PENDING_NEW', 'NEW', 'PARTIALLY_FILLED')"""
        ).fetchall()
    )
    ctx = core.ctx
    return [
        Recovering(order, units_to_lots(ctx.lp_filled.get(cl_ord_id, 0)), prices.get(cl_ord_id))
        for cl_ord_id, order in ctx.lp_orders.items()
    ]
