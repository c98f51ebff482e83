-- What each stored event said, as a hash of its content: a resent event_id is answered as a
-- duplicate when it says the same, and refused as a conflict when it does not. Events stored
-- before this column carry 0: their resends count as duplicates.
ALTER TABLE business_events ADD COLUMN IF NOT EXISTS content_hash UInt64 DEFAULT 0 CODEC(ZSTD(1));
