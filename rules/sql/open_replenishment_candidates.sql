-- open_replenishment candidates as of {as_of}: every request that could have a finding, so
-- that a full run judges these alone (the cost follows open requests, not history). Left out
-- only when certainly closed: cancelled, or it has POs and none of them is short on a line
-- or shared with another request.
WITH {as_of:DateTime64(3, 'UTC')} AS T
SELECT correlation_id AS key
FROM rules_requests
WHERE occurred_at <= T
GROUP BY correlation_id
HAVING countIf(kind = 'replenishment.requested') > 0
    AND countIf(kind = 'replenishment.cancelled') = 0
    AND (correlation_id NOT IN (SELECT correlation_id FROM rules_po_lines WHERE occurred_at <= T)
        OR correlation_id IN (
            SELECT correlation_id FROM rules_po_lines
            WHERE occurred_at <= T
                AND (po_number IN (
                        SELECT po_number FROM rules_short_po_lines(as_of = {as_of:DateTime64(3, 'UTC')}))
                    OR po_number IN (
                        SELECT po_number FROM rules_po_by_correlation
                        GROUP BY po_number HAVING count() > 1))))
