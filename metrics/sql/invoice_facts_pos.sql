-- The POs quoted by the invoices whose kept row a refresh after {since} rewrites: the rules
-- judge these (with every PO billed together with them) to give those invoices' outcomes.
SELECT DISTINCT po_number
FROM rules_pos_by_invoice
WHERE invoice_number IN (
    SELECT invoice_number FROM kpi_invoices_touched(since = {since:DateTime64(3, 'UTC')},
        as_of = {as_of:DateTime64(3, 'UTC')}))
