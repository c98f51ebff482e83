"""Ingest: OTLP (HTTP, gRPC) and business events, validated, scrubbed, spooled, batch-written."""

from collector.service import Collector, IngestResult, SpoolFull

__all__ = ["Collector", "IngestResult", "SpoolFull"]
