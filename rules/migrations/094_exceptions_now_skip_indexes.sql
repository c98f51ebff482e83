-- Skip indexes on the kept current state (rules/migrations/091), so the list's common
-- filters read a few granules instead of a million rows (FINAL uses them too,
-- use_skip_indexes_if_final):
-- - family: exception ids begin with their family, so one family's exceptions lie together
--   in the table's order (a family filter read 8 of 134 granules at a million exceptions);
-- - at: "now" and recent instants find no kept row changed after them, so the view's history
--   path (exceptions_as_of) reads nothing instead of scanning every row's `at`;
-- - search_text: the search's LIKE '%…%' skips the granules whose trigrams cannot hold it
--   (6 of 134 for an invoice number's prefix).
ALTER TABLE exceptions_now
    ADD INDEX IF NOT EXISTS family_set family TYPE set(0) GRANULARITY 1,
    ADD INDEX IF NOT EXISTS at_minmax at TYPE minmax GRANULARITY 1,
    ADD INDEX IF NOT EXISTS search_trigrams search_text TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1;
ALTER TABLE exceptions_now MATERIALIZE INDEX family_set SETTINGS mutations_sync = 1;
ALTER TABLE exceptions_now MATERIALIZE INDEX at_minmax SETTINGS mutations_sync = 1;
ALTER TABLE exceptions_now MATERIALIZE INDEX search_trigrams SETTINGS mutations_sync = 1;
