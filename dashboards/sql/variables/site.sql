SELECT DISTINCT site FROM business_events WHERE site != '' ORDER BY site
