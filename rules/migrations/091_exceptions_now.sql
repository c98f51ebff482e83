-- Each exception's current state, kept as the history is written, so the console's list and
-- overview read one narrow row per exception instead of picking the highest version of every
-- exception out of the whole history (and parsing its details) on each request.
--
-- What the filters need is taken out of `details` once, when a version is written: the
-- request priority, the item code in lower case, and the lower-cased text the search looks
-- in. They are MATERIALIZED columns of the history itself, so the history path (an instant
-- before an exception's latest change) reads the same values; `SELECT *` leaves them out.
ALTER TABLE exception_history
    ADD COLUMN IF NOT EXISTS priority LowCardinality(String)
        MATERIALIZED JSONExtractString(details, 'priority'),
    ADD COLUMN IF NOT EXISTS item_key String
        MATERIALIZED lower(JSONExtractString(details, 'item_id')),
    ADD COLUMN IF NOT EXISTS search_text String
        MATERIALIZED lower(concat(exception_id, ' ', summary, ' ', correlation_id, ' ',
            po_number, ' ', invoice_number, ' ', receipt_id, ' ', flow, ' ', supplier_id, ' ',
            assignee, ' ', details));

-- Versions written before this migration compute them when read; write them down once.
ALTER TABLE exception_history MATERIALIZE COLUMN priority SETTINGS mutations_sync = 1;
ALTER TABLE exception_history MATERIALIZE COLUMN item_key SETTINGS mutations_sync = 1;
ALTER TABLE exception_history MATERIALIZE COLUMN search_text SETTINGS mutations_sync = 1;

-- The highest version of each exception (read with FINAL; ReplacingMergeTree keeps the
-- highest `version` per exception_id). Versions are written in time order, so an exception
-- whose row here has `at` <= T stood then as this row says; the others are read from the
-- history (exceptions_as_of).
CREATE TABLE IF NOT EXISTS exceptions_now (
    exception_id String,
    version UInt64,
    at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    assignee LowCardinality(String),
    family LowCardinality(String),
    reason LowCardinality(String),
    severity LowCardinality(String),
    owner LowCardinality(String),
    site LowCardinality(String),
    flow LowCardinality(String),
    supplier_id LowCardinality(String),
    correlation_id String,
    po_number String,
    invoice_number String,
    since DateTime64(3, 'UTC'),
    opened_at DateTime64(3, 'UTC'),
    priority LowCardinality(String),
    item_key String,
    search_text String
) ENGINE = ReplacingMergeTree(version)
ORDER BY exception_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS exceptions_now_mv TO exceptions_now AS
SELECT exception_id, version, at, status, assignee, family, reason, severity, owner, site, flow,
    supplier_id, correlation_id, po_number, invoice_number, since, opened_at, priority,
    item_key, search_text
FROM exception_history;

-- What was written before the view existed (a version written meanwhile is in both: the
-- same version, kept once).
INSERT INTO exceptions_now
SELECT exception_id, version, at, status, assignee, family, reason, severity, owner, site, flow,
    supplier_id, correlation_id, po_number, invoice_number, since, opened_at, priority,
    item_key, search_text
FROM exception_history
ORDER BY exception_id, version DESC
LIMIT 1 BY exception_id;

-- Every exception as it stood at {as_of}: the kept row where its latest change was by then,
-- else its highest version written by then, from the history (only the exceptions changed
-- after {as_of} go that way, so "now" reads the kept rows alone). Narrow columns: callers read
-- a page's whole rows by key.
CREATE VIEW IF NOT EXISTS exceptions_as_of AS
SELECT exception_id, version, at, status, assignee, family, reason, severity, owner, site, flow,
    supplier_id, correlation_id, po_number, invoice_number, since, opened_at, priority,
    item_key, search_text
FROM exceptions_now FINAL
WHERE at <= {as_of:DateTime64(3, 'UTC')}
UNION ALL
SELECT exception_id, version, at, status, assignee, family, reason, severity, owner, site, flow,
    supplier_id, correlation_id, po_number, invoice_number, since, opened_at, priority,
    item_key, search_text
FROM exception_history
WHERE at <= {as_of:DateTime64(3, 'UTC')}
    AND exception_id IN (SELECT exception_id FROM exceptions_now WHERE at > {as_of:DateTime64(3, 'UTC')})
ORDER BY exception_id, version DESC
LIMIT 1 BY exception_id;
