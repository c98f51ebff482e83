-- governance as of {as_of}, one row per flow and per source system (DESIGN 5.8), over the
-- window (T - gov_window, T]; the first reason that applies:
--   unregistered_flow         spans (events) in the window from a flow (source system) not
--                             in `flows:` (`source_systems:`), once that section lists any;
--                             since its first span (event)
--   low_correlation_coverage  at least gov_min_spans spans in the window, fewer than
--                             gov_coverage_ppm of them with a correlation ID; since the
--                             window's start (as sla_breach's rates)
--   deprecated_api            spans in the window calling a version configured as deprecated
--                             for the flow; since its first call of such a version
--   stale_flow                a registered flow whose latest span is older than its
--                             stale_days (a flow never seen: counted from the first span
--                             rxsight holds of any flow); since then + stale_days
-- Whole hours inside the window come from the hourly inventory, the rest of the window
-- (its partial first and current hours) from the narrow span and event tables.
-- include_ok = 1 returns every flow and source system (the portfolio catalog), with reason
-- '' where none applies.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    toDateTime64(T, 9) AS T9,
    T9 - toIntervalMillisecond({gov_window_ms:Int64}) AS W9,
    toStartOfHour(W9) + toIntervalHour(1) AS full_from,
    toStartOfHour(T9) AS full_to,
    {gov_flows:Array(String)} AS registered_flows,
    {gov_sources:Array(String)} AS registered_sources,
    -- Per flow and version: window counts, first and last start as of T (NULL: none).
    flow_parts AS (
        SELECT Flow, ApiVersion,
            sumIf(spans, hour >= full_from) AS n, sumIf(correlated, hour >= full_from) AS c,
            sumIf(errors, hour >= full_from) AS e,
            toNullable(min(first)) AS first_seen, toNullable(max(last)) AS last_seen,
            max(tier) AS declared
        FROM governance_flow_hours
        WHERE hour < full_to AND Flow != ''
        GROUP BY Flow, ApiVersion
        UNION ALL
        SELECT Flow, ApiVersion,
            countIf(in_window) AS n, sumIf(Correlated, in_window) AS c,
            sumIf(IsError, in_window) AS e,
            if(countIf(Timestamp >= full_to) > 0, toNullable(minIf(Timestamp, Timestamp >= full_to)), NULL)
                AS first_seen,
            if(countIf(Timestamp >= full_to) > 0, toNullable(maxIf(Timestamp, Timestamp >= full_to)), NULL)
                AS last_seen,
            maxIf(Tier, Timestamp >= full_to) AS declared
        FROM (
            SELECT *, Timestamp > W9 AND NOT (Timestamp >= full_from AND Timestamp < full_to)
                AS in_window
            FROM governance_spans
            WHERE Flow != '' AND Timestamp <= T9
                AND ((Timestamp > W9 AND Timestamp < full_from) OR Timestamp >= full_to)
        )
        GROUP BY Flow, ApiVersion
    ),
    by_version AS (
        SELECT Flow, ApiVersion, sum(n) AS n, sum(c) AS c, sum(e) AS e,
            min(first_seen) AS first_seen, max(last_seen) AS last_seen, max(declared) AS declared,
            arrayExists((f, v) -> f = Flow AND v = ApiVersion,
                {gov_dep_flows:Array(String)}, {gov_dep_versions:Array(String)}) AS deprecated
        FROM flow_parts
        GROUP BY Flow, ApiVersion
    ),
    -- Where rxsight's record of spans begins: a registered flow never seen is counted from here.
    (SELECT min(first_seen) FROM by_version) AS observed_since,
    flows AS (
        SELECT Flow AS name, sum(n) AS volume, sum(c) AS correlated, sum(e) AS errors,
            min(first_seen) AS flow_first, max(last_seen) AS flow_last, max(declared) AS flow_tier,
            arraySort(groupArrayIf((ApiVersion, n), n > 0 AND ApiVersion != '')) AS versions,
            arraySort(groupArrayIf(ApiVersion, deprecated AND n > 0)) AS deprecated_seen,
            sumIf(n, deprecated) AS deprecated_calls,
            minIf(first_seen, deprecated AND n > 0) AS deprecated_since
        FROM (
            SELECT * FROM by_version
            UNION ALL
            -- Registered flows, seen or not.
            SELECT arrayJoin(registered_flows) AS Flow, '' AS ApiVersion, 0 AS n, 0 AS c,
                0 AS e, NULL AS first_seen, NULL AS last_seen, 0 AS declared, 0 AS deprecated
        )
        GROUP BY Flow
    ),
    judged_flows AS (
        SELECT 'flow' AS kind, name, has(registered_flows, name) AS registered,
            volume, correlated, errors, flow_first AS first_seen, flow_last AS last_seen,
            flow_tier AS declared, versions, deprecated_seen, deprecated_calls, deprecated_since,
            {gov_stale_ms:Array(Int64)}[indexOf(registered_flows, name)] AS stale_ms,
            ifNull(last_seen, observed_since) AS silent_from,
            multiIf(
                notEmpty(registered_flows) AND NOT registered AND volume > 0, 'unregistered_flow',
                volume >= {gov_min_spans:UInt32}
                    AND correlated * 1000000 < volume * {gov_coverage_ppm:UInt64},
                    'low_correlation_coverage',
                deprecated_calls > 0, 'deprecated_api',
                registered AND silent_from IS NOT NULL
                    AND silent_from + toIntervalMillisecond(stale_ms) < T9, 'stale_flow',
                '') AS reason,
            multiIf(
                reason = 'unregistered_flow', first_seen,
                reason = 'low_correlation_coverage', W9,
                reason = 'deprecated_api', deprecated_since,
                reason = 'stale_flow', silent_from + toIntervalMillisecond(stale_ms),
                NULL) AS since_at
        FROM flows
    ),
    source_parts AS (
        SELECT source_system, sumIf(events, hour >= full_from) AS n,
            sumIf(correlated, hour >= full_from) AS c,
            toNullable(min(first)) AS s_first, toNullable(max(last)) AS s_last
        FROM governance_source_hours
        WHERE hour < full_to AND source_system != ''
        GROUP BY source_system
        UNION ALL
        SELECT source_system, countIf(in_window) AS n, sumIf(Correlated, in_window) AS c,
            if(countIf(occurred_at >= full_to) > 0, toNullable(minIf(occurred_at, occurred_at >= full_to)), NULL)
                AS s_first,
            if(countIf(occurred_at >= full_to) > 0, toNullable(maxIf(occurred_at, occurred_at >= full_to)), NULL)
                AS s_last
        FROM (
            SELECT *, occurred_at > W9
                AND NOT (occurred_at >= full_from AND occurred_at < full_to) AS in_window
            FROM governance_events
            WHERE source_system != '' AND occurred_at <= T
                AND ((occurred_at > W9 AND occurred_at < full_from) OR occurred_at >= full_to)
        )
        GROUP BY source_system
        UNION ALL
        SELECT arrayJoin(registered_sources) AS source_system, 0 AS n, 0 AS c,
            NULL AS s_first, NULL AS s_last
    ),
    judged_sources AS (
        SELECT 'source_system' AS kind, source_system AS name,
            has(registered_sources, name) AS registered,
            sum(n) AS volume, sum(c) AS correlated, toUInt64(0) AS errors,
            toNullable(toDateTime64(min(s_first), 9)) AS first_seen,
            toNullable(toDateTime64(max(s_last), 9)) AS last_seen,
            toUInt8(0) AS declared, CAST([], 'Array(Tuple(String, UInt64))') AS versions,
            CAST([], 'Array(String)') AS deprecated_seen, toUInt64(0) AS deprecated_calls,
            CAST(NULL, 'Nullable(DateTime64(9))') AS deprecated_since, toInt64(0) AS stale_ms,
            last_seen AS silent_from,
            if(notEmpty(registered_sources) AND NOT registered AND volume > 0,
                'unregistered_flow', '') AS reason,
            if(reason != '', first_seen, NULL) AS since_at
        FROM source_parts
        GROUP BY source_system
    ),
    judged AS (
        SELECT * FROM judged_flows
        UNION ALL
        SELECT * FROM judged_sources
    )
SELECT
    'governance' AS family,
    reason,
    toDateTime64(ifNull(since_at, W9), 3, 'UTC') AS since,
    concat(kind, '/', name) AS entity,
    '' AS correlation_id,
    '' AS site,
    '' AS po_number,
    '' AS invoice_number,
    '' AS supplier_id,
    '' AS receipt_id,
    if(kind = 'flow', name, '') AS flow,
    -- Details that say something: no empty version list, no zero counts of deprecated
    -- calls, stale_days only for a registered flow.
    mapFilter((k, v) -> v NOT IN ('', '0') OR k IN ('volume', 'correlated'),
    map('kind', kind, 'name', name, 'volume', toString(volume),
        'correlated', toString(correlated),
        'deprecated_versions', arrayStringConcat(deprecated_seen, ','),
        'deprecated_calls', toString(deprecated_calls),
        'first_seen', ifNull(toString(toDateTime64(first_seen, 3, 'UTC')), ''),
        'last_seen', ifNull(toString(toDateTime64(last_seen, 3, 'UTC')), ''),
        'window_hours', toString({gov_window_ms:Int64} / 3600000),
        'stale_days', toString(intDiv(stale_ms, 86400000)))) AS details,
    kind, name, registered, volume, correlated, errors, first_seen, last_seen, declared, versions
FROM judged
WHERE reason != '' OR {include_ok:UInt8} = 1
ORDER BY kind, name
