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
        SELECT po_number, any(tupleElement(latest, 1)) AS correlation_id,
            groupArray(line_no) AS l_no, groupArray(tupleElement(latest, 2)) AS l_item,
            groupArray(tupleElement(latest, 3)) AS l_qty
        FROM (
            SELECT po_number, line_no,
                argMax((correlation_id, item_id, quantity), (occurred_at, event_id)) AS latest
            FROM rules_po_lines
            WHERE occurred_at <= T AND correlation_id != ''
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
            WHERE occurred_at <= T
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
