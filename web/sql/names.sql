-- Names for codes, from what the source systems sent along (event attributes
-- `item.description` and `supplier.name`) in the given transactions: read by correlation
-- ID, the table's key, so a page of rows costs a few granules. The master-data crosswalk
-- will be the better source once it exists.
SELECT 'item' AS kind, item_id AS code, any(attributes['item.description']) AS name
FROM business_events
WHERE correlation_id IN {correlation_ids:Array(String)}
    AND item_id != '' AND attributes['item.description'] != ''
GROUP BY item_id
UNION ALL
SELECT 'supplier' AS kind, supplier_id AS code, any(attributes['supplier.name']) AS name
FROM business_events
WHERE correlation_id IN {correlation_ids:Array(String)}
    AND supplier_id != '' AND attributes['supplier.name'] != ''
GROUP BY supplier_id
