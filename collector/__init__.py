"""Ingest: OTLP (HTTP, gRPC) and business events, validated, scrubbed, spooled, batch-written.

The pipeline is `collector.service.Collector`. Nothing is imported here: the decode worker
processes import `collector.decode` alone, and each import here would be paid in every one.
"""
