-- The posting facts of every receipt with facts arrived after {since}, all facts counted,
-- as the newest version of its row (kpi_receipt_facts, migration 058).
INSERT INTO kpi_receipt_facts (receipt_id, site, received_at, posted_at, last_at, refreshed_at)
SELECT receipt_id, site, received_at, posted_at, last_at, now64(3, 'UTC')
FROM kpi_receipt_facts_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
    since = {since:DateTime64(3, 'UTC')}, with_kept = 0)
