-- Rules stage: the fact tables as the rules read them, with the identifiers they match on made
-- canonical through the crosswalk in force at {as_of} (060): `<table>_canonical(as_of = ...)`.
-- The one place identifiers become canonical; a rule reads these instead of the tables, so an
-- invoice line carrying the supplier's catalog number meets the PO line carrying the NDC.
-- An identifier the crosswalk does not know, and every identifier when there is no crosswalk,
-- passes as sent. Filters on the table's own columns (po_number, occurred_at, ...) still
-- reach its primary key through the view.

CREATE VIEW IF NOT EXISTS rules_requests_canonical AS
WITH
    (SELECT (site_from, site_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS sites,
    (SELECT (item_from, item_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS items
SELECT * REPLACE (
    transform(site, sites.1, sites.2, site) AS site,
    transform(item_id, items.1, items.2, item_id) AS item_id)
FROM rules_requests;

CREATE VIEW IF NOT EXISTS rules_po_lines_canonical AS
WITH
    (SELECT (site_from, site_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS sites,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS suppliers,
    (SELECT (item_from, item_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS items
SELECT * REPLACE (
    transform(site, sites.1, sites.2, site) AS site,
    transform(supplier_id, suppliers.1, suppliers.2, supplier_id) AS supplier_id,
    transform(item_id, items.1, items.2, item_id) AS item_id)
FROM rules_po_lines;

CREATE VIEW IF NOT EXISTS rules_receipt_lines_canonical AS
WITH
    (SELECT (item_from, item_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS items
SELECT * REPLACE (
    transform(item_id, items.1, items.2, item_id) AS item_id)
FROM rules_receipt_lines;

CREATE VIEW IF NOT EXISTS rules_receipts_canonical AS
WITH
    (SELECT (site_from, site_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS sites,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS suppliers
SELECT * REPLACE (
    transform(site, sites.1, sites.2, site) AS site,
    transform(supplier_id, suppliers.1, suppliers.2, supplier_id) AS supplier_id)
FROM rules_receipts;

-- Folded (FINAL), as unmatched_invoice reads it: a FINAL after a view's name is ignored.
CREATE VIEW IF NOT EXISTS rules_po_invoice_lines_canonical AS
WITH
    (SELECT (site_from, site_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS sites,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS suppliers,
    (SELECT (item_from, item_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS items
SELECT * REPLACE (
    transform(site, sites.1, sites.2, site) AS site,
    transform(supplier_id, suppliers.1, suppliers.2, supplier_id) AS supplier_id,
    transform(item_id, items.1, items.2, item_id) AS item_id)
FROM rules_po_invoice_lines FINAL;

CREATE VIEW IF NOT EXISTS rules_invoice_matches_canonical AS
WITH
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS suppliers
SELECT * REPLACE (
    transform(supplier_id, suppliers.1, suppliers.2, supplier_id) AS supplier_id)
FROM rules_invoice_matches;
