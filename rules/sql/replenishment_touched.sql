-- Replenishment requests whose facts arrived after {since}; `crosswalk_changes` > 0: a
-- crosswalk version loaded since, which may change how receipts match PO lines and which
-- site a request is at, so every request is refreshed.
SELECT
    (
        SELECT groupUniqArray(correlation_id)
        FROM rules_replenishments_touched(since = {since:DateTime64(3, 'UTC')})
    ) AS correlation_ids,
    (
        SELECT count() FROM masterdata_identifiers WHERE loaded_at > {since:DateTime64(3, 'UTC')}
    ) AS crosswalk_changes
