SELECT DISTINCT supplier_id FROM business_events WHERE supplier_id != '' ORDER BY supplier_id
