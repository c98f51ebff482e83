"""What the app hands every stage at start: settings, store, metrics registry, auth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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
    # Each stage's long-running part (None: not part of this process). A stage's public
    # module reads its own from here; nobody else looks inside.
    collector: Service | None = None
    rules: Service | None = None
    alerts: Service | None = None
    metrics: Service | None = None
    # The collector's writer announces each stored batch here; stages that react to new
    # facts (the rules scheduler) listen.
    stored: StoredBatches = field(default_factory=StoredBatches)

    def services(self) -> list[Service]:
        """The long-running parts this process runs, in start order."""
        every = (self.collector, self.rules, self.alerts, self.metrics)
        return [s for s in every if s is not None]
