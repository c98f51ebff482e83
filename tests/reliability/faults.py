"""Faults the reliability tests inject between a client and rxsight, or on rxsight itself."""

from __future__ import annotations

import copy
import resource
import select
import socket
import threading
from pathlib import Path

from tests.support import Server


class AnswerDroppingProxy:
    """A TCP proxy on loopback in front of one port. Every `drop_every`-th connection has its
    request delivered whole and processed, and then the connection closes at the first byte
    of the answer: the client never sees it, as when a network path dies just after the
    server acknowledged. HTTP/1.1: the answer is the first byte the server sends. HTTP/2
    (gRPC): the first frame on a stream, after the connection's own frames (SETTINGS, PING,
    WINDOW_UPDATE on stream 0), which pass so that the request can be made at all."""

    def __init__(self, upstream_port: int, *, http2: bool = False, drop_every: int = 3) -> None:
        self.upstream_port = upstream_port
        self.http2 = http2
        self.drop_every = drop_every
        self.dropped = 0
        self.relayed = 0
        self._n = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._n += 1
                drop = self._n % self.drop_every == 0
            threading.Thread(target=self._serve, args=(client, drop), daemon=True).start()

    def _before_answer(self, data: bytes) -> tuple[bytes, bytes, bool]:
        """(bytes to pass, bytes to keep for later, whether the answer has begun)."""
        if not self.http2:
            return b"", b"", True
        pos = 0
        while len(data) - pos >= 9:
            length = int.from_bytes(data[pos : pos + 3], "big")
            stream = int.from_bytes(data[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            if stream != 0:
                return data[:pos], b"", True
            if len(data) - pos < 9 + length:
                break
            pos += 9 + length
        return data[:pos], data[pos:], False

    def _serve(self, client: socket.socket, drop: bool) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return
        held = b""
        with client, upstream:
            sockets = [client, upstream]
            while sockets:
                ready, _, _ = select.select(sockets, [], [], 0.5)
                for sock in ready:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if sock is client:
                        if not data:
                            upstream.shutdown(socket.SHUT_WR)
                            sockets.remove(client)
                        else:
                            upstream.sendall(data)
                        continue
                    if not data:
                        sockets = []
                        break
                    if drop:
                        passed, held, answered = self._before_answer(held + data)
                        client.sendall(passed)
                        if answered:
                            sockets = []  # the answer goes nowhere
                            break
                    else:
                        client.sendall(data)
        with self._lock:
            if drop:
                self.dropped += 1
            else:
                self.relayed += 1


def through(server: Server, proxy_http: AnswerDroppingProxy, proxy_grpc: AnswerDroppingProxy):
    """The same server as its clients see it through the proxies."""
    seen = copy.copy(server)
    seen.port, seen.grpc_port = proxy_http.port, proxy_grpc.port
    return seen


def cap_address_space(pid: int, cap_bytes: int) -> None:
    """RLIMIT_AS on a running process: allocations past the cap fail (ENOMEM), in Python
    and in the embedded ClickHouse alike, instead of the machine swapping or OOM-killing."""
    resource.prlimit(pid, resource.RLIMIT_AS, (cap_bytes, cap_bytes))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def address_space_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0
