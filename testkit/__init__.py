"""Helpers tests and benchmarks share: a real server in a subprocess, a webhook receiver."""
