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
    -- Each request's facts (kpi_request_facts_as_of: its kept row where that holds as of
    -- as_of, else judged from its facts; {since}: the latest refresh's watermark), and its
    -- receipt limit by the configured thresholds.
    judged AS (
        SELECT correlation_id, requested_at, site, priority, full = 1 AS full, full_at,
            concat('replenishment.receipt_ms.', priority) AS k_rcv,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat(k_rcv, '|', site)),
                indexOf({tk:Array(String)}, concat(k_rcv, '|', site)),
                indexOf({tk:Array(String)}, concat(k_rcv, '|*')))] AS rcv_ms,
            requested_at + toIntervalMillisecond(rcv_ms) AS receipt_limit
        FROM kpi_request_facts_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
            since = {since:DateTime64(3, 'UTC')}, with_kept = 1)
        WHERE counted = 1
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
            -- Cycle times only for the cycle rows: a due row's would be sorted for nothing.
            arraySort(groupArrayIf(ms, tupleElement(g, 2) = 'cycle')) AS sorted, count() AS n
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
