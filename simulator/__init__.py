"""Simulator: a multi-site health system's integration traffic through the real OpenTelemetry SDK.

`python -m simulator --url URL` drives any rxsight; `rxsight demo` runs one with it.
"""
