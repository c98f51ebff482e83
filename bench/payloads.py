"""The ingest benchmark's requests: OTLP span requests and business-event batches, seeded."""

from __future__ import annotations

import json
import random
import time
import uuid
from decimal import Decimal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

FLOWS = [
    "erp-po-sync",
    "edi-850-outbound",
    "edi-856-inbound",
    "receiving-post",
    "ap-invoice",
    "gl-journal",
    "pharmacy-inventory",
    "supplier-portal",
]
SITES = ["mercy-main", "mercy-east", "northgate-clinic", "riverside"]


def span_requests(total: int, per_request: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    start = time.time_ns() - 3600 * 10**9
    out = []
    for r in range(total // per_request):
        req = ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        flow = FLOWS[r % len(FLOWS)]
        for key, value in (
            ("service.name", flow.split("-")[0]),
            ("integration.tier", "1"),
            ("deployment.environment", "prod"),
        ):
            kv = rs.resource.attributes.add()
            kv.key, kv.value.string_value = key, value
        ss = rs.scope_spans.add()
        ss.scope.name = "rxsight-bench"
        trace_id = uuid.uuid4().bytes
        for i in range(per_request):
            if i % 4 == 0:
                trace_id = rng.randbytes(16)
            span = ss.spans.add()
            span.trace_id = trace_id
            span.span_id = rng.randbytes(8)
            span.name = f"{flow}.{('receive', 'transform', 'post', 'ack')[i % 4]}"
            span.kind = 2
            t0 = start + (r * per_request + i) * 1_000_000
            span.start_time_unix_nano = t0
            span.end_time_unix_nano = t0 + rng.randint(2_000_000, 900_000_000)
            span.status.code = 2 if rng.random() < 0.01 else 1
            for key, value in (
                ("correlation.id", f"corr-{r:06d}-{i // 4:04d}"),
                ("integration.flow", flow),
                ("site", SITES[i % 4]),
                ("http.status_code", "200"),
                ("messaging.system", "edi"),
            ):
                kv = span.attributes.add()
                kv.key, kv.value.string_value = key, value
        out.append(req.SerializeToString())
    return out


def event_requests(total: int, per_request: int, seed: int = 2, first: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    base = time.time() - 86400
    out = []
    n = first
    for _ in range(total // per_request):
        batch = []
        for _ in range(per_request):
            t = base + (n - first) * 0.01
            batch.append(
                {
                    "event_id": f"ev-{n:09d}",
                    "event_type": ("po.created", "goods.received", "invoice.received")[n % 3],
                    "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z",
                    "correlation_id": f"corr-{n // 3:08d}",
                    "source_system": "erp",
                    "site": SITES[n % 4],
                    "supplier_id": f"SUP-{1000 + n % 40}",
                    "po_number": f"PO-{400000 + n // 3}",
                    # The key fields of goods.received and invoice.received (DESIGN 4).
                    **({"receipt_id": f"GR-{400000 + n // 3}"} if n % 3 == 1 else {}),
                    **({"invoice_number": f"INV-{400000 + n // 3}"} if n % 3 == 2 else {}),
                    "lines": [
                        {
                            "line_no": 1,
                            "item_id": f"NDC-{rng.randint(1000, 9999)}-01",
                            "quantity": rng.randint(1, 48),
                            "unit_price": str(Decimal(rng.randint(100, 90000)) / 100),
                        }
                    ],
                }
            )
            n += 1
        out.append(json.dumps(batch).encode())
    return out
