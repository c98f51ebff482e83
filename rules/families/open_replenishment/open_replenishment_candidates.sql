-- open_replenishment candidates as of {as_of}: every request that could have a finding, so
-- that a full run judges these alone (the cost follows open requests, not history). Left out
-- only when certainly closed: cancelled, or it has POs and none of them is short on a line
-- or shared with another request. The POs short on a line as of {as_of} (delayed_receipt's
-- candidates) are in rules_scope under {short_pos}. One pass groups each request's events
-- with its PO lines.
WITH {as_of:DateTime64(3, 'UTC')} AS T
SELECT correlation_id AS key
FROM (
    SELECT correlation_id, kind, false AS doubtful_po
    FROM rules_requests
    WHERE occurred_at <= T
    UNION ALL
    SELECT correlation_id, 'po line',
        po_number IN (SELECT key FROM rules_scope WHERE run_id = {short_pos:String})
        OR po_number IN (
            SELECT po_number FROM rules_po_by_correlation GROUP BY po_number HAVING count() > 1)
    FROM rules_po_lines
    WHERE occurred_at <= T
)
GROUP BY correlation_id
HAVING countIf(kind = 'replenishment.requested') > 0
    AND countIf(kind = 'replenishment.cancelled') = 0
    AND (countIf(kind = 'po line') = 0 OR countIf(doubtful_po) > 0)
