"""Lost acknowledgements: rxsight processed a request but the client never saw the answer,
so it sends the same batch again (as OTLP exporters and the event API's clients do). Every
batch ends acknowledged, nothing is lost, and nothing shows twice."""

from __future__ import annotations

import threading

from tests.reliability.faults import AnswerDroppingProxy, through
from tests.reliability.harness import (
    Generator,
    Tally,
    by_profile,
    settle_and_check,
)
from tests.support import Server

TOKEN = "lost-acks-admin-token-0123456789"
BATCHES = by_profile(short=24, long=400)
ATTEMPTS = 6


def test_batches_whose_answer_was_lost_are_retried_without_loss_or_duplicates():
    tally = Tally(f"lost acknowledgements, {BATCHES} batches")
    server = Server(admin_token=TOKEN).start()
    http_proxy = AnswerDroppingProxy(server.port, drop_every=3)
    grpc_proxy = AnswerDroppingProxy(server.grpc_port, http2=True, drop_every=3)
    gen = Generator(through(server, http_proxy, grpc_proxy), tally)
    unacknowledged: list[str] = []
    try:

        def work(w: int) -> None:
            for n in range(w, BATCHES, 4):
                cid = f"la-{n}"
                if not gen.send(Generator.KINDS[n % 4], cid, attempts=ATTEMPTS):
                    unacknowledged.append(cid)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        tally.add("answers dropped by the proxy", http_proxy.dropped + grpc_proxy.dropped)
        tally.add("batches never acknowledged", len(unacknowledged))
        settle_and_check(server, gen)
    finally:
        tally.report()
        http_proxy.close()
        grpc_proxy.close()
        server.cleanup()
    assert tally["answers dropped by the proxy"] > 0  # the fault happened
    assert unacknowledged == []
    assert tally["events acknowledged-lost"] == 0
    assert tally["spans acknowledged-lost"] == 0
    assert tally["events stored twice (raw)"] == 0
    assert tally["spans stored twice (raw)"] == 0  # a resent body is recognised
    assert tally["visible duplicates"] == 0
