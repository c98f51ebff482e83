-- Entity keys whose facts arrived after {since}: correlation IDs (open_replenishment),
-- PO numbers (delayed_receipt, supplier_response; unmatched_invoice by the POs its invoices bill) and receipt
-- IDs (receipt_posting). A receipt touches its PO and the PO's request. Facts dated after
-- the previous run's instant that have now come due count as touched too. An invoice is
-- judged whole, so unmatched_invoice's POs come with those of every invoice they are billed
-- by (invoice_seed, then one step further in invoice_po_numbers; the planner takes further
-- steps while they find more). A crosswalk version loaded since, or coming into force since
-- the previous run, changes identifiers every rule matches on: crosswalk_changes > 0 asks
-- for a full run.
WITH
    {since:DateTime64(3, 'UTC')} AS W,
    {previous_as_of:DateTime64(3, 'UTC')} AS P,
    {as_of:DateTime64(3, 'UTC')} AS T,
    po_touched AS (
        SELECT po_number FROM rules_po_lines WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
        UNION DISTINCT
        SELECT po_number FROM rules_po_acks WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
        UNION DISTINCT
        SELECT po_number FROM rules_receipt_lines WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
    ),
    invoice_seed AS (
        SELECT po_number FROM po_touched
        UNION DISTINCT
        -- By invoice number alone: another supplier's invoice of the same number only
        -- widens the scope a little.
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (
            SELECT invoice_number FROM rules_po_invoice_lines WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
            UNION ALL
            SELECT invoice_number FROM rules_invoice_matches WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
        )
    )
SELECT
    (
        SELECT groupUniqArray(correlation_id) FROM (
            SELECT correlation_id FROM rules_requests WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
            UNION ALL
            SELECT correlation_id FROM rules_po_lines WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
            UNION ALL
            SELECT correlation_id FROM rules_po_lines WHERE po_number IN (
                SELECT po_number FROM rules_receipt_lines WHERE (received_at > W OR occurred_at > P AND occurred_at <= T))
        )
    ) AS correlation_ids,
    (SELECT groupUniqArray(po_number) FROM po_touched) AS po_numbers,
    -- supplier_response: the POs touched above, and those the supplier's steps name.
    (
        SELECT groupUniqArray(po_number) FROM (
            SELECT po_number FROM po_touched
            UNION ALL
            SELECT po_number FROM rules_po_supplier_steps
            WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
        )
    ) AS supplier_po_numbers,
    (SELECT groupUniqArray(po_number) FROM invoice_seed) AS invoice_seed,
    (
        SELECT groupUniqArray(po_number) FROM (
            SELECT po_number FROM invoice_seed
            UNION ALL
            SELECT po_number FROM rules_pos_by_invoice
            WHERE invoice_number IN (
                SELECT invoice_number FROM rules_po_invoice_lines
                WHERE po_number IN (SELECT po_number FROM invoice_seed))
        )
    ) AS invoice_po_numbers,
    (SELECT groupUniqArray(receipt_id) FROM rules_receipts WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)) AS receipt_ids,
    -- reconciliation: receipts whose bookings or journals changed, those of the POs whose
    -- journals (naming no receipt) or prices changed.
    (
        SELECT groupUniqArray(receipt_id) FROM (
            SELECT receipt_id FROM rules_receipt_bookings
            WHERE (received_at > W OR occurred_at > P AND occurred_at <= T)
            UNION ALL
            SELECT receipt_id FROM rules_journals
            WHERE receipt_id != '' AND (received_at > W OR occurred_at > P AND occurred_at <= T)
            UNION ALL
            SELECT receipt_id FROM rules_receipt_bookings
            WHERE po_number IN (
                SELECT po_number FROM rules_journals
                WHERE receipt_id = '' AND (received_at > W OR occurred_at > P AND occurred_at <= T)
                UNION ALL
                SELECT po_number FROM rules_po_lines
                WHERE (received_at > W OR occurred_at > P AND occurred_at <= T))
        )
    ) AS reconciliation_receipt_ids,
    (SELECT count() FROM masterdata_identifiers WHERE loaded_at > W OR valid_from > P AND valid_from <= T) AS crosswalk_changes
