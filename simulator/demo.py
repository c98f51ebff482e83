"""`rxsight demo`: serve on embedded chDB with a demo config and logins, plus the simulator."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from rxsight.auth import hash_password
from rxsight.config import Settings, load_config
from rxsight.timeutil import parse_rfc3339, rfc3339, utcnow
from simulator.catalog import FLOWS, SITES, SOURCE_SYSTEMS, SUPPLIERS
from simulator.config import SimConfig
from simulator.runner import run

DEMO_CONFIG = "demo.yaml"
DEMO_LOGINS = "demo-logins.json"
DEMO_STATE = "demo-state.json"
_USERS = (
    ("admin", "admin", "Demo administrator"),
    ("operator", "operator", "Demo operator (buyer / AP clerk)"),
    ("viewer", "viewer", "Demo viewer"),
)


def registry_config() -> dict[str, Any]:
    """The simulated world's registered flows and source systems, as configuration: what the
    governance family judges the world's interfaces against."""
    return {
        "flows": {f.name: f.config() for f in FLOWS if f.registered},
        "source_systems": {name: {"owner": owner} for name, owner in SOURCE_SYSTEMS.items()},
    }


def ensure_demo_config(data_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The demo's YAML config (users, flows, sites) and its logins, created on first use.
    Passwords are random per data directory and kept beside it (mode 600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg_path, logins_path = data_dir / DEMO_CONFIG, data_dir / DEMO_LOGINS
    if cfg_path.exists() and logins_path.exists():
        return cfg_path, json.loads(logins_path.read_text())
    logins: dict[str, Any] = {
        "users": [
            {"username": u, "password": secrets.token_urlsafe(9), "role": r} for u, r, _ in _USERS
        ],
        "api_token": secrets.token_urlsafe(24),
    }
    config = {
        "users": [
            {
                "username": login["username"],
                "password_hash": hash_password(login["password"]),
                "role": login["role"],
                "display_name": display,
            }
            for login, (_, _, display) in zip(logins["users"], _USERS, strict=True)
        ],
        **registry_config(),
        "sites": {s.id: {"timezone": s.timezone, "name": s.name} for s in SITES},
        # EDI suppliers send an ASN (856) when they ship, hours before the promised date;
        # portal suppliers answer POs within a business day.
        "rules": {
            "thresholds": {
                "supplier_response": {
                    "suppliers": {
                        s.id: {"asn_expected": True, "asn_lead_hours": 4}
                        if s.channel == "edi"
                        else {"ack_hours": 24}
                        for s in SUPPLIERS
                    }
                }
            }
        },
    }
    header = (
        "# Written by `rxsight demo`: console users (passwords in demo-logins.json), and the\n"
        "# simulated health system's integration flows, source systems and sites.\n"
    )
    cfg_path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    logins_path.write_text(json.dumps(logins, indent=2))
    logins_path.chmod(0o600)
    return cfg_path, logins


def _port_free(host: str, port: int) -> bool:
    """Whether a server could listen on the port now. SO_REUSEADDR, as the servers set it:
    connections of a stopped server waiting out TIME_WAIT do not hold the port, a socket
    listening on it does."""
    import socket

    try:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        return True
    except OSError:
        return False


def _die_with_parent() -> None:
    # Linux: the server goes when the demo goes, even on kill -9 of the demo.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _get(url: str, token: str | None = None, timeout: float = 5) -> tuple[int, Any]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _has_exceptions(body: Any) -> int:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        if isinstance(body.get("total"), int):
            return body["total"]
        return max((len(v) for v in body.values() if isinstance(v, list)), default=0)
    return 0


def _watch_first_exception(base: str, token: str, t0: float, stop: threading.Event) -> None:
    """Tell the person at the terminal when the first exceptions are visible."""
    while not stop.wait(2):
        try:
            status, body = _get(f"{base}/api/exceptions?limit=5", token)
        except OSError:
            continue
        n = _has_exceptions(body) if status == 200 else 0
        if n:
            print(
                f"demo: exceptions are in ({n}{'+' if n == 5 else ''} open, "
                f"{time.monotonic() - t0:.0f} s after start): {base}/exceptions",
                flush=True,
            )
            return


def run_demo(settings: Settings, *, rate: float, seed: int, backfill_days: float) -> int:
    """Serve (a child process on the same settings) and simulate until Ctrl-C."""
    t0 = time.monotonic()
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    logins: dict[str, Any] | None = None
    if settings.config_path is None:
        cfg_path, logins = ensure_demo_config(data_dir)
        settings = replace(settings, config_path=cfg_path, config=load_config(cfg_path))
    token = settings.admin_token or (logins or {}).get("api_token") or secrets.token_urlsafe(24)

    # A restarted demo continues the same history: back-fill only the gap since it stopped,
    # with fresh business numbers.
    state_path = data_dir / DEMO_STATE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    runs = int(state.get("runs", 0))
    if state.get("stopped_at"):
        gap = utcnow() - parse_rfc3339(state["stopped_at"])
        backfill_days = max(0.0, min(backfill_days, gap.total_seconds() / 86400))

    host = settings.host
    near = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    # Checked first: another server answering /readyz on the port would look like ours.
    for what, port, flag in (
        ("HTTP", settings.port, "--port / RXSIGHT_PORT"),
        ("OTLP/gRPC", settings.grpc_port, "--grpc-port / RXSIGHT_GRPC_PORT"),
    ):
        if port and not _port_free(host, port):
            print(f"demo: {what} port {port} on {host} is in use; choose another with {flag}")
            return 2
    base = f"http://{near}:{settings.port}"
    cmd = [
        sys.executable, "-m", "rxsight.cli", "serve",
        "--data-dir", str(data_dir), "--dsn", settings.dsn,
        "--host", host, "--port", str(settings.port), "--grpc-port", str(settings.grpc_port),
        "--log-level", "warning",
    ]  # fmt: skip
    if settings.config_path:
        cmd += ["--config", str(settings.config_path)]
    env = {**os.environ, "RXSIGHT_ADMIN_TOKEN": token}
    server_log = data_dir / "serve.log"
    print(f"demo: starting rxsight on {base}/ (data in {data_dir}, log {server_log})", flush=True)
    with open(server_log, "ab") as log_file:
        proc = subprocess.Popen(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            # Own session: Ctrl-C reaches the demo, which stops the simulator first, then
            # the server, in that order.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        if not _wait_ready(proc, base, stop):
            tail = server_log.read_text(errors="replace")[-3000:] if server_log.exists() else ""
            if not stop.is_set():
                print(f"demo: rxsight did not start:\n{tail}", file=sys.stderr)
            return 0 if stop.is_set() else 1
        _banner(base, settings, logins, token, time.monotonic() - t0)
        threading.Thread(target=lambda: (proc.wait(), stop.set()), daemon=True).start()
        threading.Thread(
            target=_watch_first_exception, args=(base, token, t0, stop), daemon=True
        ).start()
        cfg = SimConfig(
            url=base,
            grpc_endpoint=f"{near}:{settings.grpc_port}" if settings.grpc_port else None,
            seed=seed + runs,
            rate=rate,
            backfill_days=backfill_days,
            number_base=runs * 1_000_000,
            crosswalk_token=token,
        )
        run(cfg, stop)
        if proc.poll() is not None and not _interrupted(stop, proc):
            print(f"demo: rxsight exited ({proc.returncode}); see {server_log}", file=sys.stderr)
            return 1
        return 0
    finally:
        print("demo: stopping", flush=True)
        _stop_server(proc)
        state_path.write_text(json.dumps({"runs": runs + 1, "stopped_at": rfc3339(utcnow())}))
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupted(stop: threading.Event, proc: subprocess.Popen[bytes]) -> bool:
    return stop.is_set() and proc.returncode in (0, -signal.SIGTERM, -signal.SIGINT)


def _wait_ready(proc: subprocess.Popen[bytes], base: str, stop: threading.Event) -> bool:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not stop.is_set():
        if proc.poll() is not None:
            return False
        try:
            status, _ = _get(f"{base}/readyz", timeout=2)
            if status == 200:
                return True
        except OSError:
            pass
        stop.wait(0.3)
    return False


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _banner(
    base: str, settings: Settings, logins: dict[str, Any] | None, token: str, took: float
) -> None:
    lines = [
        "",
        f"rxsight demo is up ({took:.0f} s): console {base}/",
    ]
    if logins:
        for u in logins["users"]:
            lines.append(f"  log in as {u['username']:<9} password {u['password']}  ({u['role']})")
    else:
        lines.append(f"  log in with a user from {settings.config_path}")
    lines += [
        f"  API token: curl -H 'Authorization: Bearer {token}' {base}/api/exceptions",
        f"  OTLP: {base}/v1/traces, gRPC :{settings.grpc_port}; events: {base}/v1/events",
        "  The simulator back-fills the last days, then runs live (an ERP outage is under way).",
        "  Ctrl-C stops the simulator and the server.",
        "",
    ]
    print("\n".join(lines), flush=True)
