"""``brokerstack run <process>``: the one way every long-running process starts.

``brokerstack up`` starts each of its processes with these same commands. Every process reads
the settings tree (``BROKERSTACK_*``, ``.env``) and logs through :mod:`brokerstack.logs`; the
options here only tell apart instances of one kind (a consumer name, an LP simulator's
behaviour). Exit codes: 0 stopped on request, 1 could not run or could not go on (the reason
on stderr), 2 bad usage.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from brokerstack.cli.console import operator_errors
from brokerstack.errors import ConfigError
from brokerstack.logs import flush_logs, setup_logging
from brokerstack.settings import Settings, load_settings

app = typer.Typer(
    name="run",
    help="Run one process of the stack in the foreground (what `brokerstack up` runs).",
    no_args_is_help=True,
)

OpsPort = Annotated[
    int | None,
    typer.Option(min=1, max=65535, help="port of /health, /ready and /metrics (default: settings)"),
]
Consumer = Annotated[
    str | None, typer.Option(help="consumer name in the stream's group (default: kind@host)")
]
ClaimIdle = Annotated[
    int, typer.Option(min=0, help="claim entries other writers left pending this long (ms)")
]


def _run(process: str, serve: Callable[[Settings], int]) -> None:
    settings = load_settings()
    setup_logging(process, settings.log)
    try:
        code = serve(settings)
    except OSError as exc:  # a port taken, a folder not writable
        raise ConfigError(f"{process}: {exc}") from exc
    finally:
        flush_logs()
    if code:
        raise typer.Exit(code)


@app.command()
@operator_errors
def execution(ops_port: OpsPort = None) -> None:
    """The execution service: one book shard (BROKERSTACK_EXECUTION_*)."""
    from execution.service.main import serve  # loads quickfix: only this process needs it

    _run("execution", lambda settings: serve(settings, ops_port))


@app.command()
@operator_errors
def api(ops_port: OpsPort = None) -> None:
    """The client API on BROKERSTACK_API_PORT, with BROKERSTACK_API_WORKERS workers."""
    from api.serve import serve

    _run("api", lambda settings: serve(settings, ops_port))


@app.command("tick-writer")
@operator_errors
def tick_writer(
    consumer: Consumer = None,
    batch_entries: Annotated[int, typer.Option(min=1, help="stream entries per transaction")] = 500,
    claim_idle_ms: ClaimIdle = 30_000,
    housekeeping_seconds: Annotated[
        float, typer.Option(min=0, help="trim, candle refresh and metrics interval")
    ] = 1.0,
    candles: Annotated[bool, typer.Option(help="keep candles current")] = True,
    ops_port: OpsPort = None,
) -> None:
    """Load the ticks stream into the warehouse, exactly once."""
    from ingest.ticks import serve
    from ingest.writer import WriterOptions

    options = WriterOptions(
        batch_entries=batch_entries,
        claim_idle_ms=claim_idle_ms,
        housekeeping_seconds=housekeeping_seconds,
    )
    _run(
        "tick-writer",
        lambda settings: serve(settings, consumer, options, candles=candles, ops_port=ops_port),
    )


@app.command("event-writer")
@operator_errors
def event_writer(
    consumer: Consumer = None, claim_idle_ms: ClaimIdle = 30_000, ops_port: OpsPort = None
) -> None:
    """Load trading and CRM events into the warehouse, exactly once."""
    from ingest.events import serve
    from ingest.writer import WriterOptions

    options = WriterOptions(claim_idle_ms=claim_idle_ms)
    _run("event-writer", lambda settings: serve(settings, consumer, options, ops_port))


@app.command("backoffice-worker")
@operator_errors
def backoffice_worker(ops_port: OpsPort = None) -> None:
    """The back office's background jobs (BROKERSTACK_BACKOFFICE_*)."""
    from backoffice.serve import serve

    _run("backoffice-worker", lambda settings: serve(settings, ops_port))


@app.command("smtp-sink")
@operator_errors
def smtp_sink(ops_port: OpsPort = None) -> None:
    """The local mail sink: keeps every mail under <data folder>/mail/ (no SMTP URL set)."""
    from backoffice.comms.smtp_sink import serve

    _run("smtp-sink", lambda settings: serve(settings, ops_port))


@app.command("sms-simulator")
@operator_errors
def sms_simulator(
    undeliverable: Annotated[
        list[str] | None, typer.Option(help="a number whose messages end undelivered (repeatable)")
    ] = None,
    ops_port: OpsPort = None,
) -> None:
    """A simulated SMS provider with Twilio's Messages API (no SMS URL set)."""
    from backoffice.comms.sms_simulator import UNDELIVERABLE, serve

    numbers = frozenset(undeliverable) if undeliverable else UNDELIVERABLE
    _run("sms-simulator", lambda settings: serve(settings, numbers, ops_port))


@app.command("kyc-simulator")
@operator_errors
def kyc_simulator(
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="default: the KYC simulator port")
    ] = None,
    callback_url: Annotated[
        str | None, typer.Option(help="where webhooks go (default: the api's KYC webhook)")
    ] = None,
    rule: Annotated[
        str, typer.Option(help="green: every check passes; manual: wait for /_sim review")
    ] = "green",
    ops_port: OpsPort = None,
) -> None:
    """A stand-in for the KYC provider (Sumsub's shape): signed API, signed webhooks."""
    from backoffice.kyc.simulator import SimulatorOptions, default_callback, serve

    if rule not in ("green", "manual"):
        raise typer.BadParameter("rule is green or manual")

    def start(settings: Settings) -> int:
        options = SimulatorOptions(
            port or settings.backoffice.kyc_simulator_port,
            callback_url or default_callback(settings),
            "green" if rule == "green" else "manual",
        )
        return serve(settings, options, ops_port)

    _run("kyc-simulator", start)


@app.command("card-psp-simulator")
@operator_errors
def card_psp_simulator(
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="default: the card PSP simulator port")
    ] = None,
    ops_port: OpsPort = None,
) -> None:
    """A stand-in for the card PSP (Stripe's shape): hosted page, 3-D Secure, signed webhooks."""
    from backoffice.payments.card_simulator import serve

    _run("card-psp-simulator", lambda settings: serve(settings, port, ops_port))


@app.command("ewallet-simulator")
@operator_errors
def ewallet_simulator(
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="default: the e-wallet simulator port")
    ] = None,
    ops_port: OpsPort = None,
) -> None:
    """A stand-in for the e-wallet PSP (Skrill's / PayPal's shape): approval page, signed
    callbacks, payouts to the paying wallet."""
    from backoffice.payments.ewallet_simulator import serve

    _run("ewallet-simulator", lambda settings: serve(settings, port, ops_port))


@app.command("crypto-simulator")
@operator_errors
def crypto_simulator(
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="default: the crypto simulator port")
    ] = None,
    ops_port: OpsPort = None,
) -> None:
    """A stand-in for the crypto gateway: deposit addresses, transfers with block
    confirmations, signed callbacks, payouts to an address."""
    from backoffice.payments.crypto_simulator import serve

    _run("crypto-simulator", lambda settings: serve(settings, port, ops_port))


@app.command("lp-simulator")
@operator_errors
def lp_simulator(
    name: Annotated[str, typer.Option(help="LP code, e.g. lp-alpha (sets the CompIDs)")],
    quote_port: Annotated[int, typer.Option(min=1, max=65535)],
    trade_port: Annotated[int, typer.Option(min=1, max=65535)],
    ops_port: Annotated[int, typer.Option(min=1, max=65535, help="/health, /ready, /metrics")],
    spread: Annotated[
        int | None, typer.Option(help="spread in points of every symbol (default: scale)")
    ] = None,
    spread_scale: Annotated[
        float, typer.Option(help="the spread as a multiple of each symbol's typical spread")
    ] = 1.0,
    offset: Annotated[
        float, typer.Option(help="the mid above the reference path, in typical spreads")
    ] = 0.0,
    symbol: Annotated[
        list[str] | None,
        typer.Option(help="SYMBOL:start:digits[:spread[:volatility]] (repeatable)"),
    ] = None,
    replay: Annotated[Path | None, typer.Option(help="CSV of ticks or candles to replay")] = None,
    quote_interval: Annotated[float, typer.Option(help="seconds between quotes")] = 0.05,
    latency: Annotated[float, typer.Option(help="seconds before answering")] = 0.0,
    partial_ratio: float = 0.0,
    partial_fraction: str = "0.5",
    reject_ratio: float = 0.0,
    last_look_ratio: float = 0.0,
    crossed_ratio: float = 0.0,
    stale: Annotated[bool, typer.Option(help="send no quote updates")] = False,
    disconnect_every: Annotated[float, typer.Option(help="seconds; 0 = never")] = 0.0,
    ack: Annotated[bool, typer.Option(help="send ExecType 0 before each outcome")] = False,
    password_env: Annotated[
        str | None, typer.Option(help="environment variable holding the logon password")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the LP's behaviour draws")] = 1,
    market_seed: Annotated[int, typer.Option(help="seed of the reference path")] = 1,
    data: Annotated[Path | None, typer.Option(help="folder for the FIX store")] = None,
) -> None:
    """A simulated LP speaking FIX 4.4 (a stand-in for a real liquidity provider)."""
    from execution.lpsim.behaviour import Behaviour
    from execution.lpsim.feeds import parse_symbol
    from execution.lpsim.serve import SimulatorOptions, serve

    try:
        market = [parse_symbol(text) for text in symbol or []]
        fraction = Decimal(partial_fraction)
    except (ValueError, ArithmeticError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    behaviour = Behaviour(
        spread_points=spread or Behaviour.spread_points,
        quote_interval=quote_interval,
        latency=latency,
        partial_ratio=partial_ratio,
        partial_fraction=fraction,
        reject_ratio=reject_ratio,
        last_look_ratio=last_look_ratio,
        crossed_ratio=crossed_ratio,
        stale=stale,
        disconnect_every=disconnect_every,
        ack=ack,
        password=os.environ.get(password_env, "") if password_env else "",
        seed=seed,
    )
    options = SimulatorOptions(
        name, quote_port, trade_port, behaviour, ops_port, market, spread, spread_scale,
        offset, replay, market_seed, data,
    )  # fmt: skip
    _run(f"lp-simulator {name}", lambda settings: serve(settings, options))
