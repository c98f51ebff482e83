"""The embedded engine's allocator returns freed pages after 1 s, unless the operator chose."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import REPO

_PROBE = """
import re, sys, tempfile
from rxsight.malloc import embedded_engine_returns_freed_pages
embedded_engine_returns_freed_pages()
import clickhouse_connect
client = clickhouse_connect.get_client(dsn="chdb://" + tempfile.mkdtemp())
stats = client.query("SELECT * FROM system.jemalloc_stats").result_rows[0][0]
print(re.search(r"opt.dirty_decay_ms: (-?\\d+)", stats).group(1))
"""


def _decay_ms(**env: str) -> int:
    environment = {k: v for k, v in os.environ.items() if k != "JE_MALLOC_CONF"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**environment, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_chdb_returns_freed_pages_after_one_second():
    assert _decay_ms() == 1000


def test_an_operators_allocator_setting_is_kept():
    assert _decay_ms(JE_MALLOC_CONF="dirty_decay_ms:3000") == 3000
