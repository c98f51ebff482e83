-- Parts smaller than 32 MiB uncompressed are written packed (see the kernel's
-- 033_ingest_packed_parts.sql): the console's business-key index, which ingest fills through
-- its view. Databases made before the stages owned their schema got this from 033 already.

ALTER TABLE console_keys MODIFY SETTING min_bytes_for_full_part_storage = 33554432;
