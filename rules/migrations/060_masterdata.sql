-- Rules stage: the master data crosswalk (DESIGN 5.7). Append-only versions: a load adds rows,
-- never rewrites them; what is in force at an instant T is, per key, the row with the latest
-- (valid_from, loaded_at) among those with valid_from <= T.
--
-- masterdata_entities: one row per canonical item, supplier, site or cost center and version,
-- as the steward loaded it (name, attributes, its identifiers in each system), for the
-- console's search and history.
CREATE TABLE IF NOT EXISTS masterdata_entities (
    kind LowCardinality(String),
    canonical_id String,
    valid_from DateTime64(3, 'UTC'),
    loaded_at DateTime64(3, 'UTC'),
    name String,
    attributes Map(String, String),
    identifiers Array(Tuple(system String, identifier String)),
    retired UInt8,
    source String,
    source_row UInt32,
    loaded_by String
) ENGINE = MergeTree
ORDER BY (kind, canonical_id, valid_from, loaded_at);

-- masterdata_identifiers: what the rules read. One row per identifier and version, naming the
-- canonical entity it maps to from valid_from on; canonical_id '' ends a mapping (the
-- identifier was taken off its entity, or the entity retired). A canonical id maps to itself
-- (system 'canonical'), so an event already carrying it counts as mapped.
CREATE TABLE IF NOT EXISTS masterdata_identifiers (
    kind LowCardinality(String),
    identifier String,
    system LowCardinality(String),
    canonical_id String,
    valid_from DateTime64(3, 'UTC'),
    loaded_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (kind, identifier, valid_from, loaded_at);

-- The mapping in force at {as_of}: identifier -> canonical id, per kind.
CREATE VIEW IF NOT EXISTS masterdata_in_force AS
SELECT kind, identifier, canonical_id
FROM (
    SELECT kind, identifier, argMax(canonical_id, (valid_from, loaded_at)) AS canonical_id
    FROM masterdata_identifiers
    WHERE valid_from <= {as_of:DateTime64(3, 'UTC')}
    GROUP BY kind, identifier
)
WHERE canonical_id != '';

-- The same as one row of parallel arrays per kind, for transform(): the one place the rules'
-- identifiers become canonical. With no crosswalk the arrays are empty and transform() gives
-- every identifier back as sent.
CREATE VIEW IF NOT EXISTS masterdata_maps AS
SELECT
    groupArrayIf(identifier, kind = 'item') AS item_from,
    groupArrayIf(canonical_id, kind = 'item') AS item_to,
    groupArrayIf(identifier, kind = 'supplier') AS supplier_from,
    groupArrayIf(canonical_id, kind = 'supplier') AS supplier_to,
    groupArrayIf(identifier, kind = 'site') AS site_from,
    groupArrayIf(canonical_id, kind = 'site') AS site_to,
    groupArrayIf(identifier, kind = 'cost_center') AS cost_center_from,
    groupArrayIf(canonical_id, kind = 'cost_center') AS cost_center_to
FROM masterdata_in_force(as_of = {as_of:DateTime64(3, 'UTC')});
