-- For identifiers of any kind as sent ({kinds}[i], {values}[i]): the canonical entity the
-- crosswalk in force at {as_of} maps each to. The pairs asked are a constant set (IN the
-- zipped arrays), not a subquery: the console asks on every list, timeline and detail page.
-- The entities' names are a second query (entity_names_in_force.sql), asked only when some
-- identifier is mapped: joined in here, they cost ~15 ms of planning per page even with an
-- empty crosswalk.
SELECT kind, identifier, canonical_id
FROM masterdata_in_force(as_of = {as_of:DateTime64(3, 'UTC')})
WHERE (kind, identifier) IN arrayZip({kinds:Array(String)}, {values:Array(String)})
