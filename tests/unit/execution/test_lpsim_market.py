"""The simulated LPs' market: one reference path that separate processes agree on, moving like
a market at realistic levels, each LP quoting it at its own spread and offset."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from decimal import Decimal
from itertools import pairwise

import pytest

from execution.lpsim.feeds import DEFAULT_SYMBOLS, PathFeed, lp_symbols, parse_symbol
from execution.lpsim.path import STEP_NS, ReferencePath

S = 1_000_000_000
HOUR = 3600 * S
DAY = 24 * HOUR
T0 = 1_780_000_000 * S  # 2026-05-28 20:26:40 UTC, any instant does
SYMBOLS = [s.symbol for s in DEFAULT_SYMBOLS]


def test_two_paths_built_apart_agree_at_every_instant_whatever_was_asked_before() -> None:
    instants = [T0 + k * 7 * STEP_NS // 3 for k in range(300)]
    first = ReferencePath(DEFAULT_SYMBOLS)
    forward = {(s, t): first.mid(s, t) for s in SYMBOLS for t in instants}
    later = ReferencePath(DEFAULT_SYMBOLS)
    later.mid("EURUSD", T0 + 30 * DAY)  # a different history of questions
    backward = {(s, t): later.mid(s, t) for s in SYMBOLS for t in reversed(instants)}
    assert forward == backward
    assert len(set(forward.values())) > 300  # and it is not standing still


def test_another_process_with_another_hash_seed_computes_the_same_mids() -> None:
    instants = [T0 + k * S for k in range(5)]
    script = (
        "import json, sys\n"
        "from execution.lpsim.feeds import DEFAULT_SYMBOLS\n"
        "from execution.lpsim.path import ReferencePath\n"
        "path = ReferencePath(DEFAULT_SYMBOLS)\n"
        "print(json.dumps([[path.mid(s.symbol, t) for s in DEFAULT_SYMBOLS]"
        " for t in json.loads(sys.argv[1])]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(instants)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    here = ReferencePath(DEFAULT_SYMBOLS)
    assert json.loads(result.stdout) == [[here.mid(s, t) for s in SYMBOLS] for t in instants]


def test_another_seed_is_another_market() -> None:
    one, two = ReferencePath(DEFAULT_SYMBOLS, seed=1), ReferencePath(DEFAULT_SYMBOLS, seed=2)
    assert [one.mid("EURUSD", T0 + k * HOUR) for k in range(5)] != [
        two.mid("EURUSD", T0 + k * HOUR) for k in range(5)
    ]


@pytest.mark.parametrize("symbol", ["EURUSD", "BTCUSD"])
def test_hourly_moves_have_the_symbols_volatility(symbol: str) -> None:
    path = ReferencePath(DEFAULT_SYMBOLS)
    returns = [path.log_return(symbol, T0 + k * HOUR) for k in range(241)]
    moves = [b - a for a, b in pairwise(returns)]
    annual = {"EURUSD": 0.07, "BTCUSD": 0.50}[symbol]  # the seeded figures, by hand
    expected = annual / math.sqrt(365.25 * 24)
    # 240 samples: the sample standard deviation is within 15 % of the true one (3.3 sigma)
    assert statistics.stdev(moves) == pytest.approx(expected, rel=0.15)


def test_prices_stay_near_realistic_levels_for_a_year() -> None:
    path = ReferencePath(DEFAULT_SYMBOLS)
    for spec in DEFAULT_SYMBOLS:
        daily = [path.mid(spec.symbol, T0 + k * 7 * DAY) for k in range(53)]
        level = int(spec.start.scaleb(spec.digits))
        # the walk reverts with a half-life of 60 days: its stationary standard deviation is
        # the daily one over sqrt(1 - phi^2), phi = 0.5^(1/60); no week goes 4 of them away
        daily_sd = spec.volatility / math.sqrt(365.25)
        stationary_sd = daily_sd / math.sqrt(1 - 0.5 ** (2 / 60))
        assert all(abs(math.log(mid / level)) < 4 * stationary_sd for mid in daily), (
            spec.symbol,
            daily,
        )


def test_the_mid_moves_within_almost_every_second() -> None:
    path = ReferencePath(DEFAULT_SYMBOLS)
    for symbol in SYMBOLS:
        seconds = [T0 + k * S for k in range(120)]
        moving = sum(
            len({path.mid(symbol, t + j * STEP_NS) for j in range(20)}) > 1 for t in seconds
        )
        assert moving >= 0.95 * len(seconds), symbol


def test_each_lp_quotes_the_path_at_its_own_offset() -> None:
    path = ReferencePath(DEFAULT_SYMBOLS)
    now = T0
    alpha = PathFeed(path, {"EURUSD": 2}, clock=lambda: now)
    beta = PathFeed(path, {"EURUSD": -1}, clock=lambda: now)
    for step in range(50):
        now = T0 + step * STEP_NS
        reference = path.mid("EURUSD", now)
        assert (alpha.next_mid("EURUSD"), beta.next_mid("EURUSD")) == (
            reference + 2,
            reference - 1,
        )


def test_lp_spreads_scale_each_symbols_typical_spread() -> None:
    scaled = {s.symbol: s.spread for s in lp_symbols(list(DEFAULT_SYMBOLS), 1.25, None)}
    assert scaled["EURUSD"] == 10  # 8 x 1.25
    assert scaled["BTCUSD"] == 3125  # 2,500 x 1.25
    fixed = lp_symbols(list(DEFAULT_SYMBOLS), 1.25, 4)
    assert {s.spread for s in fixed} == {4}


def test_symbol_spec_from_the_command_line() -> None:
    spec = parse_symbol("EURUSD:1.08500:5:8:0.07")
    assert (spec.symbol, spec.digits, spec.start, spec.spread, spec.volatility) == (
        "EURUSD",
        5,
        Decimal("1.08500"),
        8,
        0.07,
    )
    assert parse_symbol("EURUSD:1.08500:5").spread == 0  # the simulator's spread then
    for bad in ("EURUSD:1.08500:5:-1", "EURUSD:1.08500:5:8:0", "EURUSD:1.085:5:8:0.07:9"):
        with pytest.raises(ValueError, match="EURUSD"):
            parse_symbol(bad)
