-- Current state of exceptions (the highest version per exception_id), filtered; oldest first.
-- `matching` is the count before LIMIT/OFFSET: the page and its total in one scan.
SELECT *, count() OVER () AS matching
FROM (
    SELECT *
    FROM exception_history
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
WHERE ({family:String} = '' OR family = {family:String})
    AND ({reason:String} = '' OR reason = {reason:String})
    AND ({status:String} = '' OR status = {status:String}
        OR {status:String} = 'active' AND status != 'resolved')
    AND ({site:String} = '' OR site = {site:String})
    AND ({owner:String} = '' OR owner = {owner:String})
    AND ({since:DateTime64(3, 'UTC')} = toDateTime64(0, 3, 'UTC') OR since >= {since:DateTime64(3, 'UTC')})
    AND ({q:String} = '' OR positionCaseInsensitive(concat(exception_id, ' ', summary, ' ',
        correlation_id, ' ', po_number, ' ', invoice_number, ' ', receipt_id, ' ', flow, ' ',
        assignee), {q:String}) > 0)
ORDER BY
    if({sort:String} = 'recent', -toUnixTimestamp64Milli(at), 0),
    if({sort:String} = 'severity', multiIf(severity = 'critical', 0, severity = 'warning', 1, 2), 0),
    since,
    exception_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
