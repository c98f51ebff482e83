-- receipt_posting candidates as of {as_of}: receipts with no receipt.posted yet.
WITH {as_of:DateTime64(3, 'UTC')} AS T
SELECT DISTINCT receipt_id AS key
FROM rules_receipts
WHERE occurred_at <= T AND kind = 'goods.received'
    AND sipHash128(receipt_id) NOT IN (
        SELECT sipHash128(receipt_id)
        FROM rules_receipts WHERE occurred_at <= T AND kind = 'receipt.posted')
