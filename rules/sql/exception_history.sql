-- Every version of one exception, oldest first.
SELECT *
FROM exception_history
WHERE exception_id = {exception_id:String}
ORDER BY version
