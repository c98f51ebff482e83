"""A real Prometheus (Debian's `prometheus`, installed by `make prometheus`) in a subprocess,
scraping loopback targets into its own temporary storage."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support import free_port, start_listening, stop_process


class Prometheus:
    def __init__(self, data_dir: Path, targets: list[str], scrape_interval: str = "1s") -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = self.data_dir / "prometheus.yml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": scrape_interval},
                    "scrape_configs": [
                        {"job_name": "rxsight", "static_configs": [{"targets": targets}]}
                    ],
                }
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "prometheus.log"

    @staticmethod
    def available() -> bool:
        return shutil.which("prometheus") is not None

    def start(self, timeout: float = 60) -> Prometheus:
        self.proc = start_listening(
            [
                "prometheus",
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self.log_path,
            f"http://127.0.0.1:{self.port}/-/ready",
            timeout,
        )
        return self

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant query's result (vector or scalar), raising on a PromQL error."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}
        )
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise ValueError(f"{expr}: {exc.read().decode()}") from None
        data = body["data"]
        return data["result"] if data["resultType"] == "vector" else [data["result"]]

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
