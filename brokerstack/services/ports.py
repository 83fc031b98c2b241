"""Small socket helpers: is a port free, wait for a port, find a free one."""

from __future__ import annotations

import random
import socket
import time

from brokerstack.errors import ServiceError


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def require_free_port(host: str, port: int, what: str) -> None:
    if not port_is_free(host, port):
        raise ServiceError(f"port {host}:{port} for {what} is already in use")


# Ports handed out by free_port are picked below Linux's ephemeral range (32768-60999 by
# default): a port the kernel gives an outgoing connection can otherwise be taken between
# the moment it is found free and the moment the process meant to listen there binds it.
_FREE_RANGE = (20000, 32000)
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1", span: int = 1) -> int:
    """A port (the first of ``span`` consecutive ones) nobody listens on, never the same
    twice in this process."""
    for _ in range(10_000):
        first = random.randrange(_FREE_RANGE[0], _FREE_RANGE[1] - span)  # noqa: S311
        ports = range(first, first + span)
        if _handed_out.isdisjoint(ports) and all(port_is_free(host, p) for p in ports):
            _handed_out.update(ports)
            return first
    raise ServiceError(f"no {span} free consecutive ports on {host}")


def wait_for_port(host: str, port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServiceError(f"{what} did not start listening on {host}:{port} within {timeout:.0f}s")
