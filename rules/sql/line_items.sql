-- The items on the lines of documents (the PO and invoice numbers in scope {run_id}) as the
-- store knows them now, for the versions about to be written: every line written before
-- `complete_before`, ten minutes before now (an insert that took its clock, `written_at`,
-- before this read may commit after it; such lines count as written after the version).
SELECT now64(3) - INTERVAL 10 MINUTE AS complete_before,
    groupArray((doc_type, doc, items)) AS docs
FROM (
    SELECT doc_type, doc, groupUniqArray(item_key) AS items
    FROM rules_item_documents
    WHERE doc IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
    GROUP BY doc_type, doc
)
