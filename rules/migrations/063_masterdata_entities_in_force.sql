-- Rules stage: the crosswalk's entities in force at {as_of} (060), with their name and
-- attributes: what a rule reads about a canonical entity, e.g. supplier_response whether a
-- supplier sends ASNs (attributes['asn_expected']). A retired entity is not in force.
CREATE VIEW IF NOT EXISTS masterdata_entities_in_force AS
SELECT kind, canonical_id, v.1 AS name, v.2 AS attributes
FROM (
    SELECT kind, canonical_id,
        argMax((name, attributes, retired), (valid_from, loaded_at)) AS v
    FROM masterdata_entities
    WHERE valid_from <= {as_of:DateTime64(3, 'UTC')}
    GROUP BY kind, canonical_id
)
WHERE v.3 = 0;
