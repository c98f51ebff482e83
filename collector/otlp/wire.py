"""An OTLP request body read from protobuf or OTLP/JSON, and what refusing it says."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from collector.events import UnsupportedMediaType


class OtlpDecodeError(ValueError):
    """The whole request is unreadable (not one bad item): answer 400."""


@dataclass
class Rejections:
    count: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.messages) < 10:
            self.messages.append(message)

    @property
    def summary(self) -> str:
        if not self.count:
            return ""
        more = (
            f" (+{self.count - len(self.messages)} more)" if self.count > len(self.messages) else ""
        )
        return "; ".join(self.messages) + more


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def parse_request(body: bytes, content_type: str, message: type[Message]) -> Message:
    ctype = media_type(content_type)
    msg = message()
    if ctype == "application/x-protobuf":
        try:
            msg.ParseFromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise OtlpDecodeError(
                f"body: not a valid {message.__name__} protobuf ({exc})"
            ) from None
        return msg
    if ctype == "application/json":
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise OtlpDecodeError(f"body: malformed JSON ({exc})") from None
        if not isinstance(data, dict):
            raise OtlpDecodeError("body: an OTLP/JSON request must be a JSON object")
        _hex_ids_to_base64(data)
        try:
            json_format.ParseDict(data, msg, ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
            raise OtlpDecodeError(f"body: not a valid OTLP/JSON request: {exc}") from None
        return msg
    raise UnsupportedMediaType(
        f"Content-Type: {content_type or '(none)'} is not supported; "
        "use application/x-protobuf or application/json"
    )


_ID_KEYS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def _hex_ids_to_base64(node: Any, depth: int = 0) -> None:
    # OTLP/JSON writes IDs as hex, protobuf's JSON mapping expects base64 for bytes fields.
    if depth > 64:
        raise OtlpDecodeError("body: JSON nested too deeply")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    raw = b"\xff"  # wrong length: the item is rejected on its own, by name
                node[key] = base64.b64encode(raw).decode()
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)
