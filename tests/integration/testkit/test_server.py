"""The test server helpers leave nothing running: a start that fails or times out stops its
child, and whatever is still running at the end is stopped by stop_all (the session's
teardown, and atexit for benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.server import Server, free_port, running_children, start_listening


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not read its status yet.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _new_children(before: set[int]) -> list[int]:
    return [p.pid for p in running_children() if p.pid not in before]


def test_a_server_not_ready_in_time_is_stopped():
    before = {p.pid for p in running_children()}
    server = Server()
    try:
        # rxsight takes seconds to open its store: it cannot be ready this soon.
        with pytest.raises(RuntimeError, match="not ready"):
            server.start(timeout=0.5)
        assert server.proc is None
        assert _new_children(before) == []
    finally:
        server.cleanup()


def test_a_start_interrupted_by_an_error_stops_the_child(monkeypatch: pytest.MonkeyPatch):
    before = {p.pid for p in running_children()}
    server = Server()
    pids: list[int] = []

    def broken_readiness(*args: object, **kwargs: object) -> tuple[int, object]:
        assert server.proc is not None
        pids.append(server.proc.pid)
        raise ValueError("the readiness answer could not be read")

    monkeypatch.setattr(server, "request", broken_readiness)
    try:
        with pytest.raises(ValueError):
            server.start(timeout=30)
        assert pids and not _alive(pids[0])
        assert _new_children(before) == []
    finally:
        server.cleanup()


def test_a_listener_that_never_answers_is_killed(tmp_path: Path):
    before = {p.pid for p in running_children()}
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(RuntimeError, match="not ready"):
        start_listening(sleeper, tmp_path / "sleeper.log", "http://127.0.0.1:9/", timeout=0.5)
    assert _new_children(before) == []


def test_no_orphans_outlive_a_pytest_run_that_forgot_its_server(tmp_path: Path):
    """A whole pytest session whose test starts a server and never stops it: the session's
    teardown (stop_all) stops it. (In a session of its own: stop_all stops every child of
    the session, this one's shared servers too.)"""
    test = tmp_path / "test_forgetful.py"
    pid_file = tmp_path / "pid"
    test.write_text(
        "from testkit.server import Server\n"
        "def test_forgets():\n"
        "    server = Server().start()\n"
        f"    open({str(pid_file)!r}, 'w').write(str(server.proc.pid))\n"
    )
    conftest = Path(__file__).resolve().parents[2] / "conftest.py"
    (tmp_path / "conftest.py").write_text(conftest.read_text())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopped 1 child process" in result.stdout
    assert not _alive(int(pid_file.read_text()))


def test_no_two_test_processes_are_handed_the_same_port():
    """The system hands out a port just released again (bind to port 0 gave 34 repeats in
    1,000 here): a port given to one xdist worker, not yet listened on, must not go to
    another."""
    script = "from testkit.server import free_port; print(*(free_port() for _ in range(300)))"
    other = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    theirs = [int(p) for p in other.stdout.split()]
    mine = [free_port() for _ in range(300)]
    assert len(set(theirs)) == len(theirs) == 300
    assert len(set(mine)) == len(mine) == 300
    assert not set(mine) & set(theirs)
