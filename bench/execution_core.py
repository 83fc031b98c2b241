"""In-process throughput of the trading core: B-book market orders per second, p50/p99.

Run: uv run python bench/execution_core.py [--orders 200000] [--accounts 1000] [--runs 5]

Prints the core's figure next to two baselines measured in the same run on the same orders:
msgspec decoding of the commands from MessagePack (the cheapest thing the service must do per
order anyway) and a trivial dict-update loop, each as a ratio. Medians over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from decimal import Decimal

import msgspec

from execution import contracts as c
from execution.core import Core
from execution.groups import Accounting
from execution.samples import retail_group
from execution.testkit import START, sample_core

LOTS = [Decimal(v) for v in ("0.01", "0.1", "0.5", "1")]


def build(accounts: int) -> Core:
    groups = [
        retail_group("hedging", leverage=100, negative_balance_protection=False),
        retail_group("netting", leverage=100, accounting=Accounting.NETTING),
    ]
    core = sample_core(groups=groups)
    for account in range(1, accounts + 1):
        core.add_account(account, "hedging" if account % 2 else "netting", Decimal(10_000_000))
    core.on_quote("lp1", "EURUSD", 110_000, 110_002, START)
    core.on_quote("lp1", "USDJPY", 150_000, 150_010, START)
    return core


def commands(count: int, accounts: int, tag: str) -> list[c.PlaceOrder]:
    return [
        c.PlaceOrder(
            request_id=f"{tag}-{i}",
            account_id=1 + i % accounts,
            symbol="EURUSD" if i % 3 else "USDJPY",
            side=c.Side.BUY if (i // accounts) % 2 == 0 else c.Side.SELL,
            volume=LOTS[i % len(LOTS)],
        )
        for i in range(count)
    ]


def run_core(count: int, accounts: int, tag: str) -> tuple[float, list[int]]:
    core = build(accounts)
    orders = commands(count, accounts, tag)
    latencies = [0] * count
    clock = time.perf_counter_ns
    now = START + 1_000_000_000
    started = clock()
    for i, command in enumerate(orders):
        t0 = clock()
        outcome = core.handle(command, now + i * 1_000)
        latencies[i] = clock() - t0
        reply = outcome.replies[0]
        if not isinstance(reply, c.Accepted):
            raise SystemExit(f"order rejected: {reply}")
    elapsed = (clock() - started) / 1e9
    return count / elapsed, latencies


def run_decode(count: int, accounts: int, tag: str) -> float:
    payloads = [c.encode(cmd) for cmd in commands(count, accounts, tag)]
    decoder = msgspec.msgpack.Decoder(c.Command)
    started = time.perf_counter()
    for payload in payloads:
        decoder.decode(payload)
    return count / (time.perf_counter() - started)


def run_dict(count: int, accounts: int, tag: str) -> float:
    orders = commands(count, accounts, tag)
    books: dict[int, Decimal] = {}
    started = time.perf_counter()
    for command in orders:
        books[command.account_id] = books.get(command.account_id, Decimal(0)) + command.volume
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rates, p50s, p99s, decodes, dicts = [], [], [], [], []
    for run in range(args.runs):
        rate, latencies = run_core(args.orders, args.accounts, f"run{run}")
        latencies.sort()
        rates.append(rate)
        p50s.append(latencies[len(latencies) // 2] / 1_000)
        p99s.append(latencies[int(len(latencies) * 0.99)] / 1_000)
        decodes.append(run_decode(args.orders, args.accounts, f"run{run}"))
        dicts.append(run_dict(args.orders, args.accounts, f"run{run}"))
    core_rate = statistics.median(rates)
    p50, p99 = statistics.median(p50s), statistics.median(p99s)
    baselines = {
        "msgspec decode": statistics.median(decodes),
        "dict update": statistics.median(dicts),
    }
    print(f"orders per run: {args.orders}, accounts: {args.accounts}, runs: {args.runs} (medians)")
    figure = f"{core_rate:12,.0f} orders/s  p50 {p50:.1f} us  p99 {p99:.1f} us"
    print(f"core, B-book market orders: {figure}")
    for name, rate in baselines.items():
        print(
            f"baseline {name + ':':19} {rate:12,.0f} orders/s  core/baseline {core_rate / rate:.4f}"
        )
    print(f"core / aim of 50,000 orders/s: {core_rate / 50_000:.2f}")


if __name__ == "__main__":
    main()
