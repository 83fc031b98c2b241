"""The two simulated LPs ``brokerstack up`` runs, on the ports the seeded ``lp_sessions`` name,
with different spreads so the aggregated book has a best side to pick."""

from __future__ import annotations

from brokerstack.settings import Settings
from brokerstack.supervisor import ProcessSpec, python_module
from warehouse.reference_data import LP_SESSIONS

SPREADS = {"lp-alpha": 10, "lp-beta": 6}  # points


def lp_simulator_processes(settings: Settings, env: dict[str, str]) -> list[ProcessSpec]:
    specs = []
    for name, spread in SPREADS.items():
        quote_port = LP_SESSIONS[name]["quote"][0]
        trade_port = LP_SESSIONS[name]["trade"][0]
        data = settings.data_path / "lpsim" / name
        argv = python_module(
            "execution.lpsim", "--name", name, "--spread", str(spread),
            "--quote-port", str(quote_port), "--trade-port", str(trade_port),
            "--data", str(data),
        )  # fmt: skip
        specs.append(
            ProcessSpec(
                name=name,
                argv=argv,
                endpoint=f"FIX quotes {settings.host}:{quote_port}, trades :{trade_port}",
                env=env,
                ready_port=("127.0.0.1", trade_port),
            )
        )
    return specs
