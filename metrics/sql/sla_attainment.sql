-- sla_attainment for each period [starts[i], ends[i]) as of {as_of}, by flow and by tier: at
-- each instant t = start + k * 15 min in (start, end], t <= as_of, each flow seen by t (a span
-- at or before t) counts once, and counts as attained unless the sla_breach rule would find it
-- at t: silence (latest span older than the tier's limit), else error rate, else p95 over the
-- spans started in (t - window, t], with at least min_spans spans. The thresholds are the
-- rules' own (rules.public.query_params). Every instant is judged in one pass: each span is
-- counted in the windows of the instants it falls in. A flow's tier: the configuration, else
-- the latest tier its spans declared by the last period's end, else 3. Several periods share
-- one grid of instants from the first start (calendar periods start on it: midnights).
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    arrayMin(starts) AS S,
    arrayMax(ends) AS E,
    {as_of:DateTime64(3, 'UTC')} AS T,
    toInt64(900000000000) AS step_ns,
    toInt64({window_ms:Int64}) * 1000000 AS window_ns,
    toInt64(toUnixTimestamp64Nano(toDateTime64(S, 9))) AS start_ns,
    toInt64(toUnixTimestamp64Nano(toDateTime64(least(E, T), 9))) AS last_ns,
    toInt64(intDiv(last_ns - start_ns, step_ns)) AS instants,
    -- A base before every window's start, so that bucket arithmetic stays on positive numbers.
    toInt64(intDiv(window_ns, step_ns) + 1) AS lead,
    start_ns - lead * step_ns AS base_ns,
    spans AS (
        SELECT Flow, toInt64(toUnixTimestamp64Nano(Timestamp)) AS ts_ns, Duration, IsError,
            ts_ns - base_ns AS d,
            toInt64(intDiv(d + step_ns - 1, step_ns)) - lead AS first_k,
            toInt64(intDiv(d + window_ns - 1, step_ns)) - lead AS last_k
        FROM rules_spans
        WHERE Timestamp > toDateTime64(S, 9) - toIntervalMillisecond({window_ms:Int64})
            AND toInt64(toUnixTimestamp64Nano(Timestamp)) <= last_ns AND Flow != ''
    ),
    windows AS (
        SELECT Flow, k, count() AS n, sum(IsError) AS errs,
            arraySort(groupArray(Duration))[toUInt64(ceil(0.95 * n))] AS p95_ns
        FROM spans
        ARRAY JOIN range(greatest(first_k, 1), least(last_k, instants) + 1) AS k
        GROUP BY Flow, k
    ),
    -- Latest span at or before each instant: the latest before the period, then per instant.
    before AS (
        SELECT Flow, max(seen) AS seen_ns
        FROM (
            SELECT Flow, toInt64(toUnixTimestamp64Nano(max(last))) AS seen
            FROM rules_flow_hours
            WHERE hour < toStartOfHour(S) AND Flow != ''
            GROUP BY Flow
            UNION ALL
            SELECT Flow, toInt64(toUnixTimestamp64Nano(max(Timestamp)))
            FROM rules_spans
            WHERE Timestamp >= toStartOfHour(S) AND Timestamp <= toDateTime64(S, 9) AND Flow != ''
            GROUP BY Flow
        )
        GROUP BY Flow
    ),
    buckets AS (
        SELECT Flow, first_k AS k, max(ts_ns) AS seen_ns
        FROM spans
        WHERE first_k >= 1
        GROUP BY Flow, k
    ),
    flows AS (
        SELECT Flow,
            multiIf(has({cfg_flows:Array(String)}, Flow),
                    {cfg_tiers:Array(UInt8)}[indexOf({cfg_flows:Array(String)}, Flow)],
                argMaxIf(tier, hour, tier > 0) > 0, argMaxIf(tier, hour, tier > 0),
                3) AS tier
        FROM rules_flow_hours
        WHERE hour <= toStartOfHour(least(E, T)) AND Flow != ''
        GROUP BY Flow
    ),
    grid AS (
        SELECT fk.Flow AS Flow, fk.tier AS tier, fk.k AS k,
            toInt64(start_ns + fk.k * step_ns) AS t_ns,
            max(greatest(ifNull(b.seen_ns, 0), ifNull(bf.seen_ns, 0))) OVER (
                PARTITION BY fk.Flow ORDER BY fk.k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                AS last_seen_ns
        FROM (
            SELECT Flow, tier, instant AS k FROM flows ARRAY JOIN range(1, instants + 1) AS instant
        ) AS fk
        LEFT JOIN buckets AS b ON b.Flow = fk.Flow AND b.k = fk.k
        LEFT JOIN before AS bf ON bf.Flow = fk.Flow
        SETTINGS join_use_nulls = 1
    ),
    judged AS (
        SELECT g.Flow AS flow, g.tier AS tier, g.k AS k,
            arrayFirstIndex((s, e) -> g.t_ns > toUnixTimestamp64Nano(toDateTime64(s, 9))
                AND g.t_ns <= toUnixTimestamp64Nano(toDateTime64(e, 9)), starts, ends) AS period,
            ifNull(w.n, 0) AS n, ifNull(w.errs, 0) AS errs, ifNull(w.p95_ns, 0) AS p95,
            multiIf(
                intDiv(g.t_ns, 1000000) - intDiv(g.last_seen_ns, 1000000)
                    > {silence_ms:Array(Int64)}[tier], 'silence',
                n >= {min_spans:UInt32} AND errs * 1000000 > n * {error_ppm:Array(Int64)}[tier],
                    'error_rate',
                n >= {min_spans:UInt32} AND p95 > {p95_ns:Array(Int64)}[tier], 'latency',
                '') AS reason
        FROM grid AS g
        LEFT JOIN windows AS w ON w.Flow = g.Flow AND w.k = g.k
        WHERE g.last_seen_ns > 0 AND period > 0
        SETTINGS join_use_nulls = 1
    )
SELECT toUInt32(period) AS period, 'sla_attainment' AS kpi, tupleElement(g, 1) AS dim,
    tupleElement(g, 2) AS key, toFloat64(countIf(reason = '')) AS numerator,
    toFloat64(count()) AS denominator, nan AS value, count() AS n
FROM judged
ARRAY JOIN [('flow', flow), ('tier', toString(tier))] AS g
GROUP BY period, g
