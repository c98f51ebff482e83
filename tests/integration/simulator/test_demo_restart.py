"""`rxsight demo` started again right after Ctrl-C: connections of the stopped server still
in TIME_WAIT on its ports do not stop it; a server listening there does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import REPO, free_port

TIME_WAIT = "06"  # the state column of /proc/net/tcp


def _states(port: int) -> list[str]:
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return [r[3] for r in rows if r[1].endswith(f":{port:04X}")]


def leave_time_wait(port: int) -> None:
    """What a stopped server leaves: it listened with SO_REUSEADDR (as uvicorn and gRPC do)
    and closed a connection first, so that connection waits out TIME_WAIT on its port."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()
        time.sleep(0.05)
        client.close()
    assert _states(port) == [TIME_WAIT]


def _demo(data_dir: Path, port: int, grpc_port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RXSIGHT_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rxsight.cli",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--grpc-port",
            str(grpc_port),
            "--backfill-days",
            "0",
            "--rate",
            "1",
        ],  # fmt: skip
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_demo_starts_while_time_wait_sockets_hold_its_ports(tmp_path: Path) -> None:
    port, grpc_port = free_port(), free_port()
    leave_time_wait(port)
    leave_time_wait(grpc_port)
    proc = _demo(tmp_path, port, grpc_port)
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "rxsight demo is up" in line or "is in use" in line:
                break
        assert "rxsight demo is up" in "".join(seen), "".join(seen)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_demo_refuses_a_port_another_server_listens_on(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        proc = _demo(tmp_path, port, free_port())
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert f"HTTP port {port} on 127.0.0.1 is in use" in out
