-- The stored event IDs of a batch's transactions, to drop resends and spool replays.
-- Only the correlation IDs are bound (the primary key's prefix): binding every event ID
-- cost more in client-side escaping than the lookup itself.
SELECT event_id
FROM business_events
WHERE correlation_id IN {correlation_ids:Array(String)}
