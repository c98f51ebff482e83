-- Exceptions: append-only history, one row per change. Current state of an exception =
-- the row with the highest `version` for its exception_id (argMax / LIMIT 1 BY).
-- Written by the rules stage; read by alerts (poll version > last seen) and the console.
-- exception_id = the finding's stable key (rule + entity).
-- change: opened | updated | acknowledged | assigned | commented | resolved | auto_resolved
--         | reopened | escalated
-- status: open | acknowledged | resolved
CREATE TABLE IF NOT EXISTS exception_history (
    exception_id String,
    version UInt64,
    at DateTime64(3, 'UTC'),
    change LowCardinality(String),
    status LowCardinality(String),
    actor LowCardinality(String),
    comment String,
    assignee LowCardinality(String),
    rule_id LowCardinality(String),
    family LowCardinality(String),
    reason LowCardinality(String),
    severity LowCardinality(String),
    owner LowCardinality(String),
    site LowCardinality(String),
    domain LowCardinality(String),
    flow LowCardinality(String),
    tier LowCardinality(String),
    correlation_id String,
    po_number String,
    invoice_number String,
    supplier_id LowCardinality(String),
    receipt_id String,
    since DateTime64(3, 'UTC'),
    opened_at DateTime64(3, 'UTC'),
    summary String,
    details String
) ENGINE = MergeTree
ORDER BY (exception_id, version);
