-- What exceptions_page.sql needs to find exceptions by item when an item or a search is asked
-- for (run only then: as scalar subqueries of the page they cost 15-25 ms on every request).
-- q_is_item: some item code begins with the search, so the search also looks on documents'
-- lines.
-- lines_from: each row knows the items on its documents' lines written before its
-- line_items_at (rules/migrations/100); the lines written from the oldest of those among the
-- rows read are looked up by the page (the kept rows, and the history's when an instant,
-- {at_instant} = 1, reads it). A superset of the rows read: an older instant only looks up
-- more lines.
SELECT
    {q:String} != '' AND (SELECT count() FROM (SELECT 1 FROM rules_item_documents
        WHERE startsWith(item_key, lower({q:String})) LIMIT 1)) > 0 AS q_is_item,
    least(
        ifNull((SELECT minOrNull(line_items_at) FROM exceptions_now), toDateTime64(0, 3, 'UTC')),
        ifNull((SELECT minOrNull(line_items_at) FROM exception_history
            WHERE {at_instant:UInt8} = 1 AND at <= {now:DateTime64(3, 'UTC')}
                AND exception_id IN (SELECT exception_id FROM exceptions_now
                    WHERE at > {now:DateTime64(3, 'UTC')})),
            toDateTime64('2999-01-01', 3, 'UTC'))) AS lines_from,
    -- Whether any line was written since: when none was (the usual case between two
    -- evaluations), the page leaves its look-up of those lines out (two empty sets cost ~25 ms
    -- of the item page at a million exceptions; this check ~3 ms).
    (SELECT count() FROM (SELECT 1 FROM rules_item_documents
        WHERE written_at >= lines_from LIMIT 1)) > 0 AS lines_since
