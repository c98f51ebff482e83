-- Metrics stage: each invoice's KPI facts (supplier_id + invoice_number as sent), kept so that
-- the invoice KPIs read one row per invoice instead of evaluating unmatched_invoice over every
-- invoice again: when it was first received, the POs its events quote, and the rule's
-- outcome once all of the facts bearing on it count (reason, '' for none, and since, when
-- the finding starts once its grace period has run). Those facts are the lines, receipts
-- and invoices of its POs and of the POs billed together with them (another invoice's first
-- receipt decides the cumulative quantities), and its own matches: last_at is the latest of
-- their dates. As of any T >= last_at the rule's finding is `reason` when since <= T, else
-- none, provided the thresholds are the same (`thresholds`, a digest of the rules' threshold
-- parameters) and so is the crosswalk (nothing loaded since the refresh, nothing coming into
-- force after T).
CREATE TABLE IF NOT EXISTS kpi_invoice_facts (
    supplier_id LowCardinality(String),
    invoice_number String,
    po_numbers Array(String),
    first_at DateTime64(3, 'UTC'),
    reason LowCardinality(String),
    since DateTime64(3, 'UTC'),
    thresholds String,
    last_at DateTime64(3, 'UTC'),
    refreshed_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY (supplier_id, invoice_number);

-- The invoices whose kept row may be out of date after the refresh watermark {since}: those
-- billing a PO with a fact arrived since (lines, receipts, invoices, an invoice's match), or
-- a PO billed together with one (one step: what changes an invoice's first receipt changes
-- the cumulative quantities of every PO that invoice bills). Until the first refresh
-- ({since} at the epoch), every invoice.
CREATE VIEW IF NOT EXISTS kpi_invoices_touched AS
WITH
    {since:DateTime64(3, 'UTC')} AS S,
    pos_arrived AS (
        SELECT po_number FROM rules_po_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_receipt_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_po_invoice_lines WHERE received_at > S
        UNION DISTINCT
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (SELECT invoice_number FROM rules_invoice_matches WHERE received_at > S)
    ),
    pos_touched AS (
        SELECT po_number FROM pos_arrived
        UNION DISTINCT
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (
            SELECT invoice_number FROM rules_po_invoice_lines WHERE po_number IN pos_arrived)
    )
SELECT DISTINCT supplier_id, invoice_number
FROM rules_po_invoice_lines
WHERE po_number IN pos_touched;
-- Every invoice first received at or before {as_of}: when, the POs its events quote, and
-- the rule's outcome as of as_of where the kept row gives it (kept_reason, '' for none), NULL
-- where the rule must be evaluated (a fact arrived after the refresh watermark {since},
-- one dated after as_of, other thresholds than {thresholds}, or a crosswalk change).
CREATE VIEW IF NOT EXISTS kpi_invoices_as_of AS
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    {since:DateTime64(3, 'UTC')} AS S,
    (SELECT count() FROM masterdata_identifiers WHERE loaded_at > S OR valid_from > T)
        AS crosswalk_moved,
    touched AS (SELECT * FROM kpi_invoices_touched(since = {since:DateTime64(3, 'UTC')}))
SELECT supplier_id, invoice_number, first_at, po_numbers,
    if(last_at <= T AND thresholds = {thresholds:String} AND crosswalk_moved = 0,
        if(since <= T, toString(reason), ''), NULL) AS kept_reason
FROM kpi_invoice_facts FINAL
WHERE first_at <= T AND (supplier_id, invoice_number) NOT IN touched
UNION ALL
SELECT supplier_id, invoice_number, min(occurred_at) AS first_at,
    groupUniqArray(po_number) AS po_numbers, CAST(NULL AS Nullable(String)) AS kept_reason
FROM rules_po_invoice_lines
WHERE occurred_at <= T
    AND po_number IN (
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (SELECT invoice_number FROM touched))
    AND (supplier_id, invoice_number) IN touched
GROUP BY supplier_id, invoice_number;
