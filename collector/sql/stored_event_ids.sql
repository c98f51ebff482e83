-- Which of a batch's event IDs are stored already (resends, spool replays after a crash).
SELECT event_id
FROM business_events
WHERE correlation_id IN {correlation_ids:Array(String)}
  AND event_id IN {ids:Array(String)}
