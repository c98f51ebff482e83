-- The latest epoch of a lease: its holder, when its latest renewal expires, when the epochs
-- before it expire (a new holder waits for them) and the store's clock, which every process
-- shares. No row yet: epoch 0, holder ''.
WITH (SELECT max(epoch) FROM leases WHERE name = {name:String}) AS latest
SELECT
    latest AS latest_epoch,
    argMaxIf(holder, expires_at, epoch = latest) AS latest_holder,
    maxIf(expires_at, epoch = latest) AS latest_expires_at,
    maxIf(expires_at, epoch < latest) AS earlier_expires_at,
    now64(3, 'UTC') AS store_now
FROM leases
WHERE name = {name:String}
