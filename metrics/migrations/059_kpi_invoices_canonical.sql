-- Metrics stage: the invoice KPIs count invoices as the rules judge them (DESIGN 5.7):
-- supplier_id made canonical through the crosswalk in force at as_of, so an invoice received
-- under two of a supplier's identifiers is one invoice, and the rules' finding for it (keyed
-- by the canonical supplier) is its finding. kpi_invoice_facts is keyed the same way, by the
-- crosswalk in force after every version (a refresh counts every fact); a query as of T uses
-- it only while no version comes into force after T and none was loaded since the refresh
-- (else every invoice is judged from its facts as of T). The refresh watermark's name
-- changes with this migration (metrics/facts.py), so every row is written again.
CREATE OR REPLACE VIEW kpi_invoices_touched AS
WITH
    {since:DateTime64(3, 'UTC')} AS S,
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
SELECT DISTINCT supplier_id, invoice_number
FROM rules_po_invoice_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
WHERE po_number IN pos_touched;

CREATE OR REPLACE VIEW kpi_invoices_as_of AS
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    {since:DateTime64(3, 'UTC')} AS S,
    (SELECT count() FROM masterdata_identifiers WHERE loaded_at > S OR valid_from > T)
        AS crosswalk_moved,
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
SELECT supplier_id, invoice_number, min(occurred_at) AS first_at,
    groupUniqArray(po_number) AS po_numbers, CAST(NULL AS Nullable(String)) AS kept_reason
FROM rules_po_invoice_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
WHERE crosswalk_moved = 0 AND occurred_at <= T
    AND po_number IN (
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (SELECT invoice_number FROM touched))
    AND (supplier_id, invoice_number) IN touched
GROUP BY supplier_id, invoice_number
UNION ALL
-- A crosswalk change: every invoice, judged from its facts with the mapping in force at T.
SELECT supplier_id, invoice_number, min(occurred_at) AS first_at,
    groupUniqArray(po_number) AS po_numbers, CAST(NULL AS Nullable(String)) AS kept_reason
FROM rules_po_invoice_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
WHERE crosswalk_moved > 0 AND occurred_at <= T
GROUP BY supplier_id, invoice_number;
