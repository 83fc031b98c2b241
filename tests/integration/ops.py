"""A process's operations port read as the supervisor and Prometheus read it: wait for
``/ready``, then scrape ``/metrics`` and parse the text format."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from brokerstack.supervisor import ready_failures


def ops_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until ``/ready`` answers 200; fails the test when the process exits or time is up."""
    deadline = time.monotonic() + timeout
    while (failures := ready_failures(url, timeout=1)) is not None:
        assert process.poll() is None, f"the process exited with {process.returncode}"
        assert time.monotonic() < deadline, f"not ready: {failures}"
        time.sleep(0.1)


class Scrape:
    """One scrape: every sample by name and labels, and every family's HELP text."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        self.help: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.help[family.name] = family.documentation
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def get(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def value(self, name: str, **labels: str) -> float:
        found = self.get(name, **labels)
        assert found is not None, f"no sample {name}{labels}"
        return found

    def labels(self, name: str) -> list[dict[str, str]]:
        """The label sets of a sample name."""
        return [dict(labels) for sample, labels in self.samples if sample == name]

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(
            v for (sample, got), v in self.samples.items() if sample == name and wanted <= got
        )


def scrape(url: str) -> Scrape:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        return Scrape(response.read().decode())


def scrape_until(url: str, check: Callable[[Scrape], bool], timeout: float = 30) -> Scrape:
    """Scrape until ``check`` holds for a scrape, and return that one (fails on timeout)."""
    deadline = time.monotonic() + timeout
    while not check(found := scrape(url)):
        assert time.monotonic() < deadline, "the metrics never got there"
        time.sleep(0.05)
    return found
