-- supplier_response candidates as of {as_of}: full receipt closes every reason, so only POs
-- short on some line can have a finding: the ones delayed_receipt's candidates found for this
-- full run, kept in rules_scope under {short_pos}.
SELECT key FROM rules_scope WHERE run_id = {short_pos:String}
