"""The worker's rounds: each job on its own clock, a failing job neither stops the others nor
loses its turn."""

from __future__ import annotations

from typing import Any

from backoffice.worker import Job, JobContext, Worker
from brokerstack.settings import Settings


class _Commands:
    def execute(self, command: Any) -> Any:
        raise AssertionError("no command expected")


def _worker(*jobs: Job) -> Worker:
    return Worker(list(jobs), JobContext(Settings(), "postgresql://unused", _Commands()))


def test_each_job_runs_when_its_interval_has_passed() -> None:
    runs: list[str] = []

    def job(name: str, items: int) -> Job:
        def run(ctx: JobContext) -> int:
            runs.append(name)
            return items

        return Job(name, 1.0 if name == "fast" else 10.0, run)

    fast, slow = job("fast", 2), job("slow", 0)
    worker = _worker(fast, slow)
    assert worker.run_due(now=100.0) == {"fast": 2, "slow": 0}
    assert worker.run_due(now=100.5) == {}
    assert worker.run_due(now=101.0) == {"fast": 2}
    assert worker.run_due(now=110.0) == {"fast": 2, "slow": 0}
    assert runs == ["fast", "slow", "fast", "fast", "slow"]


def test_a_failing_job_is_retried_at_its_next_turn_and_the_others_run() -> None:
    calls = {"broken": 0}

    def broken(ctx: JobContext) -> int:
        calls["broken"] += 1
        raise RuntimeError("provider down")

    worker = _worker(Job("broken", 5.0, broken), Job("fine", 5.0, lambda ctx: 1))
    assert worker.run_due(now=0.0) == {"fine": 1}
    assert worker.run_due(now=1.0) == {}
    assert worker.run_due(now=5.0) == {"fine": 1}
    assert calls["broken"] == 2
