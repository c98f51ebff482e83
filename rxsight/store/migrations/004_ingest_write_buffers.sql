-- An insert of more than 10 MiB (ClickHouse's min_bytes_for_wide_part) makes a wide part: a
-- file per column stream, each written through its own 1 MiB compression buffer, about 90
-- of them on business_events. A 45,000-event insert took 180 MiB inside chDB that way;
-- buffers that start small and grow as their column fills take 60 MiB, at the same CPU.
-- (Keeping such parts compact saves the memory too, but merging compact parts cost a third
-- more CPU per span.)
ALTER TABLE otel_traces MODIFY SETTING min_columns_to_activate_adaptive_write_buffer = 1;

ALTER TABLE business_events MODIFY SETTING min_columns_to_activate_adaptive_write_buffer = 1;
