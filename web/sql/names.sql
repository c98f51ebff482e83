-- Item and supplier codes in the given transactions (header and line item IDs, supplier IDs),
-- each with the name the source systems sent along (event attributes `item.description`,
-- `supplier.name`; '' when none did): read by correlation ID, the table's key, so a page of
-- rows costs a few granules, each read once. The crosswalk's names come first (web/data.py);
-- these fill in.
SELECT kind, code, anyIf(name, name != '') AS name
FROM (
    SELECT tupleElement(named, 1) AS kind, tupleElement(named, 2) AS code,
        tupleElement(named, 3) AS name
    FROM business_events
    ARRAY JOIN arrayConcat(
        [('item', item_id, attributes['item.description']),
            ('supplier', toString(supplier_id), attributes['supplier.name'])],
        arrayMap(i -> ('item', i, ''), `lines.item_id`)) AS named
    WHERE correlation_id IN {correlation_ids:Array(String)}
)
WHERE code != ''
GROUP BY kind, code
