-- Metrics stage: 059's views with the supplier mapped once per query (one look at the
-- crosswalk, then transform()) over rules_po_invoice_lines itself, instead of through
-- rules_po_invoice_lines_canonical (three looks at the crosswalk and a FINAL at each use):
-- the same invoices, since only their first time and POs are read (duplicates change
-- neither), for a third of the cost in the KPI queries, which name these views three times.
CREATE OR REPLACE VIEW kpi_invoices_touched AS
WITH
    {since:DateTime64(3, 'UTC')} AS S,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')}))
        AS suppliers,
    pos_arrived AS (
        SELECT po_number FROM rules_po_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_receipt_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_po_invoice_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (SELECT invoice_number FROM rules_invoice_matches WHERE received_at > S)
    ),
    pos_touched AS (
        SELECT po_number FROM pos_arrived
        UNION DISTINCT
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (
            SELECT invoice_number FROM rules_po_invoice_lines WHERE po_number IN pos_arrived)
    )
SELECT DISTINCT transform(supplier_id, suppliers.1, suppliers.2, supplier_id) AS supplier_id,
    invoice_number
FROM rules_po_invoice_lines
WHERE po_number IN pos_touched;

CREATE OR REPLACE VIEW kpi_invoices_as_of AS
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    {since:DateTime64(3, 'UTC')} AS S,
    (SELECT count() FROM masterdata_identifiers WHERE loaded_at > S OR valid_from > T)
        AS crosswalk_moved,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')}))
        AS suppliers,
    touched AS (
        SELECT * FROM kpi_invoices_touched(since = {since:DateTime64(3, 'UTC')},
            as_of = {as_of:DateTime64(3, 'UTC')})
    )
SELECT supplier_id, invoice_number, first_at, po_numbers,
    if(last_at <= T AND thresholds = {thresholds:String}, if(since <= T, toString(reason), ''),
        NULL) AS kept_reason
FROM kpi_invoice_facts FINAL
WHERE crosswalk_moved = 0 AND first_at <= T AND (supplier_id, invoice_number) NOT IN touched
UNION ALL
-- The touched invoices, or after a crosswalk change every invoice, judged from their facts
-- with the mapping in force at T.
SELECT supplier_id, invoice_number, min(occurred_at) AS first_at,
    groupUniqArray(po_number) AS po_numbers, CAST(NULL AS Nullable(String)) AS kept_reason
FROM (
    SELECT transform(supplier_id, suppliers.1, suppliers.2, supplier_id) AS supplier_id,
        invoice_number, occurred_at, po_number
    FROM rules_po_invoice_lines
    WHERE occurred_at <= T AND (crosswalk_moved > 0 OR po_number IN (
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (SELECT invoice_number FROM touched)))
)
WHERE crosswalk_moved > 0 OR (supplier_id, invoice_number) IN touched
GROUP BY supplier_id, invoice_number;
