"""A webhook receiver on a loopback port: records every POST, answers as scripted."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit.server import free_port


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP server in a thread that records every POST. `script[path]` lists the statuses to
    answer in turn (then 200); `headers_for[status]` adds response headers."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.hits: list[Hit] = []
        self.script: dict[str, list[int]] = {}
        self.response_headers: dict[int, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with owner._lock:
                    queue = owner.script.get(self.path) or []
                    status = queue.pop(0) if queue else 200
                if status < 0:
                    # A negative entry: hang that many seconds, then answer 200 (a timeout).
                    time.sleep(-status)
                    status = 200
                with owner._lock:
                    owner.hits.append(
                        Hit(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            status,
                            time.time(),
                        )
                    )
                self.send_response(status)
                for k, v in owner.response_headers.get(status, {}).items():
                    self.send_header(k, v)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if 200 <= h.status < 300 and path in (None, h.path)]

    def wait(self, n: int, path: str | None = None, timeout: float = 15) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.delivered(path)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.delivered(path))} deliveries to {path}, wanted {n}")
