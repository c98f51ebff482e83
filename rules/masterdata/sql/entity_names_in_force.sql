-- The name, at {as_of}, of each canonical entity ({kinds}[i], {ids}[i]): its latest version by
-- then (a retired entity keeps the name it had).
SELECT kind, canonical_id, argMax(name, (valid_from, loaded_at)) AS name
FROM masterdata_entities
WHERE valid_from <= {as_of:DateTime64(3, 'UTC')}
    AND (kind, canonical_id) IN arrayZip({kinds:Array(String)}, {ids:Array(String)})
GROUP BY kind, canonical_id
