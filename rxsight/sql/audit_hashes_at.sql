-- The hashes of the entries at one place of the chain (one, unless two writers collided).
SELECT hash
FROM audit_log
WHERE seq = {seq:UInt64}
