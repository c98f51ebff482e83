-- The entities of {kind} in force at {as_of} (latest version with valid_from <= as_of, not
-- retired) whose id, name or any identifier contains {q} (case-insensitive; '' matches all).
SELECT canonical_id, v.1 AS valid_from, v.2 AS loaded_at, v.3 AS name, v.4 AS attributes,
    v.5 AS identifiers, v.7 AS loaded_by
FROM (
    SELECT canonical_id,
        argMax((valid_from, loaded_at, name, attributes, identifiers, retired, loaded_by),
            (valid_from, loaded_at)) AS v
    FROM masterdata_entities
    WHERE kind = {kind:String} AND valid_from <= {as_of:DateTime64(3, 'UTC')}
    GROUP BY canonical_id
)
WHERE v.6 = 0
    AND ({q:String} = ''
        OR positionCaseInsensitiveUTF8(canonical_id, {q:String}) > 0
        OR positionCaseInsensitiveUTF8(v.3, {q:String}) > 0
        OR arrayExists(x -> positionCaseInsensitiveUTF8(x.2, {q:String}) > 0, v.5))
ORDER BY canonical_id
LIMIT {limit:UInt32}
