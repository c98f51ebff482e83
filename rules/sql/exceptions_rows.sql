-- The stored rows of a page of exceptions (exceptions_page.sql): every version of each,
-- read by the table's key; the caller keeps the versions the page names.
SELECT *
FROM exception_history
WHERE exception_id IN {exception_ids:Array(String)}
ORDER BY exception_id, version
