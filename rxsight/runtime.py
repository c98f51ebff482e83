"""What the app hands every stage at start: settings, store, metrics registry, auth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from rxsight.auth import Authenticator
from rxsight.config import Settings
from rxsight.store import Store
from rxsight.stored import StoredBatches


class Service(Protocol):
    """A stage's long-running part (writer, scheduler, dispatcher)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    store: Store
    registry: CollectorRegistry
    auth: Authenticator
    # Stage objects by name ("collector", "rules", "alerts"), for their public functions.
    stages: dict[str, Any] = field(default_factory=dict)
    # The collector's writer announces each stored batch here; stages that react to new
    # facts (the rules scheduler) listen.
    stored: StoredBatches = field(default_factory=StoredBatches)
