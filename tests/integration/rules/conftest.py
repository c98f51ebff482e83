"""The rules-over-HTTP server, one per test module that asks for `srv` (modules that need
another configuration define their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.rules.api_kit import rules_api_server
from tests.support import Server


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    yield from rules_api_server()
