-- Requests rules_replenishment_requests cannot settle at {as_of}: requested and not cancelled
-- by then, with facts dated after it (the rule judges them). `same_items`: the item crosswalk
-- in force at {as_of} is the one the rows were judged with (receipts match PO lines by item).
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    (SELECT arraySort(arrayZip(item_from, item_to)) FROM masterdata_maps(as_of = T)) AS items_then,
    (SELECT arraySort(arrayZip(item_from, item_to))
        FROM masterdata_maps(as_of = {end:DateTime64(3, 'UTC')})) AS items_end
SELECT
    items_then = items_end AS same_items,
    (
        SELECT groupArray(correlation_id) FROM rules_replenishment_requests FINAL
        WHERE requested_at <= T AND (cancelled_at IS NULL OR cancelled_at > T)
            AND last_fact_at > T
    ) AS keys
