-- The PO facts of every PO with facts arrived after {since}, with all of its facts counted
-- ({as_of}: the latest instant a DateTime64 holds), as the newest version of its row.
INSERT INTO kpi_po_facts (po_number, supplier_id, counted, due, on_time, ordered,
    capped_received, last_at, refreshed_at)
SELECT po_number, supplier_id, counted, due, on_time, ordered, capped_received, last_at,
    now64(3, 'UTC')
FROM kpi_po_facts_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
    since = {since:DateTime64(3, 'UTC')}, with_kept = 0)
