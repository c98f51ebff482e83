-- Rules stage: reconciliation's receipt bookings as the rule reads them, with site, supplier
-- and item made canonical through the crosswalk in force at {as_of} (as 061 does for the other
-- fact tables): a receipt line carrying another system's item number still meets its PO line.
CREATE VIEW IF NOT EXISTS rules_receipt_bookings_canonical AS
WITH
    (SELECT (site_from, site_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS sites,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS suppliers,
    (SELECT (item_from, item_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')})) AS items
SELECT * REPLACE (
    transform(site, sites.1, sites.2, site) AS site,
    transform(supplier_id, suppliers.1, suppliers.2, supplier_id) AS supplier_id,
    transform(item_id, items.1, items.2, item_id) AS item_id)
FROM rules_receipt_bookings;
