"""TLS for the FIX tests: self-signed certificates made with openssl, and a relay that ends
TLS in front of a plain LP simulator and records what it saw of each connection."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from brokerstack.services.ports import free_port


def certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Seen:
    """One connection through the relay: the TLS version negotiated, the first bytes that
    came out of it decrypted."""

    version: str | None
    first_bytes: bytes = b""


@dataclass
class TlsRelay:
    """Accepts TLS on ``port`` and relays the plain bytes to ``upstream`` on loopback."""

    cert: Path
    key: Path
    upstream: int
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(self.cert, self.key)
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._server.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)
            try:
                client = self._context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()
                self.seen.append(Seen(None))
                continue
            seen = Seen(client.version())
            self.seen.append(seen)
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, upstream, seen), daemon=True).start()

    @staticmethod
    def _pump(client: ssl.SSLSocket, upstream: socket.socket, seen: Seen) -> None:
        """Both ways on one thread (one thread at a time on an OpenSSL connection)."""
        client.settimeout(None)
        with contextlib.suppress(OSError), client, upstream:
            while True:
                ready = (
                    [client] if client.pending() else select.select([client, upstream], [], [])[0]
                )
                for source in ready:
                    client.setblocking(source is not client)
                    try:
                        chunk = source.recv(65536)
                    except ssl.SSLWantReadError:
                        continue  # a record without data
                    finally:
                        client.setblocking(True)
                    if not chunk:
                        return
                    if source is client and not seen.first_bytes:
                        seen.first_bytes = chunk
                    (upstream if source is client else client).sendall(chunk)
