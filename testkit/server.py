"""A real `rxsight serve` in a subprocess on a loopback port with its own data dir, and the
CLI in a subprocess: what tests and benchmarks both drive rxsight with."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
# Every child process started here, until stopped: whatever a failed start, a test that
# forgot its cleanup or an interrupted run leaves is stopped at the end (stop_all).
_children: set[subprocess.Popen[bytes]] = set()


def spawn(
    cmd: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`cmd` in a subprocess logging to log_path, remembered until it is stopped."""
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    _children.add(proc)
    return proc


def running_children() -> list[subprocess.Popen[bytes]]:
    """The processes started here that still run."""
    return [proc for proc in _children if proc.poll() is None]


def stop_all() -> int:
    """Stops every process started here that still runs; returns how many there were."""
    left = running_children()
    for proc in left:
        stop_process(proc)
    _children.clear()
    return len(left)


atexit.register(stop_all)

# An embedded store with every migration applied, made once per process: a Server on a fresh
# data directory starts from a copy of it instead of migrating an empty store (about 2 s of
# each start). The copy is what that migration leaves; migrations it lacks still run at start.
_migrated: tempfile.TemporaryDirectory[str] | None = None
_migrated_lock = threading.Lock()


def migrated_store() -> Path:
    """The `clickhouse` folder of a data directory that `rxsight migrate` brought up to date
    (in a subprocess: chDB binds one directory per process)."""
    global _migrated
    with _migrated_lock:
        if _migrated is None:
            tmp = tempfile.TemporaryDirectory(prefix="rxsight-migrated-")
            env = {k: v for k, v in os.environ.items() if k not in _STORE_ENV}
            subprocess.run(
                [sys.executable, "-m", "rxsight.cli", "migrate", "--data-dir", tmp.name],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
                timeout=300,
            )
            _migrated = tmp
        return Path(_migrated.name) / "clickhouse"


# What would point `rxsight migrate` at another store than the data directory's own.
_STORE_ENV = ("RXSIGHT_CLICKHOUSE_DSN", "RXSIGHT_CONFIG", "RXSIGHT_DATA_DIR")


# Ports handed out here and not yet listened on, marked across processes: the system only
# knows the ports bound now, so two test processes (xdist workers, or test sessions of their
# own) could otherwise both be given a port that neither has started listening on yet.
_HANDED_OUT = Path(tempfile.gettempdir()) / "rxsight-test-ports"
# Longer than any server takes to start listening; a mark that old is free to take again.
_HANDED_OUT_S = 300


def free_port() -> int:
    """A loopback port nothing listens on that no test process was handed in the last
    minutes."""
    _HANDED_OUT.mkdir(exist_ok=True)
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mark = _HANDED_OUT / str(port)
        try:
            os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return port
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                if time.time() - mark.stat().st_mtime > _HANDED_OUT_S:
                    mark.unlink()


class Server:
    """`rxsight serve` in a subprocess. Survives kill -9 / restart on the same data dir."""

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        *,
        admin_token: str | None = None,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        dsn: str | None = None,
        prelude: str = "",
    ) -> None:
        """`prelude`: Python run in the server process before the CLI (a test that adds a rule
        family folder extends the registry's search path there)."""
        self._tmp = None
        # None: the embedded store in the data dir; an http:// DSN: a ClickHouse server, where
        # each Server gets a database of its own unless told which to share.
        self.dsn = dsn
        self.prelude = prelude
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rxsight-test-")
            data_dir = Path(self._tmp.name)
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.admin_token = admin_token
        self.config_path: Path | None = None
        if config is not None:
            self.config_path = self.data_dir / "rxsight.yaml"
            self.config_path.write_text(yaml.safe_dump(config))
        self.env = dict(env or {})
        if dsn:
            self.env.setdefault("RXSIGHT_DATABASE", f"rxsight_{uuid.uuid4().hex[:10]}")
        self.port = free_port()
        self.grpc_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def start(self, timeout: float = 60) -> Server:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env.pop("RXSIGHT_CLICKHOUSE_DSN", None)
        if self.dsn:
            env["RXSIGHT_CLICKHOUSE_DSN"] = self.dsn
        if self.admin_token:
            env["RXSIGHT_ADMIN_TOKEN"] = self.admin_token
        launch = ["-m", "rxsight.cli"]
        if self.prelude:
            run_cli = "import runpy; runpy.run_module('rxsight.cli', run_name='__main__')"
            launch = ["-c", f"{self.prelude}\n{run_cli}"]
        cmd = [
            sys.executable,
            *launch,
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--grpc-port",
            str(self.grpc_port),
            "--log-level",
            "warning",
        ]
        if self.config_path:
            cmd += ["--config", str(self.config_path)]
        embedded = self.data_dir / "clickhouse"
        if self.dsn is None and not embedded.exists():
            shutil.copytree(migrated_store(), embedded, symlinks=True)
        self.proc = spawn(cmd, self.log_path, env)
        try:
            self._wait_ready(timeout)
        except BaseException:
            # A server that never became ready (or whose start was interrupted) is not left
            # behind to hold ports and memory.
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rxsight exited {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = self.request("GET", "/readyz", token=None, timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"rxsight not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def kill9(self) -> None:
        assert self.proc is not None
        kill_process(self.proc)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None | bool = True,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, Any]:
        """JSON in and out; raw bytes pass through. token=True uses the admin token."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        use = self.admin_token if token is True else token
        if use:
            req.add_header("Authorization", f"Bearer {use}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, _decode(resp.read(), resp.headers.get("content-type", ""))
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read(), exc.headers.get("content-type", ""))

    def wait_for(self, predicate: Any, timeout: float = 10, interval: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 20 s."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    _children.discard(proc)  # type: ignore[arg-type]


def kill_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL: gone at once, as a crashed server is."""
    if proc and proc.poll() is None:
        proc.kill()
        proc.wait(10)
    _children.discard(proc)  # type: ignore[arg-type]


def start_listening(
    cmd: list[str], log_path: Path, ready_url: str, timeout: float
) -> subprocess.Popen[bytes]:
    """`cmd` in a subprocess logging to log_path, returned once ready_url answers; killed
    when it does not (or the wait is interrupted)."""
    proc = spawn(cmd, log_path)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-5000:]
                raise RuntimeError(f"{cmd[0]} {cmd[1:3]} exited {proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2):
                    return proc
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{cmd[0]} not ready in {timeout}s: {log_path}")
    except BaseException:
        kill_process(proc)
        raise


def rxsight_cli(*args: str, **run: Any) -> subprocess.CompletedProcess[str]:
    """`rxsight ARGS...` in a subprocess, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "rxsight.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        **run,
    )


def _decode(raw: bytes, ctype: str) -> Any:
    if "json" in ctype:
        return json.loads(raw) if raw else None
    if ctype.startswith("text/"):
        return raw.decode()
    return raw
