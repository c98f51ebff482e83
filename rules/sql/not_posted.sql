-- delayed_receipt / not_posted as of {as_of}: a goods.received whose receipt_id has no
-- receipt.posted, once the posting limit after the receipt has passed.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    receipts AS (
        SELECT receipt_id,
            minIf(occurred_at, kind = 'goods.received') AS received_at,
            argMinIf(site, (occurred_at, event_id), kind = 'goods.received') AS site,
            argMinIf(domain, (occurred_at, event_id), kind = 'goods.received') AS domain,
            argMinIf(po_number, (occurred_at, event_id), kind = 'goods.received') AS po_number,
            argMinIf(supplier_id, (occurred_at, event_id), kind = 'goods.received') AS supplier_id,
            argMinIf(correlation_id, (occurred_at, event_id), kind = 'goods.received') AS correlation_id,
            countIf(kind = 'goods.received') AS n_received,
            countIf(kind = 'receipt.posted') AS n_posted
        FROM rules_receipts
        WHERE occurred_at <= T AND receipt_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
        GROUP BY receipt_id
        HAVING n_received > 0 AND n_posted = 0
    ),
    judged AS (
        SELECT *,
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
