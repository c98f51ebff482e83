-- The audit log becomes a hash chain (rxsight/audit.py): each entry carries its place in
-- the chain, the hash of the entry before it and its own hash. Entries written before this
-- migration keep seq 0; the first entry of the chain seals them with a digest.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS prev_hash String DEFAULT '';
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS hash String DEFAULT '';
ALTER TABLE audit_log ADD INDEX IF NOT EXISTS audit_seq seq TYPE minmax GRANULARITY 1;
-- Appends claim their place with insert_deduplication_token 'audit:<seq>': of two writers
-- (processes sharing one ClickHouse) claiming the same place, the second insert is dropped
-- and that writer reads back, sees another hash there and takes the next place.
ALTER TABLE audit_log MODIFY SETTING non_replicated_deduplication_window = 100000;
