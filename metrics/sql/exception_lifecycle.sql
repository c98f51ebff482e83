-- Exception KPIs for each period [starts[i], ends[i]) as of {as_of}, from the exception
-- history as recorded by as_of, by family: exception_mtta_hours_p50 (opened to first acknowledged, for
-- exceptions first acknowledged in the period), exception_mttr_hours_p50 (opened to resolved,
-- for each resolution in the period, from the opening of the occurrence it closed) and
-- manual_intervention_rate ({} and by family: resolutions by a person over all resolutions).
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    acks AS (
        SELECT family, dateDiff('millisecond', argMin(opened_at, at), min(at)) AS ms,
            arrayFirstIndex((s, e) -> min(at) >= s AND min(at) < e, starts, ends) AS period
        FROM exception_history
        WHERE change = 'acknowledged' AND at <= T
        GROUP BY exception_id, family
        HAVING period > 0
    ),
    -- A resolution: the change into "resolved" (by a person: resolved; by the rules:
    -- auto_resolved), not the auto_resolved recorded when a person's resolve later clears.
    resolutions AS (
        SELECT family, change = 'resolved' AS by_person, dateDiff('millisecond', opened_at, at) AS ms,
            arrayFirstIndex((s, e) -> at >= s AND at < e, starts, ends) AS period
        FROM (
            SELECT family, change, at, opened_at,
                lagInFrame(status, 1, '') OVER (PARTITION BY exception_id ORDER BY version
                    ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS status_before
            FROM exception_history
            WHERE at <= T AND exception_id IN (
                SELECT exception_id FROM exception_history
                WHERE change IN ('resolved', 'auto_resolved') AND at <= T
                    AND at >= arrayMin(starts) AND at < arrayMax(ends))
        )
        WHERE change IN ('resolved', 'auto_resolved') AND status_before != 'resolved'
            AND period > 0
    )
SELECT toUInt32(period) AS period, 'exception_mtta_hours_p50' AS kpi, 'family' AS dim,
    family AS key, toFloat64(0) AS numerator, toFloat64(0) AS denominator,
    arraySort(groupArray(ms))[toUInt64(ceil(count() * 0.5))] / 3600000 AS value, count() AS n
FROM acks
GROUP BY period, family
UNION ALL
SELECT toUInt32(period), kpi, dim, key, numerator, denominator, value, n
FROM (
    SELECT period, tupleElement(g, 1) AS kpi, tupleElement(g, 2) AS dim,
        tupleElement(g, 3) AS key, toFloat64(countIf(by_person)) AS numerator,
        toFloat64(count()) AS denominator,
        if(kpi = 'manual_intervention_rate', nan,
            arraySort(groupArray(ms))[toUInt64(ceil(count() * 0.5))] / 3600000) AS value,
        count() AS n
    FROM resolutions
    ARRAY JOIN [
        ('exception_mttr_hours_p50', 'family', family),
        ('manual_intervention_rate', '', ''),
        ('manual_intervention_rate', 'family', family)] AS g
    GROUP BY period, g
)
