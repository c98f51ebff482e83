-- rules_replenishment_requests rows for the requests in rules_scope under {keys}, from every
-- fact visible now; {open_keys}: those the open_replenishment rule finds open with every fact.
INSERT INTO rules_replenishment_requests
WITH
    {refreshed_at:DateTime64(3, 'UTC')} AS R,
    po AS (
        SELECT correlation_id, min(occurred_at) AS first_at, max(occurred_at) AS last_at
        FROM rules_po_lines
        WHERE {all:UInt8} = 1 OR correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {keys:String})
        GROUP BY correlation_id
    ),
    rcv AS (
        SELECT m.correlation_id AS correlation_id, max(r.occurred_at) AS last_at
        FROM rules_receipt_lines AS r
        INNER JOIN (
            SELECT correlation_id, po_number FROM rules_po_by_correlation
            WHERE {all:UInt8} = 1 OR correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {keys:String})
        ) AS m USING (po_number)
        WHERE {all:UInt8} = 1 OR r.po_number IN (SELECT po_number FROM rules_po_by_correlation
            WHERE correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {keys:String}))
        GROUP BY m.correlation_id
    )
SELECT req.correlation_id, R,
    if(n_requested > 0, tupleElement(first_requested, 1), NULL),
    if(n_cancelled > 0, first_cancelled, NULL),
    if(po.correlation_id != '', po.first_at, NULL),
    greatest(req.last_at, if(po.correlation_id != '', po.last_at, req.last_at),
        if(rcv.correlation_id != '', rcv.last_at, req.last_at)),
    tupleElement(first_requested, 3),
    tupleElement(first_requested, 4),
    tupleElement(first_requested, 5),
    req.correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {open_keys:String})
FROM (
    SELECT correlation_id,
        -- The first request, chosen as the rule chooses it.
        minIf((occurred_at, event_id, site, priority, item_id),
            kind = 'replenishment.requested') AS first_requested,
        minIf(occurred_at, kind = 'replenishment.cancelled') AS first_cancelled,
        countIf(kind = 'replenishment.requested') AS n_requested,
        countIf(kind = 'replenishment.cancelled') AS n_cancelled,
        max(occurred_at) AS last_at
    FROM rules_requests
    WHERE {all:UInt8} = 1
        OR correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {keys:String})
    GROUP BY correlation_id
) AS req
LEFT JOIN po USING (correlation_id)
LEFT JOIN rcv USING (correlation_id)
SETTINGS join_use_nulls = 0
