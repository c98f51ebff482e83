-- sla_breach as of {as_of}, per flow: silence (latest span start older than the tier's
-- limit), else error_rate, else p95 latency, over spans started in (T - window, T]; rates
-- need at least min_spans spans. Tier: configuration, else the latest declared tier, else 3.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    toDateTime64(T, 9) AS T9,
    T9 - toIntervalMillisecond({window_ms:Int64}) AS window_start,
    earlier AS (
        SELECT Flow, max(last) AS seen_at, argMaxIf(tier, hour, tier > 0) AS declared
        FROM rules_flow_hours
        WHERE hour < toStartOfHour(T) AND Flow != ''
        GROUP BY Flow
    ),
    this_hour AS (
        SELECT Flow, max(Timestamp) AS seen_at, argMaxIf(Tier, Timestamp, Tier > 0) AS declared
        FROM rules_spans
        WHERE Timestamp >= toStartOfHour(T) AND Timestamp <= T9 AND Flow != ''
        GROUP BY Flow
    ),
    seen AS (
        SELECT Flow, max(seen_at) AS last_seen,
            argMaxIf(declared, seen_at, declared > 0) AS declared_latest
        FROM (
            SELECT Flow, seen_at, declared FROM earlier
            UNION ALL
            SELECT Flow, seen_at, declared FROM this_hour
        )
        GROUP BY Flow
    ),
    win AS (
        SELECT Flow, count() AS spans, sum(IsError) AS errors,
            arraySort(groupArray(Duration)) AS durations
        FROM rules_spans
        WHERE Timestamp > window_start AND Timestamp <= T9 AND Flow != ''
        GROUP BY Flow
    ),
    judged AS (
        SELECT seen.Flow AS flow, seen.last_seen AS last_seen,
            multiIf(has({cfg_flows:Array(String)}, flow),
                    {cfg_tiers:Array(UInt8)}[indexOf({cfg_flows:Array(String)}, flow)],
                declared_latest > 0, declared_latest,
                3) AS tier_n,
            ifNull(w.spans, 0) AS n, ifNull(w.errors, 0) AS errs,
            if(n > 0, w.durations[toUInt64(ceil(0.95 * n))], 0) AS p95_ns,
            {silence_ms:Array(Int64)}[tier_n] AS silence_ms,
            {error_ppm:Array(Int64)}[tier_n] AS error_ppm,
            {p95_ns:Array(Int64)}[tier_n] AS limit_ns,
            multiIf(
                dateDiff('millisecond', last_seen, T9) > silence_ms, 'silence',
                n >= {min_spans:UInt32} AND errs * 1000000 > n * error_ppm, 'error_rate',
                n >= {min_spans:UInt32} AND p95_ns > limit_ns, 'latency',
                '') AS reason
        FROM seen LEFT JOIN win AS w ON w.Flow = seen.Flow
    )
SELECT
    'sla_breach' AS family,
    reason,
    toDateTime64(if(reason = 'silence',
        last_seen + toIntervalMillisecond(silence_ms), window_start), 3, 'UTC') AS since,
    flow AS entity,
    '' AS correlation_id,
    '' AS site,
    '' AS domain,
    '' AS po_number,
    '' AS invoice_number,
    '' AS supplier_id,
    '' AS receipt_id,
    flow,
    toString(tier_n) AS tier,
    map('spans', toString(n), 'errors', toString(errs), 'p95_ms', toString(p95_ns / 1000000),
        'last_seen', toString(last_seen), 'tier', toString(tier_n)) AS details,
    n AS window_spans,
    errs AS window_errors,
    p95_ns,
    limit_ns,
    error_ppm,
    silence_ms,
    last_seen
FROM judged
WHERE reason != '' OR {include_ok:UInt8} = 1
