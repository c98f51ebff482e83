-- How many exceptions match the same filters as exceptions_current; needed only for a page
-- past the end, where no row comes back to carry exceptions_current's `matching`.
SELECT count()
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
