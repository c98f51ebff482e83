-- The month-end reconciliation's facts as of {as_of}: the receipts first received in the
-- month (a goods.received in [starts[i], ends[i]) of its site's calendar: i = the site's
-- place in {sites}, 1 (UTC) for a site without its own zone), and of those receipts every
-- goods.received and receipt.posted, the journal.posted naming them (or naming only their
-- PO), and their POs' po.created. Each event once, however often it was delivered.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    {sites:Array(String)} AS zone_sites,
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    month_receipts AS (
        SELECT receipt_id, min((occurred_at, site)) AS first
        FROM business_events
        WHERE event_type = 'goods.received' AND receipt_id != '' AND occurred_at <= T
            AND occurred_at >= arrayMin(starts) AND occurred_at < arrayMax(ends)
        GROUP BY receipt_id
        HAVING tupleElement(first, 1) >= starts[greatest(indexOf(zone_sites, tupleElement(first, 2)), 1)]
            AND tupleElement(first, 1) < ends[greatest(indexOf(zone_sites, tupleElement(first, 2)), 1)]
    ),
    month_pos AS (
        SELECT DISTINCT po_number
        FROM business_events
        WHERE event_type = 'goods.received' AND po_number != ''
            AND receipt_id IN (SELECT receipt_id FROM month_receipts)
    )
SELECT event_id, event_type, occurred_at, site, po_number, supplier_id, receipt_id,
    quantity, amount, currency,
    lines.line_no AS line_no, lines.item_id AS line_item_id, lines.quantity AS line_quantity,
    lines.unit_price AS line_unit_price
FROM business_events
WHERE occurred_at <= T AND (
    (event_type IN ('goods.received', 'receipt.posted')
        AND receipt_id IN (SELECT receipt_id FROM month_receipts))
    OR (event_type = 'journal.posted' AND (receipt_id IN (SELECT receipt_id FROM month_receipts)
        OR (receipt_id = '' AND po_number IN (SELECT po_number FROM month_pos))))
    OR (event_type = 'po.created' AND po_number IN (SELECT po_number FROM month_pos)))
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
