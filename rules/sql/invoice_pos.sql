-- The POs billed by the invoices that bill these POs (by invoice number alone: another
-- supplier's invoice of the same number only widens the scope a little).
SELECT DISTINCT po_number
FROM rules_pos_by_invoice
WHERE invoice_number IN (
    SELECT invoice_number FROM rules_po_invoice_lines
    WHERE po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String}))
