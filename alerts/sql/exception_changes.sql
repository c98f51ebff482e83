-- Exception changes written since a point in time (the caller overlaps windows and skips
-- versions it has already applied).
SELECT *
FROM exception_history
WHERE at >= {since:DateTime64(3)}
ORDER BY exception_id, version
