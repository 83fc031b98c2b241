"""The two simulated LPs ``brokerstack up`` runs, on the ports the seeded ``lp_sessions`` name.

Both quote the same reference path (the default ``--market-seed``), each at its own spread and
offset, so their books never drift apart and the aggregate takes alpha's bid and beta's ask:
with a typical spread s, alpha quotes mid + 0.2 s at 1.25 s wide, beta mid - 0.1 s at 0.75 s.
Two books cross only when the offsets differ by more than half the spreads added (here
0.3 s against 1 s), so on this market they never do.
"""

from __future__ import annotations

from collections.abc import Mapping

from brokerstack.settings import Settings
from brokerstack.supervisor import ProcessSpec, brokerstack_run
from warehouse.reference_data import LP_SESSIONS

# LP code -> (spread as a multiple of each symbol's typical spread, offset in typical spreads)
QUOTING = {"lp-alpha": (1.25, 0.2), "lp-beta": (0.75, -0.1)}


def lp_simulator_processes(
    settings: Settings,
    env: dict[str, str],
    ports: Mapping[str, tuple[int, int]] | None = None,
) -> list[ProcessSpec]:
    """``ports``: LP code -> (quote, trade) port, instead of the seeded ones (tests)."""
    specs = []
    for number, (name, (spread_scale, offset)) in enumerate(QUOTING.items()):
        seeded = LP_SESSIONS[name]
        quote_port, trade_port = (ports or {}).get(name, (seeded["quote"][0], seeded["trade"][0]))
        data = settings.data_path / "lpsim" / name
        ops_port = settings.lpsim_ops_port + number
        argv = brokerstack_run(
            "lp-simulator", "--name", name,
            "--spread-scale", str(spread_scale), "--offset", str(offset),
            "--quote-port", str(quote_port), "--trade-port", str(trade_port),
            "--ops-port", str(ops_port), "--data", str(data),
        )  # fmt: skip
        specs.append(
            ProcessSpec(
                name=name,
                argv=argv,
                endpoint=f"FIX quotes {settings.host}:{quote_port}, trades :{trade_port}",
                env=env,
                ready_port=("127.0.0.1", trade_port),
                ops_url=f"http://{settings.host}:{ops_port}",
            )
        )
    return specs
