-- unmatched_invoice candidates as of {as_of}: the POs billed by an invoice not matched, or
-- received more than once (every invoice on those POs is then judged, for cumulative
-- quantities). One pass groups each invoice's lines with its matches. Invoices are grouped
-- by a 128-bit hash of supplier and number: far cheaper than by the string pair.
WITH {as_of:DateTime64(3, 'UTC')} AS T
SELECT DISTINCT arrayJoin(po_numbers) AS key
FROM (
    SELECT groupUniqArrayIf(po_number, is_line) AS po_numbers
    FROM (
        SELECT sipHash128(supplier_id, invoice_number) AS invoice, po_number, event_id,
            1 AS is_line
        FROM rules_po_invoice_lines WHERE occurred_at <= T
        UNION ALL
        SELECT sipHash128(supplier_id, invoice_number), '', '', 0
        FROM rules_invoice_matches WHERE occurred_at <= T
    )
    GROUP BY invoice
    HAVING countIf(is_line) > 0
        AND (countIf(NOT is_line) = 0 OR minIf(event_id, is_line) != maxIf(event_id, is_line))
)
