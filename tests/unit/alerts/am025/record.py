"""Records what Alertmanager 0.25 (Debian's prometheus-alertmanager) does with this folder's
inputs, so the differential tests can compare rxsight with it without Alertmanager installed.

    .venv/bin/python tests/unit/alerts/am025/record.py

writes routes.json (`amtool config routes test` for every label set of labelsets.json),
parse.json (`amtool config routes show` for every matcher input of Alertmanager's own
pkg/labels/parse_test.go) and payloads.json (the webhook payloads a running Alertmanager on
loopback sent for the same label sets: groupKey and each alert's fingerprint)."""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "alertmanager.yml"

# The matcher inputs of prometheus/alertmanager pkg/labels/parse_test.go (TestMatchers),
# v0.25.0, in their order.
PARSE_INPUTS = [
    '{foo="bar"}',
    '{foo=~"bar.*"}',
    '{foo!="bar"}',
    '{foo!~"bar.*"}',
    '{foo="bar", baz!="quux"}',
    '{foo="bar", baz!~"quux.*"}',
    '{foo="bar",baz!~".*quux", derp="wat"}',
    '{foo="bar", baz!="quux", derp="wat"}',
    '{foo="bar", baz!~".*quux.*", derp="wat"}',
    '{foo="bar", instance=~"some-api.*"}',
    '{foo=""}',
    '{foo="bar,quux", job="job1"}',
    '{foo = "bar", dings != "bums", }',
    "foo=bar,dings!=bums",
    '{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}',
    'statuscode=~"5.."',
    "tricky=~~~",
    'trickier==\\\\=\\=\\"',
    'contains_quote != "\\"" , contains_comma !~ "foo,bar" , ',
    "job=",
    'job="value',
    'job=value"',
    'trickier==\\\\=\\=\\""',
    'contains_unescaped_quote = foo"bar',
    '{invalid-name = "valid label"}',
    '{foo=~"invalid[regexp"}',
    '"{foo=\\"bar"}',
    '"foo=\\"bar"',
    '"foo=\\"bar\\""',
    '"foo=\\"bar\\"',
    '"{foo=\\"bar\\"}"',
    '"foo="bar""',
]
# Inputs the issue found rxsight getting wrong, and RE2 specifics.
EXTRA_PARSE_INPUTS = [
    'reason=~"(?i)late.*"',
    'a="x",b="y"',
    "owner='pharmacy'",
    'note="line1\\nline2"',
    'site="abc',
    'site=="x"',
    'x=~"(?=y)"',
    'x=~"a\\Z"',
    'x=~"(a)\\1"',
    'x=~"[[:alpha:]]+"',
    'x=~"\\d+"',
    "name:with:colons=v",
    "  spaced   =   value  ",
    'x=~"a{2,3}"',
    'x=~"\\pL+"',
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def labelsets() -> list[dict[str, str]]:
    """~100 label sets: targeted cases for each route, then a seeded mix."""
    targeted: list[dict[str, str]] = [
        {"alertname": "x", "severity": "critical", "family": "sla_breach"},
        {"alertname": "x", "reason": "LATE_delivery", "family": "late_delivery"},
        {"alertname": "x", "reason": "late", "severity": "critical"},
        {"alertname": "x", "reason": "latex"},
        {"alertname": "x", "reason": "on_time_late"},
        {"family": "unmatched_invoice", "owner": "accounts-payable", "site": "mercy-12"},
        {"family": "unmatched_invoice", "owner": "accounts-payable", "site": "mercy-\u0663"},
        {"family": "unmatched_invoice", "owner": "accounts-payable", "site": "lakeside"},
        {"family": "unmatched_invoice", "owner": "accounts-payable", "site": "caf\u00e9"},
        {"family": "unmatched_invoice", "owner": "accounts-payable", "site": "SITE-A"},
        {"family": "unmatched_invoice", "owner": "accounts-payable"},
        {"family": "unmatched_invoice", "owner": "accounts-payable,owner=x"},
        {"owner": "'pharmacy'", "site": "lakeside"},
        {"owner": "pharmacy", "site": "lakeside"},
        {"owner": "pharmacy", "site": "river"},
        {"owner": "pharmacy", "site": "riverside"},
        {"owner": "pharmacy", "site": "Lakeside"},
        {"owner": "pharmacy", "tier": "3", "flow": "erp.orders"},
        {"owner": "pharmacy", "tier": "3", "flow": "erp.legacy"},
        {"owner": "pharmacy", "tier": "1", "flow": "erp.orders"},
        {"owner": "pharmacy", "tier": "12", "flow": "erpXorders"},
        {"owner": "pharmacy", "flow": "erp.\n"},
        {"note": "line1\nline2"},
        {"note": "line1\\nline2"},
        {"path": "C:\\share", "quote": 'say "hi"'},
        {"path": "C:\\\\share", "quote": 'say "hi"'},
        {"path": "C:\\share", "quote": "say hi"},
        {"family": "sla_breach", "tier": "gold"},
        {"family": "sla_breach", "tier": "\u00e9"},
        {"family": "sla_breach", "tier": "t-1"},
        {"family": "sla_breach", "tier": ""},
        {"family": "sla_breach", "code": "503"},
        {"family": "silence", "code": "5xx"},
        {"family": "sla_breachX", "code": "500"},
        {"family": "master_data"},
        {"family": "master_data", "site": "x"},
        {"domain": "finance", "severity": "warning"},
        {"domain": "pharmacy", "severity": "warning"},
        {"domain": "pharmacy", "severity": "info", "alertname": "a"},
        {"domain": "pharmacy", "severity": "debug"},
        {"domain": "pharmacy", "severity": "INFO", "alertname": "b"},
        {"domain": "pharmacy"},
        {"domain": "supply", "severity": "info"},
        {"alertname": "only"},
        {"site": "mercy-1", "site2": "x", "family": "a"},
        # group_by '...': LabelSet.String() ordering when one name prefixes another.
        {"owner": "pharmacy", "site": "river", "tier": "1", "tier2": "x", "tier_b": "y"},
        {"owner": "pharmacy", "site": "lake\nside", "note": 'a "q" \\ \t \u00e9 \u200b'},
    ]
    rng = random.Random(23)
    pools = {
        "alertname": ["unmatched_invoice", "sla_breach", "open_replenishment", "late_delivery"],
        "family": ["unmatched_invoice", "sla_breach", "open_replenishment", "master_data"],
        "reason": ["price_variance", "late", "Late_Receipt", "no_receipt", "LATENCY"],
        "site": ["mercy-1", "mercy-22", "lakeside", "river", "SITE-B", "caf\u00e9"],
        "owner": ["accounts-payable", "pharmacy", "supply", "integration"],
        "severity": ["critical", "warning", "info"],
        "flow": ["erp.orders", "erp.legacy", "edi.855", "pharmacy.cabinet"],
        "tier": ["1", "2", "3", "gold"],
        "domain": ["finance", "supply", "pharmacy", "integration"],
    }
    mixed = []
    while len(mixed) < 60:
        labels = {k: rng.choice(v) for k, v in pools.items() if rng.random() < 0.75}
        if labels and labels not in mixed and labels not in targeted:
            mixed.append(labels)
    return targeted + mixed


def openmetrics_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def amtool_routes(config: Path, labels: dict[str, str]) -> list[str]:
    args = [f'{k}="{openmetrics_escape(v)}"' for k, v in sorted(labels.items())]
    out = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return out.split(",") if out else []


def amtool_parse(text: str) -> dict[str, Any]:
    """What Alertmanager makes of one matcher string in a route's `matchers:`."""
    doc = {
        "route": {"receiver": "r", "routes": [{"receiver": "r", "matchers": [text]}]},
        "receivers": [{"name": "r"}],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump(doc, f, allow_unicode=True)
        f.flush()
        run = subprocess.run(
            ["amtool", "config", "routes", "show", f"--config.file={f.name}"],
            capture_output=True,
            text=True,
        )
    if run.returncode != 0:
        return {"input": text, "error": run.stderr.strip().splitlines()[-1]}
    line = [ln for ln in run.stdout.splitlines() if "receiver: r" in ln][-1]
    shown = line.split("\u2500\u2500 ", 1)[1].rsplit("  receiver:", 1)[0].strip()
    return {"input": text, "route_key_part": shown}


def version() -> str:
    run = subprocess.run(["amtool", "--version"], capture_output=True, text=True, check=True)
    return (run.stdout or run.stderr).splitlines()[0].strip()


def record_payloads(sets: list[dict[str, str]]) -> dict[str, Any]:
    """Post every label set as an alert to a real Alertmanager on loopback, capture what its
    webhooks receive."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        raise SystemExit("prometheus-alertmanager is not installed")
    captured: list[dict[str, Any]] = []
    lock = threading.Lock()

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["content-length"]))
            with lock:
                captured.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook_port = free_port()
    capture = ThreadingHTTPServer(("127.0.0.1", hook_port), Capture)
    threading.Thread(target=capture.serve_forever, daemon=True).start()
    doc = yaml.safe_load(CONFIG.read_text())
    for receiver in doc["receivers"]:
        receiver["webhook_configs"] = [
            {"url": f"http://127.0.0.1:{hook_port}/{receiver['name']}", "send_resolved": False}
        ]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "am.yml"
        cfg.write_text(yaml.safe_dump(doc, allow_unicode=True))
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={cfg}",
                f"--storage.path={tmp}/data",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/-/ready", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            alerts = [{"labels": labels} for labels in sets]
            req = urllib.request.Request(
                base + "/api/v2/alerts",
                data=json.dumps(alerts).encode(),
                headers={"content-type": "application/json"},
                method="POST",
            )
            urllib.request.urlopen(req, timeout=10)
            # group_wait is 1s; wait until nothing new arrives for 10 s.
            seen, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < 10:
                time.sleep(0.2)
                with lock:
                    if len(captured) != seen:
                        seen, quiet_since = len(captured), time.monotonic()
        finally:
            proc.terminate()
            proc.wait(10)
            capture.shutdown()
    return {
        "source": f"{version()} (prometheus-alertmanager binary), webhook payloads captured "
        "on loopback by tests/unit/alerts/am025/record.py",
        "payloads": [
            {
                "receiver": p["receiver"],
                "groupKey": p["groupKey"],
                "groupLabels": p["groupLabels"],
                "alerts": [
                    {"labels": a["labels"], "fingerprint": a["fingerprint"]} for a in p["alerts"]
                ],
            }
            for p in sorted(captured, key=lambda p: (p["receiver"], p["groupKey"]))
        ],
    }


def main() -> int:
    sets = labelsets()
    (HERE / "labelsets.json").write_text(json.dumps(sets, indent=1, ensure_ascii=False) + "\n")
    routes = {
        "source": version(),
        "command": 'amtool config routes test --config.file=alertmanager.yml LABEL="VALUE"...',
        "cases": [{"labels": s, "receivers": amtool_routes(CONFIG, s)} for s in sets],
    }
    (HERE / "routes.json").write_text(json.dumps(routes, indent=1, ensure_ascii=False) + "\n")
    parse = {
        "source": version(),
        "command": "amtool config routes show (one route whose matchers: is [INPUT])",
        "inputs_from": "prometheus/alertmanager pkg/labels/parse_test.go (TestMatchers), "
        "then inputs named in rxsight issue 23",
        "cases": [amtool_parse(t) for t in PARSE_INPUTS + EXTRA_PARSE_INPUTS],
    }
    (HERE / "parse.json").write_text(json.dumps(parse, indent=1, ensure_ascii=False) + "\n")
    payloads = record_payloads(sets)
    (HERE / "payloads.json").write_text(json.dumps(payloads, indent=1, ensure_ascii=False) + "\n")
    print(
        f"{len(sets)} label sets, {len(parse['cases'])} parse inputs, "
        f"{len(payloads['payloads'])} payloads recorded with {version()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
