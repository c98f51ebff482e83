-- reconciliation candidates as of {as_of}: every receipt the ERP has posted (a receipt never
-- posted is delayed_receipt's not_posted). A posted receipt has no closing event: one whose
-- journals balance stays a candidate and is judged clean.
WITH {as_of:DateTime64(3, 'UTC')} AS T
SELECT DISTINCT receipt_id AS key
FROM rules_receipt_bookings
WHERE occurred_at <= T AND kind = 'receipt.posted'
