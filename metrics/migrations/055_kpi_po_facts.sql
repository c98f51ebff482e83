-- Metrics stage: each PO's supplier KPI facts, kept so that a KPI query aggregates one row
-- per PO instead of judging every PO again from its lines, acknowledgements and receipts.
-- A row holds what the PO's facts say once all of them count (as of any instant at or after
-- last_at, its latest fact). A query as of T takes the row when last_at <= T and no fact of
-- the PO arrived after the watermark of the refresh that wrote it; every other PO it judges
-- from its facts as of T (kpi_po_facts_as_of), so the answer is exactly the judgment's.
CREATE TABLE IF NOT EXISTS kpi_po_facts (
    po_number String,
    supplier_id LowCardinality(String),
    -- Counted by the supplier KPIs: not rejected by its latest acknowledgement, a due known.
    counted UInt8,
    due DateTime64(3, 'UTC'),
    on_time UInt8,
    ordered Decimal(38, 4),
    capped_received Decimal(38, 4),
    last_at DateTime64(3, 'UTC'),
    refreshed_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY po_number;

-- Up to when the facts of kpi_po_facts were read (the arrival clock of the rules' fact
-- tables, less a margin for inserts not yet visible): POs with facts arriving later are
-- judged from their facts again until the next refresh.
CREATE TABLE IF NOT EXISTS kpi_facts_watermarks (
    name String,
    watermark DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(watermark)
ORDER BY name;

-- The facts of every PO as of {as_of}: the kept row where it holds, else judged from the
-- PO's facts (facts arrived after the refresh watermark {since}, or one dated after as_of).
-- {with_kept} = 0: only the POs judged (what a refresh writes; since at the epoch: all).
CREATE VIEW IF NOT EXISTS kpi_po_facts_as_of AS
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    {since:DateTime64(3, 'UTC')} AS S,
    touched AS (
        SELECT po_number FROM rules_po_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_po_acks WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_receipt_lines WHERE received_at > S
    ),
    kept AS (
        SELECT po_number, supplier_id, counted, due, on_time, ordered, capped_received,
            last_at
        FROM (SELECT * FROM kpi_po_facts FINAL)
        WHERE last_at <= T AND po_number NOT IN touched
    ),
    scope AS (
        SELECT po_number FROM touched
        UNION DISTINCT
        SELECT po_number FROM kpi_po_facts FINAL WHERE last_at > T
    ),
    -- Each PO line as its latest version as of T says (the latest expected_at given).
    po AS (
        SELECT po_number, any(tupleElement(latest, 1)) AS supplier_id,
            tupleElement(max(expected), 3) AS expected_at, max(last_at) AS last_at,
            groupArray(line_no) AS l_no, groupArray(tupleElement(latest, 2)) AS l_item,
            groupArray(tupleElement(latest, 3)) AS l_qty
        FROM (
            SELECT po_number, line_no,
                argMax((supplier_id, item_id, quantity), (occurred_at, event_id)) AS latest,
                maxIf((occurred_at, event_id, expected_at), expected_at IS NOT NULL) AS expected,
                max(occurred_at) AS last_at
            FROM rules_po_lines
            WHERE occurred_at <= T AND po_number IN scope
            GROUP BY po_number, line_no
        )
        GROUP BY po_number
    ),
    acks AS (
        SELECT po_number,
            tupleElement(max((occurred_at, event_id, status)), 3) AS ack_status,
            tupleElement(maxIf((occurred_at, event_id, promised_at), promised_at IS NOT NULL), 3)
                AS promised_at,
            max(occurred_at) AS last_at
        FROM rules_po_acks
        WHERE occurred_at <= T AND po_number IN scope
        GROUP BY po_number
    ),
    -- Receipt lines (one row per event and line even if delivered twice).
    rcv AS (
        SELECT po_number, groupArray(line_no) AS r_no, groupArray(item_id) AS r_item,
            groupArray(quantity) AS r_qty, groupArray(at) AS r_at, max(at) AS last_at
        FROM (
            SELECT po_number, event_id, line_no, any(item_id) AS item_id,
                any(quantity) AS quantity, any(occurred_at) AS at
            FROM rules_receipt_lines
            WHERE occurred_at <= T AND po_number IN scope
            GROUP BY po_number, event_id, line_no
        )
        GROUP BY po_number
    ),
    dated AS (
        SELECT po.po_number AS po_number, po.supplier_id AS supplier_id, po.l_no AS l_no,
            po.l_item AS l_item, po.l_qty AS l_qty,
            ifNull(a.promised_at, po.expected_at) AS due_at,
            toUInt8(ifNull(a.ack_status, '') != 'rejected' AND due_at IS NOT NULL) AS counted,
            -- Unmatched, a.last_at is the epoch and r.last_at below too.
            greatest(po.last_at, a.last_at) AS po_last_at
        FROM po
        LEFT JOIN acks AS a ON a.po_number = po.po_number
    )
SELECT * FROM kept WHERE {with_kept:UInt8} = 1
UNION ALL
SELECT po_number, supplier_id, counted, due, on_time, ordered, capped_received, last_at
FROM (
SELECT d.po_number AS po_number, d.supplier_id AS supplier_id, d.counted AS counted,
    ifNull(d.due_at, toDateTime64(0, 3, 'UTC')) AS due,
    arrayMap((n, it) -> if(has(d.l_no, n), indexOf(d.l_no, n), indexOf(d.l_item, it)),
        r.r_no, r.r_item) AS r_idx,
    arrayMap(i -> arraySum(arrayMap((x, q) -> if(x = i, q, toDecimal64(0, 4)), r_idx, r.r_qty)),
        arrayEnumerate(d.l_qty)) AS l_rcv,
    arrayMap(i -> arraySum(arrayMap((x, q, at) -> if(x = i AND at <= due, q, toDecimal64(0, 4)),
        r_idx, r.r_qty, r.r_at)), arrayEnumerate(d.l_qty)) AS l_rcv_by_due,
    toUInt8(arrayAll((o, x) -> x >= o, d.l_qty, l_rcv_by_due)) AS on_time,
    toDecimal128(arraySum(d.l_qty), 4) AS ordered,
    toDecimal128(arraySum(arrayMap((o, x) -> least(o, x), d.l_qty, l_rcv)), 4) AS capped_received,
    greatest(d.po_last_at, r.last_at) AS last_at
FROM dated AS d
LEFT JOIN rcv AS r ON r.po_number = d.po_number
);
