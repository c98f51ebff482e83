"""/metrics scraped by a real Prometheus (Debian's `prometheus`): business series answer
PromQL; promtool finds the exposition clean; metrics.auth keeps other scrapers out."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from rxsight.passwords import hash_password
from tests.support import Server, free_port

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
SCRAPE_TOKEN = "scrape-token-0123456789abcdef"


def _send_spans(srv: Server, flow: str, n: int) -> None:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "edi-gateway", "integration.tier": "1"})
    )
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{srv.url}/v1/traces"))
    )
    tracer = provider.get_tracer("rxsight-tests")
    for _ in range(n):
        cid = f"c-{uuid.uuid4().hex[:10]}"
        with tracer.start_as_current_span(
            "send", attributes={"correlation.id": cid, "integration.flow": flow}
        ):
            time.sleep(0.001)
    provider.shutdown()


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    config = {
        "flows": {"asn-inbound": {"tier": 1}},
        "metrics": {
            "auth": {
                "bearer_token": SCRAPE_TOKEN,
                "basic": {"username": "grafana", "password_hash": hash_password("s3cret-pass")},
            },
            "flows_ttl_s": 0,
        },
    }
    srv = Server(config).start()
    try:
        _send_spans(srv, "asn-inbound", 25)
        yield srv
    finally:
        srv.cleanup()


def _metrics(srv: Server, **headers: str) -> tuple[int, str]:
    status, body = srv.request("GET", "/metrics", token=None, headers=headers)
    return status, body if isinstance(body, str) else body.decode()


def test_metrics_auth_bearer_and_basic(live: Server) -> None:
    status, _ = _metrics(live)
    assert status == 401
    assert _metrics(live, Authorization="Bearer wrong-token-0123456789")[0] == 401
    assert _metrics(live, Authorization=f"Bearer {SCRAPE_TOKEN}")[0] == 200
    good = base64.b64encode(b"grafana:s3cret-pass").decode()
    bad = base64.b64encode(b"grafana:guess").decode()
    assert _metrics(live, Authorization=f"Basic {good}")[0] == 200
    assert _metrics(live, Authorization=f"Basic {bad}")[0] == 401


def test_exposition_is_clean_and_carries_the_business_series(live: Server) -> None:
    def ready() -> str | None:
        text = _metrics(live, Authorization=f"Bearer {SCRAPE_TOKEN}")[1]
        return text if 'rxsight_flow_sla_ok{flow="asn-inbound",tier="1"}' in text else None

    body = live.wait_for(ready, timeout=20, interval=0.5)
    assert "rxsight_build_info{" in body
    assert "process_resident_memory_bytes" in body
    assert 'rxsight_flow_last_span_age_seconds{flow="asn-inbound",tier="1"}' in body
    assert "_created" not in body
    if PROMTOOL is None:
        pytest.skip("promtool (Debian prometheus) is not installed")
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0 and not checked.stdout.strip() and not checked.stderr.strip(), (
        checked.stdout + checked.stderr
    )


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian prometheus is not installed")
def test_a_real_prometheus_scrapes_and_answers_promql(live: Server, tmp_path: Path) -> None:
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {
                "job_name": "rxsight",
                "authorization": {"type": "Bearer", "credentials": SCRAPE_TOKEN},
                "static_configs": [{"targets": [live.url.removeprefix("http://")]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    assert PROMETHEUS is not None
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    query = 'rxsight_flow_sla_ok{job="rxsight",flow="asn-inbound"}'
    try:

        def answer() -> list | None:
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
                {"query": query}
            )
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    result = json.load(resp)["data"]["result"]
            except OSError:
                return None
            return result or None

        result = live.wait_for(answer, timeout=60, interval=1)
        assert result[0]["metric"]["tier"] == "1"
        assert result[0]["value"][1] in ("0", "1")
        assert _query(port, 'up{job="rxsight"}')[0]["value"][1] == "1"
    finally:
        proc.terminate()
        proc.wait(20)


def _query(port: int, promql: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)["data"]["result"]
