-- Rules stage: the invoice tables and map 017 replaced (018 copied their last hour again),
-- and their views.
DROP TABLE IF EXISTS rules_invoice_lines_mv;
DROP TABLE IF EXISTS rules_invoice_lines;
DROP TABLE IF EXISTS rules_invoice_closes_mv;
DROP TABLE IF EXISTS rules_invoice_closes;
DROP TABLE IF EXISTS rules_invoices_by_po_mv;
DROP TABLE IF EXISTS rules_invoices_by_po;
