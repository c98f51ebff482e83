-- Changes whenever something the KPIs read may have: the highest block number of each table
-- they derive from (an insert takes the next one, a merge keeps it; the rules' fact tables
-- and the span tables are filled from business_events and otel_traces by their views), and
-- how many active parts hold them (a part dropped by TTL).
SELECT toString(groupArray((table, top, parts)))
FROM (
    SELECT table, max(max_block_number) AS top, count() AS parts
    FROM system.parts
    WHERE database = currentDatabase() AND active
        AND table IN ('business_events', 'otel_traces', 'exception_history', 'masterdata_identifiers')
    GROUP BY table
    ORDER BY table
)
