-- Rules stage: when each fact arrived (the insert's own clock), so the scheduler can
-- re-evaluate only the entities touched since its previous run plus those still open.
ALTER TABLE rules_requests ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE rules_po_lines ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE rules_po_acks ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE rules_receipt_lines ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE rules_receipts ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE rules_invoice_lines ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE rules_invoice_closes ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE rules_requests ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;
ALTER TABLE rules_po_lines ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;
ALTER TABLE rules_po_acks ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;
ALTER TABLE rules_receipt_lines ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;
ALTER TABLE rules_receipts ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;
ALTER TABLE rules_invoice_lines ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;
ALTER TABLE rules_invoice_closes ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;
