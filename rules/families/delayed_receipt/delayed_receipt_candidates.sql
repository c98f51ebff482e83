-- delayed_receipt candidates as of {as_of}: POs short on some line. A PO received in full
-- line by line can have no finding.
SELECT DISTINCT po_number AS key
FROM rules_short_po_lines(as_of = {as_of:DateTime64(3, 'UTC')})
