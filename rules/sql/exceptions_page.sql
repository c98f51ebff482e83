-- One page of exceptions in their current state (the highest version per exception_id) with
-- their SLA clock, filtered; oldest first. `matching` is the count before LIMIT/OFFSET: the
-- page and its total in one scan. The clock's targets come in as lookup arrays built by
-- rules/sla.py (family|severity|priority -> ms, '*' for the default family).
-- Only the page's keys and clock come out: its rows are read whole by exceptions_rows.sql,
-- so the filtering and sorting carry a few narrow columns, not every summary and details of
-- the history (at a million transactions that was most of the list's time).
SELECT exception_id, version, due_state,
    if(ack_due_ms = 0, NULL, fromUnixTimestamp64Milli(ack_due_ms, 'UTC')) AS ack_due,
    if(resolve_due_ms = 0, NULL, fromUnixTimestamp64Milli(resolve_due_ms, 'UTC')) AS resolve_due,
    if(next_ms = 0, NULL, fromUnixTimestamp64Milli(next_ms, 'UTC')) AS next_due,
    count() OVER () AS matching
FROM (
    SELECT *,
        multiIf(next_ms = 0, if(sla_i = 0, 'none', 'met'),
            toUnixTimestamp64Milli({now:DateTime64(3, 'UTC')}) > next_ms, 'overdue',
            next_ms - toUnixTimestamp64Milli({now:DateTime64(3, 'UTC')}) <= next_target_ms / 4, 'due_soon',
            'on_time') AS due_state
    FROM (
        SELECT *,
            multiIf(status = 'open' AND ack_due_ms > 0
                    AND (resolve_due_ms = 0 OR ack_due_ms <= resolve_due_ms), ack_due_ms,
                status != 'resolved' AND resolve_due_ms > 0, resolve_due_ms, 0) AS next_ms,
            if(next_ms = ack_due_ms AND next_ms > 0, ack_ms, resolve_ms) AS next_target_ms
        FROM (
            SELECT *,
                toUnixTimestamp64Milli(if(toYear(opened_at) > 1970, opened_at, at)) AS opened_ms,
                if(indexOf({sla_keys:Array(String)}, concat(family, '|', severity, '|', JSONExtractString(details, 'priority'))) AS own_i > 0,
                    own_i,
                    indexOf({sla_keys:Array(String)}, concat('*|', severity, '|', JSONExtractString(details, 'priority')))) AS sla_i,
                if(sla_i = 0, 0, {sla_ack_ms:Array(UInt64)}[sla_i]) AS ack_ms,
                if(sla_i = 0, 0, {sla_resolve_ms:Array(UInt64)}[sla_i]) AS resolve_ms,
                if(ack_ms = 0, 0, opened_ms + ack_ms) AS ack_due_ms,
                if(resolve_ms = 0, 0, opened_ms + resolve_ms) AS resolve_due_ms
            FROM exception_history
            -- As of an instant: the state then ({now} is that instant, or the present).
            WHERE at <= {now:DateTime64(3, 'UTC')}
            ORDER BY exception_id, version DESC
            LIMIT 1 BY exception_id
        )
    )
)
WHERE ({family:String} = '' OR family = {family:String})
    AND ({reason:String} = '' OR reason = {reason:String})
    AND ({status:String} = '' OR status = {status:String}
        OR {status:String} = 'active' AND status != 'resolved')
    AND ({site:String} = '' OR site = {site:String})
    AND ({owner:String} = '' OR owner = {owner:String})
    AND ({since:DateTime64(3, 'UTC')} = toDateTime64(0, 3, 'UTC') OR since >= {since:DateTime64(3, 'UTC')})
    AND ({due:String} = '' OR due_state = {due:String})
    AND ({any_assignee:UInt8} = 1 OR has({assignees:Array(String)}, assignee))
    AND ({priority:String} = '' OR JSONExtractString(details, 'priority') = {priority:String})
    AND ({supplier:String} = '' OR startsWith(lower(supplier_id), lower({supplier:String})))
    -- The item: named by the finding, or on a line of the exception's PO or invoice.
    AND ({item:String} = '' OR startsWith(lower(JSONExtractString(details, 'item_id')), lower({item:String}))
        OR po_number IN (SELECT doc FROM rules_item_documents WHERE {item:String} != ''
            AND doc_type = 'po_number' AND startsWith(item_key, lower({item:String})))
        OR invoice_number IN (SELECT doc FROM rules_item_documents WHERE {item:String} != ''
            AND doc_type = 'invoice_number' AND startsWith(item_key, lower({item:String}))))
    AND ({flow:String} = '' OR flow = {flow:String})
    -- Search: case-insensitive, anywhere in the identifiers, the summary or the details
    -- (request numbers, item codes live there), so a prefix finds its entity.
    AND ({q:String} = '' OR positionCaseInsensitive(concat(exception_id, ' ', summary, ' ',
        correlation_id, ' ', po_number, ' ', invoice_number, ' ', receipt_id, ' ', flow, ' ',
        supplier_id, ' ', assignee, ' ', details), {q:String}) > 0
        -- and an item code's prefix finds the exceptions about documents carrying it
        OR po_number IN (SELECT doc FROM rules_item_documents WHERE {q:String} != ''
            AND doc_type = 'po_number' AND startsWith(item_key, lower({q:String})))
        OR invoice_number IN (SELECT doc FROM rules_item_documents WHERE {q:String} != ''
            AND doc_type = 'invoice_number' AND startsWith(item_key, lower({q:String}))))
ORDER BY
    if({sort:String} = 'recent', -toUnixTimestamp64Milli(at), 0),
    if({sort:String} = 'severity', multiIf(severity = 'critical', 0, severity = 'warning', 1, 2), 0),
    if({sort:String} = 'due', if(next_ms = 0, 9223372036854775807, next_ms), 0),
    since,
    exception_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
