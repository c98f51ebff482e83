-- The identifiers mapped to each of {ids} (canonical ids of one kind) by the crosswalk in force
-- at {as_of}: what a new version of those entities takes over or ends.
SELECT latest.1 AS canonical_id, latest.2 AS system, identifier
FROM (
    SELECT identifier, argMax((canonical_id, system), (valid_from, loaded_at)) AS latest
    FROM masterdata_identifiers
    WHERE kind = {kind:String} AND valid_from <= {as_of:DateTime64(3, 'UTC')}
    GROUP BY identifier
)
WHERE latest.1 IN {ids:Array(String)}
