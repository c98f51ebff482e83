-- The item filter and search (exceptions_page.sql) find an exception by the items on the lines
-- of its PO and invoice. Building the set of the documents carrying an item prefix on every
-- request cost 200-300 ms at a million exceptions ("ndc-1": 1.8M rows, 223k POs). Instead
-- each version keeps the items its documents carried when it was written (`line_items`,
-- complete for every line written before `line_items_at`), and a request adds only the lines
-- written since the oldest `line_items_at` among the rows it reads: none on a store loaded
-- before its exceptions were evaluated, few in steady state.
-- (Numbered after 095: it changes the tables and views 090-093 create.)

-- When each document's line arrived, by the store's clock. Rows from before this migration
-- are older than every `line_items_at` written below: the epoch.
ALTER TABLE rules_item_documents
    ADD COLUMN IF NOT EXISTS written_at DateTime64(3, 'UTC') DEFAULT toDateTime64(0, 3, 'UTC');
ALTER TABLE rules_item_documents MATERIALIZE COLUMN written_at SETTINGS mutations_sync = 1;
ALTER TABLE rules_item_documents MODIFY COLUMN written_at DEFAULT now64(3);
-- Lines are written in time order: a request's "written since" skips the older granules.
ALTER TABLE rules_item_documents
    ADD INDEX IF NOT EXISTS written_minmax written_at TYPE minmax GRANULARITY 1;
ALTER TABLE rules_item_documents MATERIALIZE INDEX written_minmax SETTINGS mutations_sync = 1;
-- The writer looks a version's documents up by number (the table is ordered by item).
ALTER TABLE rules_item_documents
    ADD INDEX IF NOT EXISTS doc_bloom doc TYPE bloom_filter GRANULARITY 1;
ALTER TABLE rules_item_documents MATERIALIZE INDEX doc_bloom SETTINGS mutations_sync = 1;

-- Written by rules/lifecycle.py through the EPHEMERAL inputs, kept as MATERIALIZED columns so
-- `SELECT *` (the API's rows, the alerts' payloads) leaves them out. Versions written before
-- this migration read [] and the epoch: they know no line, so every line counts as written
-- after them and the filter stays exact at the instants that read them.
ALTER TABLE exception_history
    ADD COLUMN IF NOT EXISTS line_items_in Array(String) EPHEMERAL,
    ADD COLUMN IF NOT EXISTS line_items_at_in DateTime64(3, 'UTC') EPHEMERAL,
    ADD COLUMN IF NOT EXISTS line_items Array(String) MATERIALIZED line_items_in,
    ADD COLUMN IF NOT EXISTS line_items_at DateTime64(3, 'UTC') MATERIALIZED line_items_at_in;

-- The same in the kept state (so its rows keep their shape for 091's INSERT as well).
ALTER TABLE exceptions_now
    ADD COLUMN IF NOT EXISTS line_items_in Array(String) EPHEMERAL,
    ADD COLUMN IF NOT EXISTS line_items_at_in DateTime64(3, 'UTC') EPHEMERAL,
    ADD COLUMN IF NOT EXISTS line_items Array(String) MATERIALIZED line_items_in,
    ADD COLUMN IF NOT EXISTS line_items_at DateTime64(3, 'UTC') MATERIALIZED line_items_at_in;

-- 091's view with the two columns.
DROP VIEW IF EXISTS exceptions_now_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS exceptions_now_mv TO exceptions_now AS
SELECT exception_id, version, at, status, assignee, family, reason, severity, owner, site, flow,
    supplier_id, correlation_id, po_number, invoice_number, since, opened_at, priority,
    item_key, search_text, line_items AS line_items_in, line_items_at AS line_items_at_in
FROM exception_history;

-- The kept rows get their documents' items now (the same version again: the later row is the
-- one kept). Lines written from ten minutes before count as written after, as the writer's do
-- (rules/sql/line_items.sql).
INSERT INTO exceptions_now (exception_id, version, at, status, assignee, family, reason,
    severity, owner, site, flow, supplier_id, correlation_id, po_number, invoice_number, since,
    opened_at, priority, item_key, search_text, line_items_in, line_items_at_in)
SELECT e.exception_id, e.version, e.at, e.status, e.assignee, e.family, e.reason, e.severity,
    e.owner, e.site, e.flow, e.supplier_id, e.correlation_id, e.po_number, e.invoice_number,
    e.since, e.opened_at, e.priority, e.item_key, e.search_text,
    arraySort(arrayDistinct(arrayConcat(po.items, inv.items))),
    now64(3) - INTERVAL 10 MINUTE
FROM exceptions_now AS e FINAL
LEFT JOIN (
    SELECT doc, groupUniqArray(item_key) AS items
    FROM rules_item_documents
    WHERE doc_type = 'po_number' AND doc IN (SELECT po_number FROM exceptions_now)
    GROUP BY doc
) AS po ON po.doc = e.po_number
LEFT JOIN (
    SELECT doc, groupUniqArray(item_key) AS items
    FROM rules_item_documents
    WHERE doc_type = 'invoice_number' AND doc IN (SELECT invoice_number FROM exceptions_now)
    GROUP BY doc
) AS inv ON inv.doc = e.invoice_number;
-- One row per exception again, so FINAL reads no pairs.
OPTIMIZE TABLE exceptions_now FINAL;

-- 093's view with the two columns.
CREATE OR REPLACE VIEW exceptions_as_of AS
SELECT exception_id, version, at, status, assignee, family, reason, severity, owner, site, flow,
    supplier_id, correlation_id, po_number, invoice_number, since, opened_at, priority,
    item_key, search_text, sla_key, sla_default_key, line_items, line_items_at
FROM exceptions_now FINAL
WHERE at <= {as_of:DateTime64(3, 'UTC')}
UNION ALL
SELECT exception_id, version, at, status, assignee, family, reason, severity, owner, site, flow,
    supplier_id, correlation_id, po_number, invoice_number, since, opened_at, priority,
    item_key, search_text, sla_key, sla_default_key, line_items, line_items_at
FROM (
    SELECT h.exception_id AS exception_id, h.version AS version, h.at AS at, h.status AS status,
        h.assignee AS assignee, h.family AS family, h.reason AS reason, h.severity AS severity,
        h.owner AS owner, h.site AS site, h.flow AS flow, h.supplier_id AS supplier_id,
        h.correlation_id AS correlation_id, h.po_number AS po_number,
        h.invoice_number AS invoice_number, h.since AS since, h.opened_at AS opened_at,
        h.priority AS priority, h.item_key AS item_key, h.search_text AS search_text,
        h.sla_key AS sla_key, h.sla_default_key AS sla_default_key,
        h.line_items AS line_items, h.line_items_at AS line_items_at
    FROM exception_history AS h
    INNER JOIN (
        SELECT exception_id FROM exceptions_now WHERE at > {as_of:DateTime64(3, 'UTC')}
    ) AS later ON later.exception_id = h.exception_id
    WHERE h.at <= {as_of:DateTime64(3, 'UTC')}
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
);
