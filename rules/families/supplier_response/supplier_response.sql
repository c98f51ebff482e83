-- supplier_response as of {as_of}, per PO (DESIGN 5.5); the first reason that applies:
-- not_transmitted (no po.transmitted; since the first po.created + transmit limit), rejected
-- (the latest po.acknowledged says so; since it + rejected limit), no_ack (transmitted, no
-- po.acknowledged; since the first po.transmitted + ack limit), no_asn (suppliers expected to
-- send ASNs: acknowledged, no shipment.notified and no goods.received; since due - the ASN
-- lead, due as in delayed_receipt). Full receipt of the PO closes every reason. Limits: the
-- supplier's at the PO's site, else the supplier's, else the site's, else the global ones.
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    ['supplier.transmit_ms', 'supplier.rejected_ms', 'supplier.ack_ms', 'supplier.asn_lead_ms',
        'supplier.asn_expected'] AS limit_names,
    po AS (
        SELECT po_number, any(correlation_id) AS correlation_id, any(site) AS site,
            any(domain) AS domain, any(supplier_id) AS supplier_id,
            tupleElement(maxIf((occurred_at, event_id, expected_at), expected_at IS NOT NULL), 3)
                AS expected_at,
            groupArray(line_no) AS l_no, groupArray(item_id) AS l_item, groupArray(quantity) AS l_qty
        FROM (
            SELECT po_number, line_no, correlation_id, site, domain, supplier_id, expected_at,
                item_id, quantity, occurred_at, event_id
            FROM rules_po_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
            ORDER BY po_number, line_no, occurred_at DESC, event_id DESC
            LIMIT 1 BY po_number, line_no
        )
        GROUP BY po_number
    ),
    created AS (
        SELECT po_number, min(occurred_at) AS created_at
        FROM rules_po_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
        GROUP BY po_number
    ),
    steps AS (
        SELECT po_number,
            minIf(occurred_at, kind = 'po.transmitted') AS transmitted_at,
            countIf(kind = 'po.transmitted') AS n_transmitted,
            countIf(kind = 'shipment.notified') AS n_asn
        FROM rules_po_supplier_steps
        WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
        GROUP BY po_number
    ),
    acks AS (
        SELECT po_number,
            max((occurred_at, event_id, status)) AS latest,
            tupleElement(maxIf((occurred_at, event_id, promised_at), promised_at IS NOT NULL), 3)
                AS promised_at,
            count() AS n_acks
        FROM rules_po_acks
        WHERE occurred_at <= T AND po_number IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
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
    -- Suppliers the crosswalk says send ASNs (or not); configuration for the supplier itself
    -- comes first, the crosswalk next, then the site's and the global setting.
    asn_listed AS (
        SELECT canonical_id AS supplier_id, toInt64(attributes['asn_expected'] = 'true') AS asn
        FROM masterdata_entities_in_force(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE kind = 'supplier' AND mapContains(attributes, 'asn_expected')
    ),
    judged AS (
        SELECT p.po_number AS po_number, p.correlation_id AS correlation_id, p.site AS site,
            p.domain AS domain, p.supplier_id AS supplier_id, c.created_at AS created_at,
            s.transmitted_at AS transmitted_at, s.n_transmitted AS n_transmitted,
            s.n_asn AS n_asn, a.n_acks AS n_acks,
            tupleElement(a.latest, 1) AS acknowledged_at,
            tupleElement(a.latest, 3) AS ack_status,
            if(a.n_acks > 0 AND a.promised_at IS NOT NULL, a.promised_at, p.expected_at) AS due,
            -- Received per PO line: by line number, else by item (as delayed_receipt).
            arrayMap(i -> arraySum(arrayMap((n, it, q) -> if(
                if(has(p.l_no, n), indexOf(p.l_no, n), indexOf(p.l_item, it)) = i, q, toDecimal64(0, 4)),
                r.r_no, r.r_item, r.r_qty)), arrayEnumerate(p.l_no)) AS l_rcv,
            arrayAll((o, x) -> x >= o, p.l_qty, l_rcv) AS full,
            length(r.r_no) AS receipt_lines,
            arrayMap(n -> {tv:Array(Int64)}[arrayFirst(i -> i > 0, [
                    indexOf({tk:Array(String)}, concat(n, '@', supplier_id, '|', site)),
                    indexOf({tk:Array(String)}, concat(n, '@', supplier_id, '|*')),
                    indexOf({tk:Array(String)}, concat(n, '|', site)),
                    indexOf({tk:Array(String)}, concat(n, '|*'))])],
                limit_names) AS lim,
            if(has({tk:Array(String)}, concat('supplier.asn_expected@', supplier_id, '|', site))
                OR has({tk:Array(String)}, concat('supplier.asn_expected@', supplier_id, '|*'))
                OR x.supplier_id = '', lim[5], x.asn) AS asn_expected,
            multiIf(
                full, '',
                n_transmitted = 0, 'not_transmitted',
                n_acks > 0 AND lower(ack_status) = 'rejected', 'rejected',
                n_acks = 0, 'no_ack',
                asn_expected = 1 AND n_asn = 0 AND receipt_lines = 0 AND due IS NOT NULL, 'no_asn',
                '') AS reason,
            multiIf(
                reason = 'not_transmitted', created_at + toIntervalMillisecond(lim[1]),
                reason = 'rejected', acknowledged_at + toIntervalMillisecond(lim[2]),
                reason = 'no_ack', transmitted_at + toIntervalMillisecond(lim[3]),
                assumeNotNull(due) - toIntervalMillisecond(lim[4])) AS since
        FROM po AS p
        JOIN created AS c ON c.po_number = p.po_number
        LEFT JOIN steps AS s ON s.po_number = p.po_number
        LEFT JOIN acks AS a ON a.po_number = p.po_number
        LEFT JOIN rcv AS r ON r.po_number = p.po_number
        LEFT JOIN asn_listed AS x ON x.supplier_id = p.supplier_id
    )
-- Columns a finding takes (engine.FINDING_COLUMNS); the family comes from the rule.
SELECT
    reason,
    since,
    po_number AS entity,
    correlation_id,
    site,
    domain,
    po_number,
    supplier_id,
    toJSONString(map(
        'created_at', toString(created_at),
        'transmitted_at', if(n_transmitted > 0, toString(transmitted_at), ''),
        'acknowledged_at', if(n_acks > 0, toString(acknowledged_at), ''),
        'acknowledgement', if(n_acks > 0, ack_status, ''),
        'due', ifNull(toString(due), ''))) AS details
FROM judged
WHERE reason != '' AND (since <= T OR {include_pending:UInt8} = 1)
