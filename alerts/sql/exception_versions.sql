-- Each exception's highest version (the rules stage keeps it in exceptions_now).
SELECT exception_id, version
FROM exceptions_now FINAL
