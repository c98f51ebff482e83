-- open_replenishment as of {as_of}: requests neither cancelled nor fully received whose
-- priority's limit has passed. Thresholds come in as lookup arrays (name|site -> ms).
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    req AS (
        SELECT correlation_id,
            tupleElement(first_requested, 1) AS requested_at,
            tupleElement(first_requested, 3) AS site,
            tupleElement(first_requested, 4) AS domain,
            tupleElement(first_requested, 5) AS raw_priority,
            tupleElement(first_requested, 6) AS item_id,
            tupleElement(first_quantity, 3) AS quantity
        FROM (
            SELECT correlation_id,
                -- The first request by (occurred_at, event_id), as one tuple: a tuple's min
                -- costs a fifth of an argMinIf per column. The quantity is the first one
                -- given (a request without one does not hide a later one).
                minIf((occurred_at, event_id, site, domain, priority, item_id),
                    kind = 'replenishment.requested') AS first_requested,
                minIf((occurred_at, event_id, quantity),
                    kind = 'replenishment.requested' AND quantity IS NOT NULL) AS first_quantity,
                countIf(kind = 'replenishment.requested') AS n_requested,
                countIf(kind = 'replenishment.cancelled') AS n_cancelled
            FROM rules_requests_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
            GROUP BY correlation_id
            HAVING n_requested > 0 AND n_cancelled = 0
        )
    ),
    po AS (
        SELECT po_number, any(correlation_id) AS correlation_id,
            groupArray(line_no) AS l_no, groupArray(item_id) AS l_item, groupArray(quantity) AS l_qty
        FROM (
            SELECT po_number, line_no, correlation_id, item_id, quantity
            FROM rules_po_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
                AND po_number IN (SELECT po_number FROM rules_po_by_correlation
                    WHERE correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String}))
            ORDER BY po_number, line_no, occurred_at DESC, event_id DESC
            LIMIT 1 BY po_number, line_no
        )
        GROUP BY po_number
    ),
    rcv AS (
        SELECT po_number, groupArray(line_no) AS r_no, groupArray(d_item) AS r_item,
            groupArray(d_qty) AS r_qty
        FROM (
            -- One row per receipt line even if its event was delivered twice.
            SELECT po_number, line_no, any(item_id) AS d_item, any(quantity) AS d_qty
            FROM rules_receipt_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND po_number IN (
                SELECT po_number FROM rules_po_by_correlation WHERE correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String}))
            GROUP BY po_number, event_id, line_no
        )
        GROUP BY po_number
    ),
    po_state AS (
        SELECT correlation_id, po_number,
            arrayMap(i -> arraySum(arrayMap((n, it, q) -> if(
                if(has(l_no, n), indexOf(l_no, n), indexOf(l_item, it)) = i, q, toDecimal64(0, 4)),
                r_no, r_item, r_qty)), arrayEnumerate(l_no)) AS l_rcv,
            arrayAll((o, r) -> r >= o, l_qty, l_rcv) AS full,
            arraySum(l_qty) AS ordered,
            arraySum(l_rcv) AS received
        FROM po LEFT JOIN rcv USING (po_number)
    ),
    per_request AS (
        SELECT correlation_id, count() AS n_po, min(full) AS all_full,
            groupArray(po_number) AS po_numbers, sum(ordered) AS ordered, sum(received) AS received
        FROM po_state
        GROUP BY correlation_id
    ),
    judged AS (
        SELECT req.*,
            if(raw_priority IN ('stat', 'urgent', 'routine'), raw_priority, 'routine') AS priority,
            ifNull(p.n_po, 0) AS n_po, p.all_full AS all_full, p.po_numbers AS po_numbers,
            p.ordered AS ordered, p.received AS received,
            concat('replenishment.po_ms.', priority) AS k_po,
            concat('replenishment.receipt_ms.', priority) AS k_rcv,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat(k_po, '|', site)),
                indexOf({tk:Array(String)}, concat(k_po, '|', site)),
                indexOf({tk:Array(String)}, concat(k_po, '|*')))] AS po_ms,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat(k_rcv, '|', site)),
                indexOf({tk:Array(String)}, concat(k_rcv, '|', site)),
                indexOf({tk:Array(String)}, concat(k_rcv, '|*')))] AS rcv_ms,
            multiIf(n_po = 0, 'no_po', all_full = 1, '', 'not_received') AS reason,
            if(n_po = 0, requested_at + toIntervalMillisecond(po_ms),
                requested_at + toIntervalMillisecond(rcv_ms)) AS since
        FROM req LEFT JOIN per_request AS p USING (correlation_id)
    )
-- Columns a finding takes (engine.FINDING_COLUMNS); the family comes from the rule.
SELECT
    reason,
    since,
    correlation_id AS entity,
    correlation_id,
    site,
    domain,
    if(n_po > 0, po_numbers[1], '') AS po_number,
    toJSONString(map('priority', priority, 'item_id', item_id, 'quantity', toString(quantity),
        'requested_at', toString(requested_at), 'po_numbers', arrayStringConcat(po_numbers, ','),
        'ordered', toString(ordered), 'received', toString(received),
        'late', toString(since <= T),
        'limit_hours', toString(round(if(n_po = 0, po_ms, rcv_ms) / 3600000, 3)))) AS details
FROM judged
WHERE reason != '' AND (since <= T OR {include_pending:UInt8} = 1)
