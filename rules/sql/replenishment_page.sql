-- The /replenishments page at {as_of}: requests open then, filtered; one row with the
-- totals, the sites and priorities on offer, and the page's correlation IDs (late first,
-- then oldest; replenishment_page_rows.sql reads their rows). A request open with every fact
-- has a row in rules_replenishments_open (those written since {open_since} count) that
-- settles it when its facts all lie at or before {as_of}; a request closed with every fact
-- is closed then unless a fact of it is dated after {as_of} (rules_replenishments_kept: any
-- version, a superset). The requests in rules_scope under {judged} (those whose facts arrived
-- after the rows' refresh, and any the rows could not settle) were judged by the
-- open_replenishment rule at {as_of}, its rows under {verdicts} in
-- rules_replenishment_verdicts ({all_judged}: every request was judged so). `unsettled`:
-- requests neither settled nor judged, for the rule to judge before the page is asked again.
-- `same_crosswalk`: the kept rows' sites and items, mapped with the crosswalk in force after
-- every fact, are those in force at {as_of} too.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    judged AS (SELECT key FROM rules_scope WHERE run_id = {judged:String}),
    candidates AS (
        SELECT correlation_id, requested_at, since, site, priority, item_id,
            last_fact_at > T AS unsettled, NOT unsettled AS open
        FROM rules_replenishments_open FINAL
        WHERE NOT {all_judged:UInt8} AND refreshed_at >= {open_since:DateTime64(3, 'UTC')}
            AND is_open = 1 AND requested_at <= T
            AND correlation_id NOT IN judged
        UNION ALL
        SELECT correlation_id, requested_at, since, site, priority, item_id, true, false
        FROM rules_replenishments_kept
        -- Said outright: left to the optimizer, every row's columns were read (half the query).
        PREWHERE last_fact_at > T
        WHERE NOT {all_judged:UInt8}
            AND requested_at <= T
            AND (cancelled_at IS NULL OR cancelled_at > T)
            AND correlation_id NOT IN judged
        UNION ALL
        SELECT correlation_id,
            parseDateTime64BestEffort(JSONExtractString(details, 'requested_at'), 3, 'UTC'),
            since, site, JSONExtractString(details, 'priority'),
            JSONExtractString(details, 'item_id'), false, true
        FROM rules_replenishment_verdicts
        WHERE run_id = {verdicts:String}
    ),
    open_then AS (
        SELECT *,
            since <= T AS late,
            open
            AND ({site:String} = '' OR site = {site:String})
            AND ({priority:String} = '' OR priority = {priority:String})
            AND startsWith(lower(item_id), lower({item:String}))
            AND (NOT {late_only:UInt8} OR late) AS wanted
        FROM candidates
    )
SELECT
    (SELECT count() FROM masterdata_identifiers
        WHERE kind IN ('site', 'item') AND valid_from > T) = 0 AS same_crosswalk,
    groupUniqArrayIf(correlation_id, unsettled) AS unsettled,
    arraySort(groupUniqArrayIf(site, open)) AS sites,
    arraySort(groupUniqArrayIf(priority, open)) AS priorities,
    countIf(wanted) AS total,
    countIf(wanted AND late) AS late_total,
    -- The first offset + limit in order, kept as they come (a sort of every row cost a
    -- third of the query); 16777215 is the most groupArraySorted keeps.
    arrayMap(x -> x.3, arraySlice(
        groupArraySortedIf(least({offset:UInt64} + {limit:UInt64}, 16777215))(
            (NOT late, requested_at, correlation_id), wanted),
        {offset:UInt64} + 1, {limit:UInt64})) AS page
FROM open_then
