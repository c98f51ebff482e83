-- Exception KPIs for the period [start, end) as of {as_of}, from the exception history as
-- recorded by as_of, by family: exception_mtta_hours_p50 (opened to first acknowledged, for
-- exceptions first acknowledged in the period), exception_mttr_hours_p50 (opened to resolved,
-- for each resolution in the period, from the opening of the occurrence it closed) and
-- manual_intervention_rate ({} and by family: resolutions by a person over all resolutions).
WITH
    {start:DateTime64(3, 'UTC')} AS S,
    {end:DateTime64(3, 'UTC')} AS E,
    {as_of:DateTime64(3, 'UTC')} AS T,
    acks AS (
        SELECT family, dateDiff('millisecond', argMin(opened_at, at), min(at)) AS ms
        FROM exception_history
        WHERE change = 'acknowledged' AND at <= T
        GROUP BY exception_id, family
        HAVING min(at) >= S AND min(at) < E
    ),
    -- A resolution: the change into "resolved" (by a person: resolved; by the rules:
    -- auto_resolved), not the auto_resolved recorded when a person's resolve later clears.
    resolutions AS (
        SELECT family, change = 'resolved' AS by_person, dateDiff('millisecond', opened_at, at) AS ms
        FROM (
            SELECT family, change, at, opened_at,
                lagInFrame(status, 1, '') OVER (PARTITION BY exception_id ORDER BY version
                    ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS status_before
            FROM exception_history
            WHERE at <= T AND exception_id IN (
                SELECT exception_id FROM exception_history
                WHERE change IN ('resolved', 'auto_resolved') AND at >= S AND at < E AND at <= T)
        )
        WHERE change IN ('resolved', 'auto_resolved') AND status_before != 'resolved'
            AND at >= S AND at < E
    )
SELECT 'exception_mtta_hours_p50' AS kpi, 'family' AS dim, family AS key,
    toFloat64(0) AS numerator, toFloat64(0) AS denominator,
    arraySort(groupArray(ms))[toUInt64(ceil(count() * 0.5))] / 3600000 AS value, count() AS n
FROM acks
GROUP BY family
UNION ALL
SELECT 'exception_mttr_hours_p50', 'family', family, 0, 0,
    arraySort(groupArray(ms))[toUInt64(ceil(count() * 0.5))] / 3600000, count()
FROM resolutions
GROUP BY family
UNION ALL
SELECT 'manual_intervention_rate', '', '', toFloat64(countIf(by_person)), toFloat64(count()),
    nan, count()
FROM resolutions
UNION ALL
SELECT 'manual_intervention_rate', 'family', family, toFloat64(countIf(by_person)),
    toFloat64(count()), nan, count()
FROM resolutions
GROUP BY family
