-- unmatched_invoice as of {as_of}: per supplier_id + invoice_number, the first reason that
-- applies (duplicate, no_po, price_variance, no_receipt, quantity_mismatch) once its grace
-- period has run. Only an invoice's first invoice.received counts in quantities.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    -- Each invoice.received with its lines. The view reads FINAL: it folds an event delivered
    -- twice before its parts merge, exactly as the merge will (one row per event and line).
    received_events AS (
        SELECT supplier_id, invoice_number, event_id,
            min(occurred_at) AS inv_at, any(po_number) AS inv_po, any(site) AS inv_site,
            any(domain) AS inv_domain, any(correlation_id) AS inv_correlation_id,
            arraySort(groupArray((line_no, item_id, quantity, unit_price))) AS i_lines
        FROM rules_po_invoice_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
        GROUP BY supplier_id, invoice_number, event_id
    ),
    -- Each invoice's received events in (time, event_id) order: the first one counts.
    invoices AS (
        SELECT supplier_id, invoice_number,
            arraySort(groupArray((inv_at, event_id, inv_po, inv_site, inv_domain,
                inv_correlation_id, i_lines))) AS received,
            received[1].1 AS first_at,
            received[1].2 AS first_event_id,
            received[1].3 AS po_number,
            received[1].4 AS site,
            received[1].5 AS domain,
            received[1].6 AS correlation_id,
            received[1].7 AS first_lines,
            length(received) AS n_received,
            received[2].1 AS duplicate_at
        FROM received_events
        GROUP BY supplier_id, invoice_number
    ),
    po AS (
        SELECT po_number, any(site) AS po_site,
            groupArray(line_no) AS l_no, groupArray(item_id) AS l_item,
            groupArray(quantity) AS l_qty, groupArray(unit_price) AS l_price
        FROM (
            SELECT po_number, line_no, site, item_id, quantity, unit_price
            FROM rules_po_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
            ORDER BY po_number, line_no, occurred_at DESC, event_id DESC
            LIMIT 1 BY po_number, line_no
        )
        GROUP BY po_number
    ),
    rcv AS (
        SELECT po_number, groupArray(line_no) AS r_no, groupArray(d_item) AS r_item,
            groupArray(d_qty) AS r_qty
        FROM (
            -- One row per receipt line even if its event was delivered twice.
            SELECT po_number, line_no, any(item_id) AS d_item, any(quantity) AS d_qty
            FROM rules_receipt_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
            GROUP BY po_number, event_id, line_no
        )
        GROUP BY po_number
    ),
    po_state AS (
        SELECT po_number, po_site, l_no, l_item, l_qty, l_price,
            arrayMap(i -> arraySum(arrayMap((n, it, q) -> if(
                if(has(l_no, n), indexOf(l_no, n), indexOf(l_item, it)) = i, q, toDecimal64(0, 4)),
                r_no, r_item, r_qty)), arrayEnumerate(l_no)) AS l_rcv
        FROM po LEFT JOIN rcv USING (po_number)
    ),
    -- One row per line of each invoice's first receipt, mapped to its PO line (0: none).
    lines AS (
        SELECT inv.supplier_id AS supplier_id, inv.invoice_number AS invoice_number,
            inv.first_event_id AS event_id, inv.first_at AS occurred_at, inv.po_number AS po_number,
            inv.correlation_id AS correlation_id, inv.domain AS domain,
            inv.n_received AS n_received, inv.duplicate_at AS duplicate_at,
            ps.po_number != '' AS po_known,
            tupleElement(ln, 1) AS line_no, tupleElement(ln, 2) AS item_id, tupleElement(ln, 3) AS qty, tupleElement(ln, 4) AS price,
            if(po_known, if(has(ps.l_no, line_no), indexOf(ps.l_no, line_no),
                indexOf(ps.l_item, item_id)), 0) AS idx,
            if(idx > 0, ps.l_price[idx], NULL) AS po_price,
            if(idx > 0, ps.l_rcv[idx], toDecimal64(0, 4)) AS received,
            if(ps.po_site != '', ps.po_site, inv.site) AS site_for_threshold,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat('invoice.price_tolerance_ppm|', site_for_threshold)),
                indexOf({tk:Array(String)}, concat('invoice.price_tolerance_ppm|', site_for_threshold)),
                indexOf({tk:Array(String)}, 'invoice.price_tolerance_ppm|*'))] AS tolerance_ppm
        FROM invoices AS inv
        LEFT JOIN po_state AS ps ON ps.po_number = inv.po_number
        ARRAY JOIN inv.first_lines AS ln
    ),
    cumulative AS (
        SELECT *,
            sum(qty) OVER (PARTITION BY po_number, idx ORDER BY occurred_at, event_id, line_no
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS invoiced_so_far
        FROM lines
    ),
    per_invoice AS (
        SELECT supplier_id, invoice_number,
            any(occurred_at) AS first_at, any(po_number) AS inv_po,
            any(correlation_id) AS inv_correlation_id, any(domain) AS inv_domain,
            any(n_received) AS inv_n_received, any(duplicate_at) AS inv_duplicate_at,
            any(po_known) AS po_known,
            any(site_for_threshold) AS tsite,
            countIf(idx = 0) AS lines_off_po,
            countIf(idx > 0 AND price IS NOT NULL AND po_price IS NOT NULL
                AND abs(toDecimal128(price, 4) - toDecimal128(po_price, 4)) * 1000000
                    > toDecimal128(po_price, 4) * tolerance_ppm) AS lines_price_off,
            sumIf(received, idx > 0) AS received_on_billed,
            countIf(idx > 0 AND invoiced_so_far > received) AS lines_over_received,
            groupArray(tuple(line_no, toString(qty), toString(price), toString(po_price),
                toString(received), toString(invoiced_so_far))) AS line_facts
        FROM cumulative
        GROUP BY supplier_id, invoice_number
    ),
    -- Matches of these invoices, found by invoice number alone (the primary key's prefix;
    -- far cheaper than by pair); another supplier's invoice of the same number drops out in
    -- the join below.
    closes AS (
        SELECT DISTINCT supplier_id, invoice_number, 1 AS matched
        FROM rules_invoice_matches_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE occurred_at <= T AND invoice_number IN (
            SELECT invoice_number FROM rules_po_invoice_lines
            WHERE po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String}))
    ),
    judged AS (
        SELECT pi.supplier_id AS supplier_id, pi.invoice_number AS invoice_number,
            pi.first_at AS occurred_at, pi.inv_po AS po_number,
            pi.inv_correlation_id AS correlation_id, pi.inv_domain AS domain,
            pi.tsite AS site, pi.inv_n_received AS n_received,
            pi.inv_duplicate_at AS duplicate_at,
            cl.matched AS matched, pi.line_facts AS line_facts,
            multiIf(
                n_received > 1, 'duplicate',
                matched = 1, '',
                po_number = '' OR NOT pi.po_known OR pi.lines_off_po > 0, 'no_po',
                pi.lines_price_off > 0, 'price_variance',
                pi.received_on_billed = 0, 'no_receipt',
                pi.lines_over_received > 0, 'quantity_mismatch',
                '') AS reason,
            concat('invoice.grace_ms.', reason) AS k,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat(k, '|', site)),
                indexOf({tk:Array(String)}, concat(k, '|', site)),
                indexOf({tk:Array(String)}, concat(k, '|*')))] AS grace_ms,
            if(reason = 'duplicate', duplicate_at, occurred_at) + toIntervalMillisecond(grace_ms) AS since
        FROM per_invoice AS pi
        LEFT JOIN closes AS cl ON cl.supplier_id = pi.supplier_id
            AND cl.invoice_number = pi.invoice_number
    )
-- Columns a finding takes (engine.FINDING_COLUMNS); the family comes from the rule.
SELECT
    reason,
    since,
    concat(supplier_id, '/', invoice_number) AS entity,
    correlation_id,
    site,
    domain,
    po_number,
    invoice_number,
    supplier_id,
    concat('{"invoice_received_at":', toJSONString(toString(occurred_at)),
        ',"received_events":', toJSONString(toString(n_received)),
        ',"lines":', toJSONString(line_facts), '}') AS details
FROM judged
WHERE reason != '' AND (since <= T OR {include_pending:UInt8} = 1)
