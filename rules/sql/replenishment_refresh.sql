-- rules_replenishments_kept rows for the requests in rules_scope under {keys} (every request
-- if {all}), from every fact visible now; the open_replenishment rule's rows for those open
-- with every fact are in rules_replenishment_verdicts under {verdicts}.
INSERT INTO rules_replenishments_kept
WITH
    {refreshed_at:DateTime64(3, 'UTC')} AS R,
    po AS (
        SELECT correlation_id, max(occurred_at) AS last_at
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
    ),
    verdict AS (
        SELECT correlation_id, reason, since, site, domain, details
        FROM rules_replenishment_verdicts
        WHERE run_id = {verdicts:String}
    )
SELECT req.correlation_id, R,
    if(n_requested > 0, first_requested_at, NULL),
    if(n_cancelled > 0, first_cancelled_at, NULL),
    greatest(req.last_at, if(po.correlation_id != '', po.last_at, req.last_at),
        if(rcv.correlation_id != '', rcv.last_at, req.last_at)),
    verdict.correlation_id != '',
    verdict.reason,
    if(verdict.correlation_id != '', verdict.since, NULL),
    verdict.site,
    verdict.domain,
    verdict.details,
    JSONExtractString(verdict.details, 'priority'),
    JSONExtractString(verdict.details, 'item_id')
FROM (
    SELECT correlation_id,
        minIf(occurred_at, kind = 'replenishment.requested') AS first_requested_at,
        minIf(occurred_at, kind = 'replenishment.cancelled') AS first_cancelled_at,
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
LEFT JOIN verdict USING (correlation_id)
SETTINGS join_use_nulls = 0
