"""Log lines carry the IDs of the request, rule run or delivery they belong to."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextvars import copy_context

import pytest

from rxsight.logs import JsonFormatter, log_context


@pytest.fixture
def read_lines() -> Iterator[Callable[[], list[dict]]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_ids_of_the_enclosing_blocks_reach_every_line(
    read_lines: Callable[[], list[dict]],
) -> None:
    log = logging.getLogger("test.logs")
    with log_context(request_id="req-1"):
        log.info("outer")
        with log_context(rule_id="sla_breach", correlation_id=None):
            log.info("inner")
            log.info("one call names its own", extra={"rule_id": "other"})
        log.info("after")
    log.info("outside")
    # A thread run in a copy of the context carries it too (FastAPI's worker threads).
    with log_context(receiver="ap"):
        ctx = copy_context()
    worker = threading.Thread(target=ctx.run, args=(log.info, "in a thread"))
    worker.start()
    worker.join()
    ids = {
        line["msg"]: {k: line[k] for k in ("request_id", "rule_id", "receiver") if k in line}
        for line in read_lines()
    }
    assert ids == {
        "outer": {"request_id": "req-1"},
        "inner": {"request_id": "req-1", "rule_id": "sla_breach"},
        "one call names its own": {"request_id": "req-1", "rule_id": "other"},
        "after": {"request_id": "req-1"},
        "outside": {},
        "in a thread": {"receiver": "ap"},
    }


def test_an_unknown_key_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="rule"), log_context(rule="x"):
        pass
