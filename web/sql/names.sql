-- Item and supplier codes in the given transactions (header and line item IDs, supplier IDs),
-- each with the name the source systems sent along (event attributes `item.description`,
-- `supplier.name`; '' when none did): read by correlation ID, the table's key, so a page of
-- rows costs a few granules. The crosswalk's names come first (web/data.py); these fill in.
SELECT kind, code, anyIf(name, name != '') AS name
FROM (
    SELECT 'item' AS kind, item_id AS code, attributes['item.description'] AS name
    FROM business_events
    WHERE correlation_id IN {correlation_ids:Array(String)}
    UNION ALL
    SELECT 'item' AS kind, arrayJoin(`lines.item_id`) AS code, '' AS name
    FROM business_events
    WHERE correlation_id IN {correlation_ids:Array(String)}
    UNION ALL
    SELECT 'supplier' AS kind, toString(supplier_id) AS code, attributes['supplier.name'] AS name
    FROM business_events
    WHERE correlation_id IN {correlation_ids:Array(String)}
)
WHERE code != ''
GROUP BY kind, code
