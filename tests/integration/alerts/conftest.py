"""What the alerts stage tests drive: a real loopback webhook receiver, and in-process alerts
stages closed after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.receiver import Receiver
from tests.integration.alerts.kit import Stage, config


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rcv = Receiver().start()
    try:
        yield rcv
    finally:
        rcv.stop()


@pytest.fixture
def stages() -> Iterator[list[Stage]]:
    made: list[Stage] = []
    yield made
    for stage in made:
        stage.close()


@pytest.fixture
def ap_stage(receiver: Receiver) -> Iterator[Stage]:
    """One stage routing every alert to the receiver's /ap, grouped by site."""
    made = Stage(config({"ap": [receiver.url("/ap")]}, {"receiver": "ap", "group_by": ["site"]}))
    try:
        yield made
    finally:
        made.close()
