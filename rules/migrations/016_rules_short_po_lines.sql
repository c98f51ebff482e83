-- Rules stage: PO lines short as of {as_of}: ordered (the largest of the line's versions)
-- more than received on that same line number. A full run reads it to find the POs and
-- requests that could have a finding; a PO with no short line is fully received. Receipt
-- lines matched by item instead, or a PO revised down, leave a line here to be judged
-- exactly: a candidate too many costs a little, one too few would be a missed finding.
CREATE VIEW IF NOT EXISTS rules_short_po_lines AS
SELECT po_number, line_no
FROM (
    SELECT po_number, line_no, quantity AS ordered, toDecimal64(0, 4) AS received
    FROM rules_po_lines
    WHERE occurred_at <= {as_of:DateTime64(3, 'UTC')}
    UNION ALL
    -- FINAL folds a receipt delivered twice (same event and line).
    SELECT po_number, line_no, toDecimal64(0, 4), quantity
    FROM rules_receipt_lines FINAL
    WHERE occurred_at <= {as_of:DateTime64(3, 'UTC')}
)
GROUP BY po_number, line_no
HAVING max(ordered) > sum(received);
