"""Decode worker processes: each owns a pair of pipes, and a request goes straight to one."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.abc
import multiprocessing
import os
import queue
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from collector.decode import Decoded, Decoder
from rxsight.config import IngestConfig, RetentionConfig
from rxsight.malloc import collect_less_often, return_large_buffers

# A decoded request of 1,000 spans is about 400 KiB of Arrow. Through a pipe of the default
# 64 KiB it goes in a dozen writes, each waking the reader: 2.5 ms of CPU on the two sides,
# against 0.6 ms through a pipe of 1 MiB (Linux's limit for an unprivileged process).
_PIPE_BYTES = 1 << 20
# Decoding yields the CPU to the server's own threads, the writer among them. At equal
# priority, under a load the machine cannot keep up with, decoding took the larger share and
# accepted events piled up in the spool: the writer was still storing them 1.7 s after the
# last request was answered, on one core while the other idled. At +5 that tail was 0.6 s,
# and the events phases of bench/ingest.py kept 1.72 of the two cores busy instead of 1.63
# (spans: 0.4 s and 1.75 either way). A backlog also delays when accepted data is readable;
# clients feel the load as slower answers instead.
DECODE_NICENESS = 5


class WorkerUnavailable(Exception):
    """This pool cannot decode the request (it was closed, or a worker died): decode inline."""

    def __init__(self, message: str, *, died: bool = False, out_of_memory: bool = False) -> None:
        super().__init__(message)
        self.died = died
        self.out_of_memory = out_of_memory


class DecodeRefused(Exception):
    """What the worker's decoder raised (a body it refuses), carried out of the pool."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


class _Worker:
    def __init__(self, process: BaseProcess, requests: Connection, results: Connection) -> None:
        self.process = process
        self.requests = requests
        self.results = results

    def call(
        self, signal: str, body: bytes, content_type: str, sources: tuple[str, ...], principal: str
    ) -> Decoded:
        # The body and the payload travel as bytes of their own, not inside a pickle, so
        # neither is copied into or out of one.
        self.requests.send((signal, content_type, sources, principal))
        self.requests.send_bytes(body)
        kind, value, has_payload = self.results.recv()
        if kind == "raised":
            raise DecodeRefused(value)
        if has_payload:
            value.payload = self.results.recv_bytes()
        return value

    def stop(self, timeout_s: float) -> None:
        with contextlib.suppress(OSError):
            self.requests.send(None)
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1)
        self.requests.close()
        self.results.close()


class DecodePool:
    """`size` decode worker processes, started (and imported) before the constructor returns.

    decode() hands a request to an idle worker and waits for it; callers beyond the number of
    workers wait for one to be free. No thread sits in between, as one does in a
    ProcessPoolExecutor."""

    def __init__(
        self,
        size: int,
        config: IngestConfig,
        start_timeout_s: float = 120,
        retention: RetentionConfig | None = None,
    ) -> None:
        # spawn, not fork: the server holds chDB and threads that must not be forked.
        context = multiprocessing.get_context("spawn")
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        self._workers: list[_Worker] = []
        self._closed = False
        self._lock = threading.Lock()
        config_json = config.model_dump_json()
        retention_json = (retention or RetentionConfig()).model_dump_json()
        try:
            for _ in range(size):
                self._workers.append(_start(context, config_json, retention_json))
            # Every worker imports for a second or two; all of them are ready before any work.
            for worker in self._workers:
                if not worker.results.poll(start_timeout_s) or worker.results.recv() != "ready":
                    raise RuntimeError("a decode worker did not start")
        except BaseException:
            self.close(timeout_s=1)
            raise
        for worker in self._workers:
            self._idle.put(worker)

    def decode(
        self, signal: str, body: bytes, content_type: str, sources: tuple[str, ...], principal: str
    ) -> Decoded:
        """As Decoder.decode, in a worker; raises WorkerUnavailable when none can take it."""
        worker = self._idle.get()
        if worker is None:  # closed: pass the word on to the next waiter
            self._idle.put(None)
            raise WorkerUnavailable("the decode workers were stopped")
        try:
            decoded = worker.call(signal, body, content_type, sources, principal)
        except DecodeRefused as refused:
            self._idle.put(worker)  # a refused body: the worker is fine
            raise refused.error from None
        except MemoryError:
            # Out of memory part-way through a message: the pipe is out of step, so the
            # worker goes (the pool is replaced when load returns); the request is refused
            # as retryable, not decoded here, where memory is as short.
            worker.process.kill()
            raise WorkerUnavailable(
                "out of memory while talking to a decode worker", died=True, out_of_memory=True
            ) from None
        except BaseException as exc:
            # The worker exited, or the conversation broke off (an error mid-message, an
            # interrupt): what comes next on its pipes cannot be trusted.
            worker.process.kill()
            raise WorkerUnavailable(f"a decode worker failed: {exc!r}", died=True) from None
        self._idle.put(worker)
        return decoded

    def close(self, timeout_s: float = 10.0) -> None:
        """Stops every worker once it has finished what it is decoding."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + timeout_s
        stopped: set[int] = set()
        while len(stopped) < len(self._workers):
            alive = [w for w in self._workers if id(w) not in stopped and w.process.is_alive()]
            if not alive:
                break
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if worker is not None:
                worker.stop(timeout_s=max(0.0, deadline - time.monotonic()))
                stopped.add(id(worker))
        for worker in self._workers:  # busy past the deadline, or dead
            if id(worker) not in stopped:
                worker.stop(timeout_s=0)
        self._idle.put(None)


def _start(context: Any, config_json: str, retention_json: str) -> _Worker:
    requests_out, requests_in = context.Pipe(duplex=False)
    results_out, results_in = context.Pipe(duplex=False)
    for end in (requests_in, results_in):
        with contextlib.suppress(OSError):
            fcntl.fcntl(end.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    process = context.Process(
        target=_serve,
        args=(requests_out, results_in, config_json, retention_json),
        name="rxsight-decode",
        daemon=True,
    )
    process.start()
    # The worker has its own copies now. Holding none of its ends here means it reads
    # end-of-file as soon as this process is gone, even after kill -9.
    requests_out.close()
    results_in.close()
    return _Worker(process, requests_in, results_out)


# ---------------------------------------------------------------- worker process side
class _WithoutPandas(importlib.abc.MetaPathFinder):
    """pyarrow imports pandas, when it is installed, at its first conversion of Python values,
    only to look for pandas types among them: 50 MiB in each worker, for values that are never
    pandas here. A worker finds no pandas, and pyarrow goes on without it."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"{fullname} is not used by decode workers", name=fullname)


def _serve(
    requests: Connection, results: Connection, config_json: str, retention_json: str
) -> None:
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _WithoutPandas())
    return_large_buffers()
    with contextlib.suppress(OSError):
        os.nice(DECODE_NICENESS)
    decoder = Decoder(
        IngestConfig.model_validate_json(config_json),
        RetentionConfig.model_validate_json(retention_json),
    )
    collect_less_often()
    try:
        results.send("ready")
        while (head := requests.recv()) is not None:
            signal, content_type, sources, principal = head
            body = requests.recv_bytes()
            try:
                decoded = decoder.decode(signal, body, content_type, sources, principal)
            except Exception as exc:  # noqa: BLE001 - the server raises it, as if decoded there
                try:
                    results.send(("raised", exc, False))
                except Exception:  # noqa: BLE001 - an exception that cannot be pickled
                    results.send(("raised", RuntimeError(f"decode failed: {exc!r}"), False))
                continue
            payload, decoded.payload = decoded.payload, None
            results.send(("decoded", decoded, payload is not None))
            if payload is not None:
                results.send_bytes(payload)
    except (EOFError, OSError):
        pass  # the server is gone: so is this worker
