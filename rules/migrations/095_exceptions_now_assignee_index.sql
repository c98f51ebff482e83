-- "My items" and the assignee filter: a set index on the kept state's assignee, so granules
-- where nobody (or someone else) is assigned are skipped, FINAL included. Most exceptions
-- are assigned to nobody; at a million unassigned ones "my items" read every row twice
-- (the page and its count) to find none.
ALTER TABLE exceptions_now
    ADD INDEX IF NOT EXISTS assignee_set assignee TYPE set(0) GRANULARITY 1;
ALTER TABLE exceptions_now MATERIALIZE INDEX assignee_set SETTINGS mutations_sync = 1;
