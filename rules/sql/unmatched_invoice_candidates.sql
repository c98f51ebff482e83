-- unmatched_invoice candidates as of {as_of}: the POs billed by an invoice not matched, or
-- received more than once (every invoice on those POs is then judged, for cumulative
-- quantities). Invoice keys are compared as 128-bit hashes: far cheaper than string pairs.
WITH {as_of:DateTime64(3, 'UTC')} AS T
SELECT DISTINCT po_number AS key
FROM rules_invoice_lines
WHERE occurred_at <= T
    AND (sipHash128(supplier_id, invoice_number) NOT IN (
            SELECT sipHash128(supplier_id, invoice_number)
            FROM rules_invoice_closes WHERE occurred_at <= T)
        OR sipHash128(supplier_id, invoice_number) IN (
            SELECT sipHash128(supplier_id, invoice_number) AS invoice
            FROM rules_invoice_lines WHERE occurred_at <= T
            GROUP BY invoice HAVING min(event_id) != max(event_id)))
