-- The stored versions (content hash, arrival) of a request's events, by their transactions'
-- correlation IDs (the primary key's prefix), bound as one JSON array as in stored_event_ids.
SELECT event_id, content_hash, received_at
FROM business_events
WHERE correlation_id IN (
    SELECT arrayJoin(JSONExtract({correlation_ids:String}, 'Array(String)'))
)
