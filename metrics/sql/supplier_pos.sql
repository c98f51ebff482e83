-- Supplier KPIs for each period [starts[i], ends[i]) as of {as_of}, by supplier_id, over the POs (not
-- rejected by their latest acknowledgement) whose due date (the latest acknowledgement's
-- promised_at, else the latest expected_at) falls in the period: supplier_on_time_rate (fully
-- received by due, lines capped at their ordered quantity) and supplier_fill_rate (received
-- quantity as of as_of, each line capped, over the ordered quantity).
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    -- Each PO line as its latest version as of T says (the latest expected_at given).
    po AS (
        SELECT po_number, any(tupleElement(latest, 1)) AS supplier_id,
            tupleElement(max(expected), 3) AS expected_at,
            groupArray(line_no) AS l_no, groupArray(tupleElement(latest, 2)) AS l_item,
            groupArray(tupleElement(latest, 3)) AS l_qty
        FROM (
            SELECT po_number, line_no,
                argMax((supplier_id, item_id, quantity), (occurred_at, event_id)) AS latest,
                maxIf((occurred_at, event_id, expected_at), expected_at IS NOT NULL) AS expected
            FROM rules_po_lines
            WHERE occurred_at <= T
            GROUP BY po_number, line_no
        )
        GROUP BY po_number
    ),
    acks AS (
        SELECT po_number,
            tupleElement(max((occurred_at, event_id, status)), 3) AS ack_status,
            tupleElement(maxIf((occurred_at, event_id, promised_at), promised_at IS NOT NULL), 3)
                AS promised_at
        FROM rules_po_acks
        WHERE occurred_at <= T
        GROUP BY po_number
    ),
    due_pos AS (
        SELECT po.po_number AS po_number, po.supplier_id AS supplier_id, po.l_no AS l_no,
            po.l_item AS l_item, po.l_qty AS l_qty,
            ifNull(a.promised_at, po.expected_at) AS due,
            arrayFirstIndex((s, e) -> assumeNotNull(due) >= s AND assumeNotNull(due) < e,
                starts, ends) AS period
        FROM po
        LEFT JOIN acks AS a ON a.po_number = po.po_number
        WHERE ifNull(a.ack_status, '') != 'rejected' AND due IS NOT NULL AND period > 0
    ),
    -- Receipt lines (one row per event and line even if delivered twice).
    rcv AS (
        SELECT po_number, groupArray(line_no) AS r_no, groupArray(item_id) AS r_item,
            groupArray(quantity) AS r_qty, groupArray(at) AS r_at
        FROM (
            SELECT po_number, event_id, line_no, any(item_id) AS item_id,
                any(quantity) AS quantity, any(occurred_at) AS at
            FROM rules_receipt_lines
            WHERE occurred_at <= T
            GROUP BY po_number, event_id, line_no
        )
        GROUP BY po_number
    ),
    judged AS (
        SELECT d.period AS period, d.po_number AS po_number, d.supplier_id AS supplier_id,
            d.l_qty AS l_qty, d.due AS due,
            arrayMap((n, it) -> if(has(d.l_no, n), indexOf(d.l_no, n), indexOf(d.l_item, it)),
                r.r_no, r.r_item) AS r_idx,
            arrayMap(i -> arraySum(arrayMap((x, q) -> if(x = i, q, toDecimal64(0, 4)), r_idx, r.r_qty)),
                arrayEnumerate(d.l_qty)) AS l_rcv,
            arrayMap(i -> arraySum(arrayMap((x, q, at) -> if(x = i AND at <= d.due, q, toDecimal64(0, 4)),
                r_idx, r.r_qty, r.r_at)), arrayEnumerate(d.l_qty)) AS l_rcv_by_due,
            arraySum(arrayMap((o, x) -> least(o, x), d.l_qty, l_rcv)) AS capped_received,
            arraySum(d.l_qty) AS ordered,
            arrayAll((o, x) -> x >= o, d.l_qty, l_rcv_by_due) AS on_time
        FROM due_pos AS d
        LEFT JOIN rcv AS r ON r.po_number = d.po_number
    )
SELECT toUInt32(period) AS period, kpi, 'supplier_id' AS dim, supplier_id AS key,
    if(kpi = 'supplier_on_time_rate', toFloat64(countIf(on_time)), toFloat64(sum(capped_received)))
        AS numerator,
    if(kpi = 'supplier_on_time_rate', toFloat64(count()), toFloat64(sum(ordered))) AS denominator,
    nan AS value, count() AS n
FROM judged
ARRAY JOIN ['supplier_on_time_rate', 'supplier_fill_rate'] AS kpi
GROUP BY period, kpi, supplier_id
