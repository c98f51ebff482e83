-- Leases (rxsight/lease.py): one rules scheduler and one alert dispatcher among several
-- `rxsight serve` processes on one ClickHouse. Each row is a claim (a new epoch) or a renewal
-- of an epoch by its holder. A claim is inserted under insert_deduplication_token
-- 'lease:<name>:<epoch>': of two processes claiming the same epoch the second insert is
-- dropped, and each reads back who holds it.
CREATE TABLE IF NOT EXISTS leases (
    name String,
    epoch UInt64,
    holder String,
    expires_at DateTime64(3, 'UTC'),
    at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (name, epoch, expires_at)
TTL toDateTime(at) + INTERVAL 7 DAY
SETTINGS non_replicated_deduplication_window = 10000;
