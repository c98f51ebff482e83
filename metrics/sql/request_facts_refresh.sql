-- The facts of every request touched since {since} (see po_facts_refresh.sql), all facts
-- counted, as the newest version of its row.
INSERT INTO kpi_request_facts (correlation_id, counted, requested_at, site, priority, full,
    full_at, last_at, refreshed_at)
SELECT correlation_id, counted, requested_at, site, priority, full, full_at, last_at,
    now64(3, 'UTC')
FROM kpi_request_facts_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
    since = {since:DateTime64(3, 'UTC')}, with_kept = 0)
