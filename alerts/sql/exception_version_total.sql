-- How many exceptions there are and the sum of their highest versions: equal to the
-- dispatcher's own figures exactly when it has applied every exception's latest version
-- (it only ever learns versions from here, so none of its can be higher).
SELECT count() AS exceptions, sum(version) AS versions
FROM exceptions_now FINAL
