-- Filter choices for the exceptions page: the values present among the exceptions (each at
-- its current version; reasons with their family, so the page offers only the chosen
-- family's), and a few real identifiers for the search box's hint.
SELECT
    groupUniqArray(family) AS families,
    groupUniqArray((family, reason)) AS family_reasons,
    groupUniqArray(site) AS sites,
    groupUniqArray(owner) AS owners,
    groupUniqArray(supplier_id) AS suppliers,
    groupUniqArray(flow) AS flows,
    groupUniqArray(priority) AS priorities,
    any(nullIf(invoice_number, '')) AS sample_invoice,
    any(nullIf(po_number, '')) AS sample_po,
    any(nullIf(correlation_id, '')) AS sample_correlation_id,
    any(nullIf(item_key, '')) AS sample_item
FROM exceptions_now
