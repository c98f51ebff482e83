-- Metrics stage: each replenishment request's KPI facts (kept as kpi_po_facts is, 055): its
-- first request, whether it counts (requested, not cancelled), and when its POs were first
-- fully received (lines capped at their ordered quantity). Its receipt limit is not kept: it
-- follows from the configured thresholds at query time. last_at: the latest of its own
-- facts and of every fact of every PO a version of whose lines names it.
CREATE TABLE IF NOT EXISTS kpi_request_facts (
    correlation_id String,
    counted UInt8,
    requested_at DateTime64(3, 'UTC'),
    site LowCardinality(String),
    priority LowCardinality(String),
    full UInt8,
    full_at DateTime64(3, 'UTC'),
    last_at DateTime64(3, 'UTC'),
    refreshed_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY correlation_id;

-- The facts of every request as of {as_of}: the kept row where it holds, else judged from
-- its facts (its own, its POs' or their receipts arrived after {since}, or one dated after
-- as_of). {with_kept} = 0: only the requests judged.
CREATE VIEW IF NOT EXISTS kpi_request_facts_as_of AS
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    {since:DateTime64(3, 'UTC')} AS S,
    touched_pos AS (
        SELECT po_number FROM rules_po_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_receipt_lines WHERE received_at > S
    ),
    touched AS (
        SELECT correlation_id FROM rules_requests WHERE received_at > S
        UNION DISTINCT
        -- Every request a version of a touched PO's lines names (a PO moved to another
        -- request changes both).
        SELECT correlation_id FROM rules_po_lines
        WHERE po_number IN touched_pos AND correlation_id != ''
    ),
    kept AS (
        SELECT correlation_id, counted, requested_at, site, priority, full, full_at, last_at
        FROM (SELECT * FROM kpi_request_facts FINAL)
        WHERE last_at <= T AND correlation_id NOT IN touched
    ),
    scope AS (
        SELECT correlation_id FROM touched
        UNION DISTINCT
        SELECT correlation_id FROM kpi_request_facts FINAL WHERE last_at > T
    ),
    requests AS (
        SELECT correlation_id,
            tupleElement(first_requested, 1) AS requested_at,
            tupleElement(first_requested, 3) AS site,
            if(tupleElement(first_requested, 4) IN ('stat', 'urgent', 'routine'),
                tupleElement(first_requested, 4), 'routine') AS priority,
            toUInt8(n_requested > 0 AND n_cancelled = 0) AS counted, last_at
        FROM (
            SELECT correlation_id,
                minIf((occurred_at, event_id, site, priority), kind = 'replenishment.requested')
                    AS first_requested,
                countIf(kind = 'replenishment.requested') AS n_requested,
                countIf(kind = 'replenishment.cancelled') AS n_cancelled,
                max(occurred_at) AS last_at
            FROM rules_requests
            WHERE occurred_at <= T AND correlation_id IN scope
            GROUP BY correlation_id
        )
    ),
    -- The POs a version of whose lines names a request of the scope.
    scope_pos AS (
        SELECT DISTINCT po_number FROM rules_po_lines
        WHERE correlation_id IN scope AND occurred_at <= T
    ),
    -- Each PO line as its latest version as of T says.
    po AS (
        SELECT po_number, any(tupleElement(latest, 1)) AS correlation_id,
            groupArray(line_no) AS l_no, groupArray(tupleElement(latest, 2)) AS l_item,
            groupArray(tupleElement(latest, 3)) AS l_qty
        FROM (
            SELECT po_number, line_no,
                argMax((correlation_id, item_id, quantity), (occurred_at, event_id)) AS latest
            FROM rules_po_lines
            WHERE occurred_at <= T AND correlation_id != '' AND po_number IN scope_pos
            GROUP BY po_number, line_no
        )
        GROUP BY po_number
    ),
    -- Each PO's receipt lines in time order (one per event and line even if delivered twice).
    rcv AS (
        SELECT po_number, arraySort(groupArray((at, event_id, line_no, item_id, quantity)))
            AS receipts
        FROM (
            SELECT po_number, event_id, line_no, any(item_id) AS item_id,
                any(quantity) AS quantity, any(occurred_at) AS at
            FROM rules_receipt_lines
            WHERE occurred_at <= T AND po_number IN scope_pos
            GROUP BY po_number, event_id, line_no
        )
        GROUP BY po_number
    ),
    -- When each line first had its ordered quantity (receipts on it by line number, else by
    -- item, summed in time order; epoch: never), and so the PO as a whole.
    po_full AS (
        SELECT po.po_number AS po_number, po.correlation_id AS correlation_id,
            arrayMap(r -> if(has(po.l_no, tupleElement(r, 3)), indexOf(po.l_no, tupleElement(r, 3)),
                indexOf(po.l_item, tupleElement(r, 4))), rcv.receipts) AS r_idx,
            arrayMap(i -> tupleElement(
                arrayFilter((r, x) -> x = i, rcv.receipts, r_idx)[arrayFirstIndex(
                    c -> c >= po.l_qty[i],
                    arrayCumSum(arrayMap(r -> tupleElement(r, 5),
                        arrayFilter((r, x) -> x = i, rcv.receipts, r_idx))))], 1),
                arrayEnumerate(po.l_qty)) AS line_full_at,
            arrayAll((q, f) -> q <= 0 OR f > toDateTime64(0, 3, 'UTC'), po.l_qty, line_full_at)
                AS full,
            arrayMax(arrayMap((q, f) -> if(q > 0, f, toDateTime64(0, 3, 'UTC')), po.l_qty,
                line_full_at)) AS full_at
        FROM po
        LEFT JOIN rcv ON rcv.po_number = po.po_number
    ),
    -- The latest fact of each PO (any version of its lines, its receipts), dating every
    -- request a version names.
    po_dates AS (
        SELECT named.correlation_id AS correlation_id, max(dates.at) AS last_at
        FROM (
            SELECT DISTINCT correlation_id, po_number FROM rules_po_lines
            WHERE po_number IN scope_pos AND occurred_at <= T AND correlation_id IN scope
        ) AS named
        INNER JOIN (
            SELECT po_number, max(occurred_at) AS at FROM (
                SELECT po_number, occurred_at FROM rules_po_lines
                WHERE po_number IN scope_pos AND occurred_at <= T
                UNION ALL
                SELECT po_number, occurred_at FROM rules_receipt_lines
                WHERE po_number IN scope_pos AND occurred_at <= T
            )
            GROUP BY po_number
        ) AS dates ON dates.po_number = named.po_number
        GROUP BY named.correlation_id
    )
SELECT * FROM kept WHERE {with_kept:UInt8} = 1
UNION ALL
SELECT rq.correlation_id AS correlation_id, rq.counted AS counted,
    rq.requested_at AS requested_at, rq.site AS site, rq.priority AS priority,
    toUInt8(pf.n_po > 0 AND pf.all_full = 1 AND pf.full_at > toDateTime64(0, 3, 'UTC')) AS full,
    pf.full_at AS full_at,
    greatest(rq.last_at, pd.last_at) AS last_at
FROM requests AS rq
LEFT JOIN (
    SELECT correlation_id, count() AS n_po, min(full) AS all_full, max(full_at) AS full_at
    FROM po_full
    GROUP BY correlation_id
) AS pf ON pf.correlation_id = rq.correlation_id
LEFT JOIN po_dates AS pd ON pd.correlation_id = rq.correlation_id;
