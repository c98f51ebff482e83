-- One page of exceptions as they stood at {now} (exceptions_as_of, rules/migrations/093: the
-- kept current rows, the history only for those changed since), filtered; oldest first.
-- Parts between `-- <name>` and `-- </name>` are sent only when the request uses them
-- (rules/lifecycle.py `_page_sql`, rxsight/store/sql.py `with_blocks`): ClickHouse analyses
-- every part of a query, one a constant parameter switches off included, and the unused
-- clock and item look-ups were half of the page's fixed cost. Without an instant asked for
-- (`latest`) the kept rows are read alone: the view's history path cost 20-25 ms at a million
-- exceptions even when it yielded nothing.
-- Only the page's keys come out, with `matching`, the count before LIMIT/OFFSET, stopped at
-- {count_cap} + 1 (one more than the cap says "more than the cap"; counting a million
-- matches exactly cost as much as the page). The rows are read whole by exceptions_rows.sql
-- and their SLA clock worked out by rules/sla.py.
-- The clock is computed here only to sort or filter by it ({sort} = 'due', {due} set): its
-- targets come in as lookup arrays built by rules/sla.py `lookup_params`, the length of the
-- clock that runs already chosen there per key and status, so per row it is one lookup, one
-- addition and a comparison (computing both clocks and picking one per row cost 100-200 ms
-- of CPU at a million exceptions).
WITH
    toUnixTimestamp64Milli({now:DateTime64(3, 'UTC')}) AS now_ms,
    -- The search as a LIKE pattern: its own % _ and \ escaped, found anywhere.
    concat('%', replaceRegexpAll(lower({q:String}), '[\\\\%_]', '\\\\\\0'), '%') AS q_like,
    matching AS (
        SELECT exception_id, version, at, since, severity
            -- <clock>
            -- transform looks up in a hash table built once, and on a LowCardinality key
            -- once per distinct key (rules/migrations/092); the status's class too.
            , transform(sla_key, {sla_keys:Array(String)},
                arrayEnumerate({sla_keys:Array(String)}), 0) AS own_i,
            transform(sla_default_key, {sla_keys:Array(String)},
                arrayEnumerate({sla_keys:Array(String)}), 0) AS default_i,
            if(own_i > 0, own_i, default_i) AS sla_i,
            -- The running clock's length; 0: none runs (met, or no targets when sla_i = 0).
            {sla_running_ms:Array(Int64)}[
                sla_i * 3 + transform(status, ['open', 'resolved'], [1, 2], 3)] AS target_ms,
            toUnixTimestamp64Milli(if(opened_at > toDateTime64(0, 3, 'UTC'), opened_at, at))
                + target_ms AS due_ms
            -- Whether the clock stands in the state asked for, {due}: its own test alone
            -- (nested `if`s on the constant state, folded, still cost ~10 ms of analysis).
            -- <due_overdue>
            , target_ms > 0 AND due_ms < now_ms AS in_due_state
            -- </due_overdue>
            -- <due_due_soon>
            , target_ms > 0 AND due_ms >= now_ms AND due_ms - now_ms <= target_ms / 4
                AS in_due_state
            -- </due_due_soon>
            -- <due_on_time>
            , target_ms > 0 AND due_ms - now_ms > target_ms / 4 AS in_due_state
            -- </due_on_time>
            -- <due_met>
            , target_ms = 0 AND sla_i > 0 AS in_due_state
            -- </due_met>
            -- <due_none>
            , target_ms = 0 AND sla_i = 0 AS in_due_state
            -- </due_none>
            -- </clock>
        -- <at_instant>
        FROM exceptions_as_of(as_of = {now:DateTime64(3, 'UTC')})
        -- </at_instant>
        -- <latest>
        FROM exceptions_now FINAL
        -- </latest>
        WHERE ({family:String} = '' OR family = {family:String})
            AND ({reason:String} = '' OR reason = {reason:String})
            AND ({status:String} = '' OR status = {status:String}
                OR {status:String} = 'active' AND status != 'resolved')
            AND ({site:String} = '' OR site = {site:String})
            AND ({owner:String} = '' OR owner = {owner:String})
            AND ({since:DateTime64(3, 'UTC')} = toDateTime64(0, 3, 'UTC')
                OR since >= {since:DateTime64(3, 'UTC')})
            AND ({any_assignee:UInt8} = 1 OR has({assignees:Array(String)}, assignee))
            AND ({priority:String} = '' OR priority = {priority:String})
            AND ({supplier:String} = ''
                OR startsWith(lower(supplier_id), lower({supplier:String})))
            -- <item>
            -- The item: named by the finding, or on a line of the exception's PO or invoice
            -- (known when the row was written, or written since {lines_from}: looked up when
            -- some line was, exceptions_item_lines.sql).
            AND (startsWith(item_key, lower({item:String}))
                OR arrayExists(k -> startsWith(k, lower({item:String})), line_items)
                -- <item_lines>
                OR po_number IN (SELECT doc FROM rules_item_documents
                    PREWHERE written_at >= {lines_from:DateTime64(3, 'UTC')}
                    WHERE doc_type = 'po_number' AND startsWith(item_key, lower({item:String})))
                OR invoice_number IN (SELECT doc FROM rules_item_documents
                    PREWHERE written_at >= {lines_from:DateTime64(3, 'UTC')}
                    WHERE doc_type = 'invoice_number'
                        AND startsWith(item_key, lower({item:String})))
                -- </item_lines>
                )
            -- </item>
            AND ({flow:String} = '' OR flow = {flow:String})
            -- <search>
            -- Search: case-insensitive, anywhere in the identifiers, the summary or the
            -- details (request numbers, item codes live there), so a prefix finds its
            -- entity; search_text is all of them in lower case, written with the version.
            -- (LIKE, not position: the trigram index of rules/migrations/094 serves it.)
            AND (search_text LIKE q_like
                -- <search_items>
                -- and an item code's prefix finds the exceptions about documents carrying
                -- it. Only when some item has that prefix (exceptions_item_lines.sql):
                -- otherwise the condition is the LIKE alone and the index skips granules.
                OR arrayExists(k -> startsWith(k, lower({q:String})), line_items)
                -- <search_lines>
                OR po_number IN (SELECT doc FROM rules_item_documents
                    PREWHERE written_at >= {lines_from:DateTime64(3, 'UTC')}
                    WHERE doc_type = 'po_number' AND startsWith(item_key, lower({q:String})))
                OR invoice_number IN (SELECT doc FROM rules_item_documents
                    PREWHERE written_at >= {lines_from:DateTime64(3, 'UTC')}
                    WHERE doc_type = 'invoice_number' AND startsWith(item_key, lower({q:String})))
                -- </search_lines>
                -- </search_items>
                )
            -- </search>
            -- <due>
            AND in_due_state
            -- </due>
    ),
    (SELECT count() FROM (SELECT 1 FROM matching LIMIT {count_cap:UInt64} + 1)) AS matching_count
SELECT exception_id, version, matching_count AS matching
FROM matching
-- A constant once the count ran: when nothing matches, the page is not looked for (a filter
-- matching nothing, e.g. a clock state no exception is in, read every row twice).
WHERE matching_count > 0
ORDER BY
    if({sort:String} = 'recent', -toUnixTimestamp64Milli(at), 0),
    if({sort:String} = 'severity', multiIf(severity = 'critical', 0, severity = 'warning', 1, 2), 0),
    -- <clock>
    if({sort:String} = 'due', if(target_ms = 0, 9223372036854775807, due_ms), 0),
    -- </clock>
    since,
    exception_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
-- Evaluated lazily, the clock's lookups were rebuilt for each slice of rows (10x slower).
SETTINGS short_circuit_function_evaluation = 'disable'
