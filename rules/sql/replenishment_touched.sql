-- Replenishment requests whose facts (request events, PO lines, receipts of their POs)
-- arrived after {since}; `crosswalk_changes` > 0: a crosswalk version loaded since, which
-- may change how receipts match PO lines, so every request is refreshed.
WITH {since:DateTime64(3, 'UTC')} AS W
SELECT
    (
        SELECT groupUniqArray(correlation_id) FROM (
            SELECT correlation_id FROM rules_requests WHERE received_at > W
            UNION ALL
            SELECT correlation_id FROM rules_po_lines WHERE received_at > W
            UNION ALL
            SELECT correlation_id FROM rules_po_by_correlation WHERE po_number IN (
                SELECT po_number FROM rules_receipt_lines WHERE received_at > W)
        )
    ) AS correlation_ids,
    (SELECT count() FROM masterdata_identifiers WHERE loaded_at > W) AS crosswalk_changes
