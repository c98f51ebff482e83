-- Every version of one entity, as loaded: by valid_from, then by when it was loaded.
SELECT valid_from, loaded_at, name, attributes, identifiers, retired, source, source_row,
    loaded_by
FROM masterdata_entities
WHERE kind = {kind:String} AND canonical_id = {id:String}
ORDER BY valid_from, loaded_at
