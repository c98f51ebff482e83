-- Parts smaller than 32 MiB uncompressed are written packed (see the kernel's
-- 033_ingest_packed_parts.sql): the rules stage's tables that ingest inserts fill through
-- their views. Databases made before the stages owned their schema got this from 033 already;
-- setting it again changes nothing.

ALTER TABLE rules_spans MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_flow_hours MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_requests MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_po_lines MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_po_acks MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_receipt_lines MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_receipts MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_po_by_correlation MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_po_invoice_lines MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_invoice_matches MODIFY SETTING min_bytes_for_full_part_storage = 33554432;

ALTER TABLE rules_pos_by_invoice MODIFY SETTING min_bytes_for_full_part_storage = 33554432;
