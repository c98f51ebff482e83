"""App assembly: the store, every stage and its routers in one FastAPI app (DESIGN section 7)."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry
from pydantic import Field

import alerts
import metrics
import rules
import web.api
import web.console
from collector.api_models import events_request_body
from collector.grpc_server import start_grpc
from collector.http import router as ingest_router
from collector.service import Collector
from metrics.api import router as kpis_router
from metrics.http import router as metrics_router
from rxsight import __version__, audit, openapi
from rxsight.auth import Authenticator
from rxsight.authz import Refused
from rxsight.config import Settings
from rxsight.logs import RequestContext
from rxsight.malloc import collect_less_often
from rxsight.runtime import Runtime
from rxsight.store import Store
from rxsight.store.migrate import migrate

log = logging.getLogger(__name__)


class DataDirBusy(Exception):
    """Another rxsight process holds this data directory (chDB: one process per directory)."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "rxsight.lock", "a+")  # noqa: SIM115 - held for the process life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip()
        handle.close()
        raise DataDirBusy(
            f"{data_dir} is in use by another rxsight process ({owner or 'pid unknown'}); "
            "use its HTTP API, or stop it first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


class Health(openapi.ApiModel):
    status: str


class Readiness(openapi.ApiModel):
    status: str = Field(description="ready, not ready, or starting")
    checks: dict[str, bool] | None = Field(None, description="store reachable, writes succeeding")
    spool_bytes: int | None = None
    last_error: str | None = Field(None, description="the writer's last error, if any")
    leases: dict[str, bool] | None = Field(
        None, description="the roles this process holds among those sharing the store"
    )


# The stages that keep state in the store, each in <stage>/migrations (DESIGN 2).
STAGES_WITH_SCHEMA = ("rules", "alerts", "metrics", "web")


def migrate_store(store: Store) -> list[str]:
    """The kernel's migrations and every stage's, in one ordered sequence."""
    return migrate(store, STAGES_WITH_SCHEMA)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lock = lock_data_dir(settings.data_dir) if settings.embedded else None
        store = Store(settings.dsn, settings.database, settings.cluster)
        migrate_store(store)
        audit.start_chain(store)
        retention = settings.config.retention
        store.apply_retention(retention.traces_days, retention.events_days)
        registry = CollectorRegistry()
        runtime = Runtime(
            settings=settings, store=store, registry=registry, auth=Authenticator(settings, store)
        )
        collector = Collector(settings, store, registry, runtime.stored.publish)
        runtime.collector = collector
        runtime.rules = rules.build(runtime)
        runtime.alerts = alerts.build(runtime)
        runtime.metrics = metrics.build(runtime)
        services = runtime.services()
        app.state.runtime = runtime
        app.state.settings = settings
        app.state.store = store
        app.state.registry = registry
        app.state.auth = runtime.auth
        app.state.collector = collector
        for service in services:
            service.start()
        grpc_server = None
        if settings.grpc_port:
            grpc_server = start_grpc(
                collector,
                runtime.auth,
                settings.host,
                settings.grpc_port,
                settings.config.ingest.max_request_bytes,
            )
        collect_less_often()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            if grpc_server is not None:
                grpc_server.stop(grace=2).wait(3)
            for service in reversed(services):
                try:
                    service.stop()
                except Exception:  # noqa: BLE001 - stop the others anyway
                    log.exception("stopping %s failed", type(service).__name__)
            store.close()
            if lock is not None:
                lock.close()

    # /docs and /redoc load Swagger UI and ReDoc from the fastapi-offline package, not a CDN.
    app = FastAPIOffline(
        title="rxsight",
        version=__version__,
        description="Integration observability for hospital pharmacy, supply chain and finance.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.short_operation_id,
    )
    described = {"ingestEvents": events_request_body}
    app.openapi = lambda: openapi.document(app, described)  # type: ignore[method-assign]
    app.state.ready = False
    app.add_middleware(RequestContext)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        # A stage's public function said no (rxsight.authz): the API answers as `enforce` does.
        return JSONResponse({"detail": exc.decision.reason}, status_code=exc.decision.status)

    app.include_router(ingest_router)
    app.include_router(web.api.router)
    app.include_router(rules.router)
    app.include_router(alerts.router)
    app.include_router(kpis_router)
    app.include_router(metrics_router)
    app.include_router(web.console.router)
    web.console.mount_static(app)

    @app.get("/healthz", operation_id="getHealth", tags=["ops"], summary="The process is up")
    def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        operation_id="getReadiness",
        tags=["ops"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Starting, or not ready"}},
        summary="Ready: store reachable and writes succeeding",
    )
    def readyz(request: Request) -> Any:
        if not request.app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        store: Store = request.app.state.store
        collector: Collector = request.app.state.collector
        checks = {"store": store.ping(), "writer": collector.writer.healthy}
        ok = all(checks.values())
        body = {
            "status": "ready" if ok else "not ready",
            "checks": checks,
            "spool_bytes": collector.spool.depth_bytes,
        }
        if collector.writer.last_error:
            body["last_error"] = collector.writer.last_error
        # Which roles this process holds among those sharing the store (rxsight/lease.py).
        services = request.app.state.runtime.services()
        body["leases"] = {s.lease.name: s.lease.held for s in services if hasattr(s, "lease")}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app
