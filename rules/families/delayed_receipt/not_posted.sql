-- delayed_receipt / not_posted as of {as_of}: a goods.received whose receipt_id has no
-- receipt.posted, once the posting limit after the receipt has passed.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    receipts AS (
        SELECT receipt_id,
            -- The first goods.received by (occurred_at, event_id), as one tuple: a tuple's
            -- min costs a fifth of an argMinIf per column.
            minIf((occurred_at, event_id, site, domain, po_number, supplier_id, correlation_id),
                kind = 'goods.received') AS first_received,
            countIf(kind = 'goods.received') AS n_received,
            countIf(kind = 'receipt.posted') AS n_posted
        FROM rules_receipts_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE occurred_at <= T AND receipt_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
        GROUP BY receipt_id
        HAVING n_received > 0 AND n_posted = 0
    ),
    judged AS (
        SELECT receipt_id,
            tupleElement(first_received, 1) AS received_at,
            tupleElement(first_received, 3) AS site,
            tupleElement(first_received, 4) AS domain,
            tupleElement(first_received, 5) AS po_number,
            tupleElement(first_received, 6) AS supplier_id,
            tupleElement(first_received, 7) AS correlation_id,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat('delayed.posting_ms|', site)),
                indexOf({tk:Array(String)}, concat('delayed.posting_ms|', site)),
                indexOf({tk:Array(String)}, 'delayed.posting_ms|*'))] AS posting_ms,
            received_at + toIntervalMillisecond(posting_ms) AS since
        FROM receipts
    )
-- Columns a finding takes (engine.FINDING_COLUMNS); the family comes from the rule.
SELECT
    'not_posted' AS reason,
    since,
    receipt_id AS entity,
    correlation_id,
    site,
    domain,
    po_number,
    supplier_id,
    receipt_id,
    toJSONString(map('received_at', toString(received_at))) AS details
FROM judged
WHERE since <= T OR {include_pending:UInt8} = 1
