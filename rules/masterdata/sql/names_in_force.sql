-- For identifiers of any kind as sent ({kinds}[i], {values}[i]): the canonical entity the
-- crosswalk in force at {as_of} maps each to, and its name then.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    asked AS (
        SELECT tupleElement(p, 1) AS kind, tupleElement(p, 2) AS identifier
        FROM (SELECT arrayJoin(arrayZip({kinds:Array(String)}, {values:Array(String)})) AS p)
    ),
    mapped AS (
        SELECT kind, identifier, canonical_id
        FROM masterdata_in_force(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE (kind, identifier) IN (SELECT kind, identifier FROM asked)
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
