-- Item and supplier codes in the given transactions (header and line item IDs, supplier IDs),
-- each with the name the source systems sent along ('' when none did): console_names
-- (web/migrations/096), read by correlation ID, its key. The crosswalk's names come first
-- (web/data.py); these fill in.
SELECT kind, code, anyIf(name, name != '') AS name
FROM console_names
WHERE correlation_id IN {correlation_ids:Array(String)}
GROUP BY kind, code
