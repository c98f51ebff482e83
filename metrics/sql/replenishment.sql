-- Replenishment KPIs for each period [starts[i], ends[i]) as of {as_of}:
-- order_cycle_time_hours_p50 / _p90 by priority (requests fully received in the period) and
-- replenishment_on_time_rate, whole system and by site (requests whose receipt limit falls in
-- the period; a site in {site_names} on its own calendar's bounds). Full receipt:
-- the first goods.received after which every line of the request's POs has received its
-- ordered quantity (receipts matched by line number, else item), i.e. the capped received
-- total reaches the ordered total. Only facts at or before as_of count.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {site_names:Array(String)} AS zone_sites,
    {site_starts:Array(Array(DateTime64(3, 'UTC')))} AS zone_starts,
    {site_ends:Array(Array(DateTime64(3, 'UTC')))} AS zone_ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    requests AS (
        SELECT correlation_id,
            tupleElement(first_requested, 1) AS requested_at,
            tupleElement(first_requested, 3) AS site,
            if(tupleElement(first_requested, 4) IN ('stat', 'urgent', 'routine'),
                tupleElement(first_requested, 4), 'routine') AS priority
        FROM (
            SELECT correlation_id,
                minIf((occurred_at, event_id, site, priority), kind = 'replenishment.requested')
                    AS first_requested,
                countIf(kind = 'replenishment.requested') AS n_requested,
                countIf(kind = 'replenishment.cancelled') AS n_cancelled
            FROM rules_requests
            WHERE occurred_at <= T
            GROUP BY correlation_id
            HAVING n_requested > 0 AND n_cancelled = 0
        )
    ),
    -- Each PO line as its latest version as of T says.
    po AS (
        SELECT po_number, any(correlation_id) AS correlation_id,
            groupArray(line_no) AS l_no, groupArray(item_id) AS l_item, groupArray(quantity) AS l_qty
        FROM (
            SELECT po_number, line_no, correlation_id, item_id, quantity
            FROM rules_po_lines
            WHERE occurred_at <= T AND correlation_id != ''
            ORDER BY po_number, line_no, occurred_at DESC, event_id DESC
            LIMIT 1 BY po_number, line_no
        )
        GROUP BY po_number
    ),
    -- Receipt lines (one row per event and line even if delivered twice), on their PO line.
    received AS (
        SELECT r.po_number AS po_number, r.event_id AS event_id, r.line_no AS line_no, r.at AS at,
            r.quantity AS quantity,
            if(has(p.l_no, r.line_no), indexOf(p.l_no, r.line_no), indexOf(p.l_item, r.item_id)) AS idx,
            if(idx > 0, p.l_qty[idx], toDecimal64(0, 4)) AS ordered
        FROM (
            SELECT po_number, event_id, line_no, any(item_id) AS item_id,
                any(quantity) AS quantity, any(occurred_at) AS at
            FROM rules_receipt_lines
            WHERE occurred_at <= T
            GROUP BY po_number, event_id, line_no
        ) AS r
        INNER JOIN po AS p ON p.po_number = r.po_number
    ),
    -- When each PO line first had its ordered quantity.
    line_full AS (
        SELECT po_number, idx, minIf(at, cum >= ordered) AS full_at, max(cum >= ordered) AS is_full
        FROM (
            SELECT po_number, idx, at, ordered,
                sum(quantity) OVER (PARTITION BY po_number, idx ORDER BY at, event_id, line_no
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
            FROM received
            WHERE idx > 0
        )
        GROUP BY po_number, idx
    ),
    po_full AS (
        SELECT po_number, any(correlation_id) AS correlation_id,
            min(ordered <= 0 OR is_full = 1) AS full, maxIf(full_at, ordered > 0) AS full_at
        FROM (
            SELECT po.po_number AS po_number, po.correlation_id AS correlation_id,
                tupleElement(line, 1) AS idx, tupleElement(line, 2) AS ordered,
                lf.is_full AS is_full, lf.full_at AS full_at
            FROM po
            ARRAY JOIN arrayZip(arrayEnumerate(l_qty), l_qty) AS line
            LEFT JOIN line_full AS lf ON lf.po_number = po.po_number AND lf.idx = tupleElement(line, 1)
        )
        GROUP BY po_number
    ),
    judged AS (
        SELECT rq.correlation_id AS correlation_id, rq.requested_at AS requested_at,
            rq.site AS site, rq.priority AS priority,
            pf.n_po > 0 AND pf.all_full = 1 AND pf.full_at > toDateTime64(0, 3, 'UTC') AS full,
            pf.full_at AS full_at,
            concat('replenishment.receipt_ms.', priority) AS k_rcv,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat(k_rcv, '|', site)),
                indexOf({tk:Array(String)}, concat(k_rcv, '|', site)),
                indexOf({tk:Array(String)}, concat(k_rcv, '|*')))] AS rcv_ms,
            requested_at + toIntervalMillisecond(rcv_ms) AS receipt_limit
        FROM requests AS rq
        LEFT JOIN (
            SELECT correlation_id, count() AS n_po, min(full) AS all_full, max(full_at) AS full_at
            FROM po_full
            GROUP BY correlation_id
        ) AS pf ON pf.correlation_id = rq.correlation_id
    ),
    -- Each request once, as the facts of every row it counts in: its cycle time (by
    -- priority) and its receipt limit (whole system, and by site on the site's calendar).
    -- One pass: a CTE named twice in a UNION would be computed twice.
    facts AS (
        SELECT priority, site, full AND full_at <= receipt_limit AS on_time,
            if(full AND full_at <= T, dateDiff('millisecond', requested_at, full_at), 0) AS ms,
            if(full AND full_at <= T,
                arrayFirstIndex((s, e) -> full_at >= s AND full_at < e, starts, ends), 0)
                AS cycle_period,
            if(receipt_limit <= T,
                arrayFirstIndex((s, e) -> receipt_limit >= s AND receipt_limit < e, starts, ends),
                0) AS due_period,
            indexOf(zone_sites, site) AS zone,
            if(receipt_limit <= T,
                arrayFirstIndex((s, e) -> receipt_limit >= s AND receipt_limit < e,
                    if(zone > 0, zone_starts[zone], starts), if(zone > 0, zone_ends[zone], ends)),
                0) AS site_period
        FROM judged
    ),
    grouped AS (
        SELECT tupleElement(g, 1) AS period, tupleElement(g, 2) AS kind, tupleElement(g, 3) AS dim,
            tupleElement(g, 4) AS key, toFloat64(countIf(on_time)) AS on_time_count,
            arraySort(groupArray(ms)) AS sorted, count() AS n
        FROM facts
        ARRAY JOIN [
            (cycle_period, 'cycle', 'priority', priority),
            (due_period, 'due', '', ''),
            (site_period, 'due', 'site', site)] AS g
        WHERE tupleElement(g, 1) > 0
        GROUP BY g
    )
SELECT toUInt32(period) AS period, kpi, dim, key,
    if(kind = 'due', on_time_count, 0) AS numerator,
    if(kind = 'due', toFloat64(n), 0) AS denominator,
    if(kind = 'due', nan, sorted[toUInt64(ceil(n * p))] / 3600000) AS value, n
FROM grouped
ARRAY JOIN
    if(kind = 'due', ['replenishment_on_time_rate'],
        ['order_cycle_time_hours_p50', 'order_cycle_time_hours_p90']) AS kpi,
    if(kind = 'due', [0.0], [0.5, 0.9]) AS p
