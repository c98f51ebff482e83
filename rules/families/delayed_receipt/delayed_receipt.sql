-- delayed_receipt as of {as_of}, per PO: promised_at (latest acknowledgement carrying one)
-- else expected_at, plus the grace, has passed with received < ordered on some line; the
-- latest acknowledgement's status names the reason; a rejected PO is not checked.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    po AS (
        SELECT po_number, any(correlation_id) AS correlation_id, any(site) AS site,
            any(domain) AS domain, any(supplier_id) AS supplier_id,
            -- The latest expected_at given (a version without one keeps the earlier); the
            -- max of a tuple costs less than argMax.
            tupleElement(maxIf((occurred_at, event_id, expected_at), expected_at IS NOT NULL), 3)
                AS expected_at,
            groupArray(line_no) AS l_no, groupArray(item_id) AS l_item, groupArray(quantity) AS l_qty
        FROM (
            SELECT po_number, line_no, correlation_id, site, domain, supplier_id, expected_at,
                item_id, quantity, occurred_at, event_id
            FROM rules_po_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
            ORDER BY po_number, line_no, occurred_at DESC, event_id DESC
            LIMIT 1 BY po_number, line_no
        )
        GROUP BY po_number
    ),
    acks AS (
        SELECT po_number,
            tupleElement(max((occurred_at, event_id, status)), 3) AS ack_status,
            tupleElement(maxIf((occurred_at, event_id, promised_at), promised_at IS NOT NULL), 3)
                AS promised_at,
            1 AS acknowledged
        FROM rules_po_acks
        WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
        GROUP BY po_number
    ),
    rcv AS (
        SELECT po_number, groupArray(line_no) AS r_no, groupArray(d_item) AS r_item,
            groupArray(d_qty) AS r_qty
        FROM (
            -- One row per receipt line even if its event was delivered twice.
            SELECT po_number, line_no, any(item_id) AS d_item, any(quantity) AS d_qty
            FROM rules_receipt_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
            GROUP BY po_number, event_id, line_no
        )
        GROUP BY po_number
    ),
    judged AS (
        SELECT p.po_number AS po_number, p.correlation_id AS correlation_id, p.site AS site,
            p.domain AS domain, p.supplier_id AS supplier_id, p.l_no AS l_no, p.l_qty AS l_qty,
            p.l_item AS l_item, a.ack_status AS ack_status, a.acknowledged AS acknowledged,
            if(a.acknowledged = 1 AND a.promised_at IS NOT NULL, a.promised_at, p.expected_at) AS due,
            arrayMap(i -> arraySum(arrayMap((n, it, q) -> if(
                if(has(l_no, n), indexOf(l_no, n), indexOf(l_item, it)) = i, q, toDecimal64(0, 4)),
                r.r_no, r.r_item, r.r_qty)), arrayEnumerate(l_no)) AS l_rcv,
            arrayAll((o, x) -> x >= o, l_qty, l_rcv) AS full,
            arraySum(l_qty) AS ordered,
            arraySum(l_rcv) AS received,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat('delayed.grace_ms|', site)),
                indexOf({tk:Array(String)}, concat('delayed.grace_ms|', site)),
                indexOf({tk:Array(String)}, 'delayed.grace_ms|*'))] AS grace_ms,
            multiIf(
                due IS NULL OR lower(ack_status) = 'rejected' OR full, '',
                lower(ack_status) = 'backordered', 'backordered',
                lower(ack_status) = 'substituted', 'substituted',
                received > 0, 'partial',
                'not_received') AS reason,
            due + toIntervalMillisecond(grace_ms) AS since
        FROM po AS p
        LEFT JOIN acks AS a ON a.po_number = p.po_number
        LEFT JOIN rcv AS r ON r.po_number = p.po_number
    )
-- Columns a finding takes (engine.FINDING_COLUMNS); the family comes from the rule.
SELECT
    reason,
    assumeNotNull(since) AS since,
    po_number AS entity,
    correlation_id,
    site,
    domain,
    po_number,
    supplier_id,
    toJSONString(map('due', toString(due), 'acknowledgement', ack_status,
        'ordered', toString(ordered), 'received', toString(received))) AS details
FROM judged
WHERE reason != '' AND (since <= T OR {include_pending:UInt8} = 1)
