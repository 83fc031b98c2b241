"""TLS for FIX sessions, done by Python's ``ssl`` (OpenSSL) around quickfix.

The quickfix wheel built from PyPI's sdist has no TLS (``SSLSocketInitiator`` exists but
refuses to start: "HAVE_SSL not enabled"), and its TLS would not check the LP's host name
anyway. So a TLS session's quickfix connection goes to a ``TlsTunnel`` on loopback, which
opens the TLS connection to the LP for it (the certificate verified against the session's CA
file and its host name, our client certificate presented when configured) and relays the
bytes both ways. ``TlsFront`` is the other end, for the LP simulator: it accepts TLS and
relays to a plain acceptor.

The tunnel's loopback port carries plain FIX: it accepts one connection at a time, from this
machine only.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
from pathlib import Path

from execution.fix.config import Tls

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT = 10.0  # seconds for the TCP connect and the TLS handshake
_CHUNK = 65536


def client_context(tls: Tls) -> ssl.SSLContext:
    """Verify the LP against ``ca_file`` (chain and host name); present our certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.cert_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def _receive(sock: socket.socket) -> bytes | None:
    """What a readable socket has; None when a TLS socket was readable for a record that
    carried no data (a TLS 1.3 session ticket): a blocking read would wait for the next one,
    while the other side waits for what we hold."""
    if not isinstance(sock, ssl.SSLSocket):
        return sock.recv(_CHUNK)
    sock.setblocking(False)
    try:
        return sock.recv(_CHUNK)
    except ssl.SSLWantReadError:
        return None
    finally:
        sock.setblocking(True)


def _shuttle(plain: socket.socket, secure: ssl.SSLSocket) -> None:
    """Copy both ways until either side closes, on one thread: OpenSSL allows one thread at a
    time on a connection. Decrypted bytes OpenSSL already holds are passed on before waiting
    for the sockets again."""
    try:
        while True:
            ready = [secure] if secure.pending() else select.select([plain, secure], [], [])[0]
            for source in ready:
                chunk = _receive(source)
                if chunk is None:
                    continue
                if not chunk:
                    return
                (plain if source is secure else secure).sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (plain, secure):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class _Listener:
    """Accepts on a loopback port (``port``; 0: any, known once started) and hands each
    connection to ``_serve``."""

    def __init__(self, name: str, port: int = 0) -> None:
        self.name = name
        self.port = port
        self._server: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._accept, args=(self._server,), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._server is not None:
            self._server.close()

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class TlsTunnel(_Listener):
    """quickfix connects here in plain text; each connection is carried to ``host:port``
    over TLS, one at a time."""

    def __init__(self, name: str, host: str, port: int, tls: Tls) -> None:
        super().__init__(name)
        self.host, self.remote_port = host, port
        self._context = client_context(tls)
        self._busy = threading.Lock()

    def _serve(self, local: socket.socket) -> None:
        if not self._busy.acquire(blocking=False):
            log.warning("%s: a second connection to the TLS tunnel refused", self.name)
            local.close()
            return
        threading.Thread(target=self._carry, args=(local,), name=self.name, daemon=True).start()

    def _carry(self, local: socket.socket) -> None:
        try:
            raw = socket.create_connection((self.host, self.remote_port), _CONNECT_TIMEOUT)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                remote = self._context.wrap_socket(raw, server_hostname=self.host)
            except BaseException:
                raw.close()
                raise
            remote.settimeout(None)
        except (OSError, ssl.SSLError) as error:
            log.error("%s: TLS to %s:%d failed: %s", self.name, self.host, self.remote_port,
                      error)  # fmt: skip
            local.close()
            self._busy.release()
            return
        log.info("%s: %s to %s:%d", self.name, remote.version(), self.host, self.remote_port)
        try:
            _shuttle(local, remote)
        finally:
            self._busy.release()


class TlsFront(_Listener):
    """Accepts TLS on ``port`` and relays each connection in plain text to ``upstream``."""

    def __init__(self, name: str, port: int, upstream: int, cert_file: Path, key_file: Path):
        super().__init__(name, port)
        self.upstream = upstream
        self._context = server_context(cert_file, key_file)

    def _serve(self, conn: socket.socket) -> None:
        threading.Thread(target=self._carry, args=(conn,), name=self.name, daemon=True).start()

    def _carry(self, conn: socket.socket) -> None:
        conn.settimeout(_CONNECT_TIMEOUT)
        try:
            client = self._context.wrap_socket(conn, server_side=True)
            client.settimeout(None)
            upstream = socket.create_connection(("127.0.0.1", self.upstream), _CONNECT_TIMEOUT)
        except (OSError, ssl.SSLError) as error:
            log.warning("%s: TLS client refused: %s", self.name, error)
            conn.close()
            return
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _shuttle(upstream, client)
