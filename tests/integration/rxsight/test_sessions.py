"""Sessions end and sign-ins are throttled and audited (issue 17 item 3); passwords reach
`rxsight hash-password` from a prompt or stdin only; `config check` wants a hash."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import yaml

from rxsight.auth import verify_password
from tests.e2e.scenario import PASSWORDS, console_config
from tests.integration.rxsight.conftest import Guarded, signed_in
from tests.support import REPO, Server, rxsight_cli

ADMIN_TOKEN = "sessions-admin-token-0123456789"


def _try(client: httpx.Client, username: str, password: str) -> httpx.Response:
    form = client.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    return client.post(
        "/login",
        data={"username": username, "password": password, "login_token": token, "next": "/"},
    )


def test_sign_out_ends_the_session_on_the_server(guarded: Guarded) -> None:
    with signed_in(guarded.url, "vera") as vera:
        cookie = vera.cookies["rxsight_session"]
        assert vera.get("/api/exceptions").status_code == 200
        out = vera.post("/logout", data={"csrf_token": vera.headers["X-CSRF-Token"]})
        assert out.status_code == 303
    # The cookie a thief copied before the sign-out is worth nothing after it.
    with httpx.Client(base_url=guarded.url, cookies={"rxsight_session": cookie}) as thief:
        assert thief.get("/api/exceptions").status_code == 401
        assert thief.get("/exceptions").status_code == 303  # to the sign-in page
    status, entries = guarded.admin("GET", "/api/audit?object_type=session&actor=vera")
    actions = [e["action"] for e in entries["items"]]
    assert actions[:2] == ["session.sign_out", "session.sign_in"]
    assert entries["items"][0]["detail"]["address"] == "127.0.0.1"


# Locks long enough that no request of these tests outlasts one, even on a loaded machine;
# how locks grow and expire is tested with a clock in tests/unit/rxsight/test_sessions.py.
LOCK_S = 120


@pytest.fixture(scope="module")
def lonely() -> Iterator[Server]:
    """A server of its own: the tests below lock its users and its only address out."""
    config = {**console_config(), "sign_in": {"first_lock_s": LOCK_S}}
    server = Server(config, admin_token=ADMIN_TOKEN).start()
    try:
        yield server
    finally:
        server.cleanup()


def test_forty_wrong_passwords_lock_the_user_out(lonely: Server) -> None:
    with httpx.Client(base_url=lonely.url, timeout=30) as client:
        answers = [_try(client, "vera", f"guess-{i}").status_code for i in range(40)]
        assert answers == [401] * 5 + [429] * 35
        right = _try(client, "vera", PASSWORDS["vera"])
    assert right.status_code == 429  # the right password waits out the lock too
    assert "Too many wrong passwords" in right.text
    assert 0 < int(right.headers["Retry-After"]) <= LOCK_S
    status, failed = lonely.request(
        "GET", "/api/audit?action=session.sign_in_failed&actor=vera", token=ADMIN_TOKEN
    )
    # Each wrong password checked is audited; refusals while locked are not (a flood of
    # them would flood the log).
    assert status == 200 and failed["total"] == 5
    assert failed["items"][0]["detail"] == {"address": "127.0.0.1", "locked_for_s": LOCK_S}


def test_wrong_passwords_from_one_address_lock_the_address(lonely: Server) -> None:
    with httpx.Client(base_url=lonely.url, timeout=30) as client:
        # vera's 5 wrong passwords above count for the address too: 15 more make 20.
        answers = [_try(client, f"nobody-{i}", "x").status_code for i in range(15)]
        otto = _try(client, "otto", PASSWORDS["otto"])
    assert answers == [401] * 15
    assert otto.status_code == 429  # another user, same address
    status, unknown = lonely.request(
        "GET", "/api/audit?action=session.sign_in_failed&actor=(unknown%20user)", token=ADMIN_TOKEN
    )
    # A name nobody has may be a password typed in the wrong field: it is not recorded.
    assert unknown["total"] == 15 and "nobody" not in str(unknown["items"])


def test_hash_password_reads_stdin_and_refuses_the_command_line() -> None:
    piped = rxsight_cli("hash-password", input="correct horse battery\n")
    assert piped.returncode == 0, piped.stderr
    assert verify_password("correct horse battery", piped.stdout.strip())
    on_argv = rxsight_cli("hash-password", "hunter2")
    assert on_argv.returncode == 2
    assert "never from the command line" in on_argv.stderr
    assert "hunter2" not in on_argv.stderr + on_argv.stdout


def test_hash_password_prompts_twice_on_a_terminal() -> None:
    leader, follower = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rxsight.cli", "hash-password"],
        cwd=REPO,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        start_new_session=True,  # no controlling terminal: getpass uses the pty on stdin
    )
    os.close(follower)
    seen = b""
    for prompt in (b"Password: ", b"Again: "):
        while prompt not in seen:
            seen += os.read(leader, 1024)
        os.write(leader, b"typed at a prompt\n")
        seen = b""
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    assert verify_password("typed at a prompt", out.decode().strip())


def test_config_check_refuses_a_password_that_is_not_a_hash(tmp_path) -> None:
    config = console_config()
    config["users"][1]["password_hash"] = "otto-in-plain-text"
    path = tmp_path / "rxsight.yaml"
    path.write_text(yaml.safe_dump(config))
    checked = rxsight_cli("config", "check", "--config", str(path), "--data-dir", str(tmp_path))
    assert checked.returncode != 0
    assert "users.1.password_hash" in checked.stderr and "not a password hash" in checked.stderr
    assert "otto-in-plain-text" not in checked.stderr
