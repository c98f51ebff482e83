"""The ClickHouse HTTP interface, served from chDB in a subprocess: the tests' ClickHouse server.

No ClickHouse server can be installed here, so `http://` DSNs point at this process. It runs
the same engine (chDB is ClickHouse) behind the parts of the HTTP interface clickhouse-connect's
HTTP transport uses, so the real driver exercises its server path: query text in the body or
the `query` parameter, `param_*` bound parameters in the URL or a multipart form, settings as
URL parameters, `database`, `default_format`, inserts whose data follows the statement or is
the whole body (any format the engine reads, `Content-Encoding` lz4/zstd/gzip/deflate/br),
compressed responses (`enable_http_compression` + `Accept-Encoding`), errors as ClickHouse
sends them (`X-ClickHouse-Exception-Code`, `Code: N. DB::Exception: ...`), `/ping`, and Basic
or X-ClickHouse-User/Key credentials when a password is set.

Run: python -m tests.clickhouse_http --path DIR --port N [--user U --password P]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import tempfile
import threading
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import lz4.frame
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

try:
    from compression import zstd
except ImportError:  # Python < 3.14: the backport clickhouse-connect depends on
    from backports import zstd

# URL parameters the HTTP interface itself consumes; every other parameter is a query setting.
TRANSPORT_PARAMETERS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "query_id",
        "user",
        "password",
        "quota_key",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "enable_http_compression",
        "client_protocol_version",
        "wait_end_of_query",
        "buffer_size",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "cancel_http_readonly_queries_on_client_close",
        "role",
    }
)

RESPONSE_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "lz4": lz4.frame.compress,
    "zstd": zstd.compress,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
}

_INSERT = re.compile(
    rb"^\s*INSERT\s+INTO\s+(?P<target>.+?)\s+FORMAT\s+(?P<fmt>\w+)[ \t]*\r?\n?", re.I | re.S
)
_VALUES = re.compile(r"\bVALUES\b", re.I)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ERROR_CODE = re.compile(r"Code: (\d+)\.")


class ClickHouseError(Exception):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        match = _ERROR_CODE.search(message)
        self.code = match.group(1) if match else "1001"
        self.status = status


class Engine:
    """One chDB connection for the process (chDB binds one data directory per process); the
    HTTP interface's requests are independent, so the session's database and settings are set
    to each request's before it runs, one request at a time."""

    def __init__(self, path: Path) -> None:
        import chdb

        self._conn = chdb.connect(str(path))
        self._lock = threading.Lock()
        self._database = "default"
        self._settings: dict[str, str] = {}
        self._spill = Path(tempfile.mkdtemp(prefix="clickhouse-http-"))

    def run(
        self,
        sql: str | bytes,
        fmt: str,
        params: dict[str, str],
        settings: dict[str, str],
        database: str,
    ) -> bytes:
        with self._lock:
            self._prepare(database, settings)
            return self._query(sql, fmt, params)

    def insert(
        self, target: str, fmt: str, data: bytes, settings: dict[str, str], database: str
    ) -> None:
        """INSERT ... FORMAT fmt with its data: through a file, which is how the engine takes
        data that is not SQL."""
        path = self._spill / f"{uuid.uuid4().hex}.{fmt.lower()}"
        path.write_bytes(data)
        sql = f"INSERT INTO {target} FROM INFILE '{path}' FORMAT {fmt}"
        try:
            with self._lock:
                self._prepare(database, settings)
                self._query(sql, "TabSeparated", {})
        finally:
            path.unlink(missing_ok=True)

    def _prepare(self, database: str, settings: dict[str, str]) -> None:
        if database != self._database:
            self._query(f"USE `{database.replace('`', '')}`", "TabSeparated", {})
            self._database = database
        for name in [n for n in self._settings if n not in settings]:
            self._query(f"SET {name} = DEFAULT", "TabSeparated", {})
            del self._settings[name]
        for name, value in settings.items():
            if self._settings.get(name) != value:
                if not _SETTING_NAME.match(name):
                    raise ClickHouseError(
                        f"Code: 115. DB::Exception: Unknown setting {name!r}", 400
                    )
                quoted = value.replace("\\", "\\\\").replace("'", "\\'")
                self._query(f"SET {name} = '{quoted}'", "TabSeparated", {})
                self._settings[name] = value

    def _query(self, sql: str | bytes, fmt: str, params: dict[str, str]) -> bytes:
        try:
            result = self._conn.query(sql, fmt, params=params)
        except Exception as exc:  # noqa: BLE001 - chDB raises its own error types
            message = str(exc)
            raise ClickHouseError(
                message[message.find("Code: ") :] if "Code: " in message else message
            ) from None
        return result.bytes()


def build_app(engine: Engine, user: str = "default", password: str | None = None) -> Starlette:
    async def ping(request: Request) -> Response:
        return PlainTextResponse("Ok.\n")

    async def handle(request: Request) -> Response:
        try:
            return await _handle(request, engine, user, password)
        except ClickHouseError as exc:
            return PlainTextResponse(
                f"{exc}\n",
                status_code=exc.status,
                headers={"X-ClickHouse-Exception-Code": exc.code},
            )

    return Starlette(routes=[Route("/ping", ping), Route("/", handle, methods=["GET", "POST"])])


async def _handle(request: Request, engine: Engine, user: str, password: str | None) -> Response:
    _authenticate(request, user, password)
    url = dict(request.query_params)
    query_id = url.get("query_id") or str(uuid.uuid4())
    fields = dict(url)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
        body = b""
    if url.get("compress") == "1" or url.get("decompress") == "1":
        raise ClickHouseError(
            "Code: 1001. this test server does not speak the native-compressed "
            "HTTP format (compress/decompress=1)",
            400,
        )
    database = fields.get("database") or request.headers.get("X-ClickHouse-Database") or "default"
    settings = {
        k: v
        for k, v in fields.items()
        if k not in TRANSPORT_PARAMETERS and not k.startswith("param_")
    }
    params = {k[len("param_") :]: v for k, v in fields.items() if k.startswith("param_")}
    head = fields.get("query", "")
    encoding = request.headers.get("content-encoding")

    if body and encoding and encoding != "identity":
        body = _decompress_request(body, encoding)
    insert = _INSERT.match(head.encode() if head else body[:65536])
    if insert and not _VALUES.search(insert.group("target").decode(errors="replace")):
        data = body if head else body[insert.end() :]
        await run_in_threadpool(
            engine.insert,
            insert.group("target").decode(),
            insert.group("fmt").decode(),
            data,
            settings,
            database,
        )
        return _respond(request, url, b"", None, query_id)

    sql: str | bytes = (head + ("\n" if head and body else "")).encode() + body if body else head
    if not sql:
        raise ClickHouseError("Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)", 400)
    text = sql.decode(errors="replace") if isinstance(sql, bytes) else sql
    trailing = _TRAILING_FORMAT.search(text)
    fmt = trailing.group(1) if trailing else fields.get("default_format", "TabSeparated")
    result = await run_in_threadpool(engine.run, sql, fmt, params, settings, database)
    return _respond(request, url, result, fmt, query_id)


def _authenticate(request: Request, user: str, password: str | None) -> None:
    if password is None:
        return
    given_user, given_password = (
        request.headers.get("X-ClickHouse-User"),
        request.headers.get("X-ClickHouse-Key", ""),
    )
    auth = request.headers.get("authorization", "")
    if auth.startswith("Basic "):
        given_user, _, given_password = base64.b64decode(auth[6:]).decode().partition(":")
    if (given_user or request.query_params.get("user")) != user or (
        given_password or request.query_params.get("password", "")
    ) != password:
        raise ClickHouseError(
            f"Code: 516. DB::Exception: {given_user or 'default'}: Authentication failed: password "
            "is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)",
            401,
        )


def _lz4_frames(body: bytes) -> bytes:
    """clickhouse-connect compresses each block of an insert as an LZ4 frame of its own."""
    out = []
    while body:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        out.append(decompressor.decompress(body))
        body = decompressor.unused_data if decompressor.eof else b""
    return b"".join(out)


def _decompress_request(body: bytes, encoding: str) -> bytes:
    decoders = {
        "lz4": _lz4_frames,
        "zstd": zstd.decompress,
        "gzip": gzip.decompress,
        "deflate": zlib.decompress,
    }
    if encoding not in decoders:
        raise ClickHouseError(f"Code: 1001. Unsupported Content-Encoding {encoding}", 400)
    return decoders[encoding](body)


def _respond(
    request: Request, url: dict[str, str], result: bytes, fmt: str | None, query_id: str
) -> Response:
    headers = {
        "X-ClickHouse-Query-Id": query_id,
        "X-ClickHouse-Timezone": "UTC",
        "X-ClickHouse-Summary": json.dumps(
            {"read_rows": "0", "read_bytes": "0", "written_rows": "0", "written_bytes": "0"}
        ),
    }
    if fmt:
        headers["X-ClickHouse-Format"] = fmt
    if url.get("enable_http_compression") == "1":
        wanted = [e.strip() for e in request.headers.get("accept-encoding", "").split(",")]
        chosen = next((e for e in wanted if e in RESPONSE_ENCODERS), None)
        if chosen:
            result = RESPONSE_ENCODERS[chosen](result)
            headers["Content-Encoding"] = chosen
    return Response(result, media_type="application/octet-stream", headers=headers)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, type=Path, help="chDB data directory")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--user", default="default")
    parser.add_argument("--password", default=os.environ.get("CLICKHOUSE_HTTP_PASSWORD"))
    args = parser.parse_args(argv)
    app = build_app(Engine(args.path), args.user, args.password)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
