-- For identifiers of any kind as sent ({kinds}[i], {values}[i]): the canonical entity the
-- crosswalk in force at {as_of} maps each to, and its name then. The pairs asked are a
-- constant set (IN the zipped arrays), not a subquery: the console asks on every timeline and
-- detail page, and a subquery over arrayJoin, repeated wherever `mapped` is read, cost 35 ms of
-- planning even with an empty crosswalk.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    mapped AS (
        SELECT kind, identifier, canonical_id
        FROM masterdata_in_force(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE (kind, identifier) IN arrayZip({kinds:Array(String)}, {values:Array(String)})
    ),
    named AS (
        SELECT kind, canonical_id, argMax(name, (valid_from, loaded_at)) AS name
        FROM masterdata_entities
        WHERE valid_from <= T AND (kind, canonical_id) IN (SELECT kind, canonical_id FROM mapped)
        GROUP BY kind, canonical_id
    )
SELECT m.kind AS kind, m.identifier AS identifier, m.canonical_id AS canonical_id,
    n.name AS name
FROM mapped AS m
LEFT JOIN named AS n ON n.kind = m.kind AND n.canonical_id = m.canonical_id
