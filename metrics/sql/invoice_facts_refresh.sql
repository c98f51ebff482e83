-- The kept row of every invoice touched after {since} (kpi_invoices_touched; the epoch: every
-- invoice; its supplier canonical by the crosswalk in force at {as_of}, after every version),
-- with the rules' outcome once all facts count, stored under {findings_run} in rules_scope as
-- "supplier_id/invoice_number<TAB>reason<TAB>since in epoch ms", as the newest version of its
-- row. last_at: the latest fact dated on the invoice's POs, on every PO billed together with
-- one of them, and of its matches (migrations 057, 059).
INSERT INTO kpi_invoice_facts (supplier_id, invoice_number, po_numbers, first_at, reason, since,
    thresholds, last_at, refreshed_at)
WITH
    touched AS (
        SELECT * FROM kpi_invoices_touched(since = {since:DateTime64(3, 'UTC')},
            as_of = {as_of:DateTime64(3, 'UTC')})
    ),
    quoted AS (
        SELECT po_number FROM rules_pos_by_invoice
        WHERE invoice_number IN (SELECT invoice_number FROM touched)
    ),
    invoices AS (
        SELECT supplier_id, invoice_number, concat(supplier_id, '/', invoice_number) AS entity,
            min(occurred_at) AS first_at, groupUniqArray(po_number) AS po_numbers
        FROM rules_po_invoice_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE po_number IN quoted AND (supplier_id, invoice_number) IN touched
        GROUP BY supplier_id, invoice_number
    ),
    -- Each quoted PO with every PO billed together with it (itself included).
    together AS (
        SELECT DISTINCT l.po_number AS po_number, b.po_number AS other
        FROM (
            SELECT DISTINCT po_number, supplier_id, invoice_number
            FROM rules_po_invoice_lines WHERE po_number IN quoted
        ) AS l
        INNER JOIN rules_pos_by_invoice AS b
            ON b.invoice_number = l.invoice_number AND b.supplier_id = l.supplier_id
    ),
    po_last AS (
        SELECT po_number, max(at) AS at
        FROM (
            SELECT po_number, occurred_at AS at FROM rules_po_lines
            WHERE po_number IN (SELECT other FROM together)
            UNION ALL
            SELECT po_number, occurred_at FROM rules_receipt_lines
            WHERE po_number IN (SELECT other FROM together)
            UNION ALL
            SELECT po_number, occurred_at FROM rules_po_invoice_lines
            WHERE po_number IN (SELECT other FROM together)
        )
        GROUP BY po_number
    ),
    together_last AS (
        SELECT t.po_number AS po_number, max(pl.at) AS at
        FROM together AS t INNER JOIN po_last AS pl ON pl.po_number = t.other
        GROUP BY t.po_number
    ),
    invoice_last AS (
        SELECT x.entity AS entity, max(tl.at) AS at
        FROM (SELECT entity, arrayJoin(po_numbers) AS po_number FROM invoices) AS x
        INNER JOIN together_last AS tl ON tl.po_number = x.po_number
        GROUP BY x.entity
    ),
    matched_last AS (
        SELECT concat(supplier_id, '/', invoice_number) AS entity, max(occurred_at) AS at
        FROM rules_invoice_matches_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE invoice_number IN (SELECT invoice_number FROM touched)
        GROUP BY supplier_id, invoice_number
    ),
    found AS (
        SELECT splitByChar('\t', key) AS f, f[1] AS entity, f[2] AS reason,
            fromUnixTimestamp64Milli(toInt64(f[3]), 'UTC') AS since
        FROM rules_scope
        WHERE run_id = {findings_run:String}
    )
SELECT i.supplier_id, i.invoice_number, i.po_numbers, i.first_at,
    ifNull(fd.reason, ''), ifNull(fd.since, toDateTime64(0, 3, 'UTC')), {thresholds:String},
    greatest(ifNull(il.at, i.first_at), ifNull(ml.at, i.first_at)), now64(3, 'UTC')
FROM invoices AS i
LEFT JOIN invoice_last AS il ON il.entity = i.entity
LEFT JOIN matched_last AS ml ON ml.entity = i.entity
LEFT JOIN found AS fd ON fd.entity = i.entity
SETTINGS join_use_nulls = 1
