-- master_data as of {as_of}: identifiers the crosswalk in force does not know, per kind,
-- source system and value: reason unmapped_<kind>, since the first event that carried it.
-- Only kinds the crosswalk has entities of at the instant are checked: with no crosswalk the
-- family finds nothing, and loading items alone does not flag every supplier.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    unmapped AS (
        SELECT kind, source_system, identifier,
            min(occurred_at) AS first_seen,
            max((occurred_at, correlation_id)) AS latest,
            uniqExact(event_id) AS events
        FROM rules_identifiers
        WHERE occurred_at <= T
            AND kind IN (SELECT DISTINCT kind FROM masterdata_in_force(as_of = {as_of:DateTime64(3, 'UTC')}))
            AND (kind, identifier) NOT IN (
                SELECT kind, identifier FROM masterdata_in_force(as_of = {as_of:DateTime64(3, 'UTC')}))
        GROUP BY kind, source_system, identifier
    )
-- Columns a finding takes (engine.FINDING_COLUMNS); the family comes from the rule.
SELECT
    concat('unmapped_', kind) AS reason,
    first_seen AS since,
    concat(kind, '/', source_system, '/', identifier) AS entity,
    '' AS correlation_id,
    '' AS site,
    '' AS domain,
    '' AS po_number,
    '' AS invoice_number,
    '' AS supplier_id,
    concat('{"kind":', toJSONString(kind), ',"source_system":', toJSONString(toString(source_system)),
        ',"identifier":', toJSONString(identifier), ',"events":', toJSONString(toString(events)),
        ',"last_seen":', toJSONString(toString(tupleElement(latest, 1))),
        ',"last_transaction":', toJSONString(tupleElement(latest, 2)), '}') AS details
FROM unmapped
WHERE since <= T OR {include_pending:UInt8} = 1
