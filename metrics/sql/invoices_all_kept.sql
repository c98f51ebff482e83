-- Whether every invoice's kept row gives its outcome as of {as_of} (a quick look before
-- invoices_to_judge.sql; 0 when unsure): nothing touched since the refresh watermark {since},
-- no crosswalk change, every row dated at or before as_of and kept under {thresholds}. Old
-- versions of rows not yet merged can only make it say 0.
SELECT (SELECT count() FROM kpi_invoices_touched(since = {since:DateTime64(3, 'UTC')},
        as_of = {as_of:DateTime64(3, 'UTC')})) = 0
    AND (SELECT count() FROM masterdata_identifiers
        WHERE loaded_at > {since:DateTime64(3, 'UTC')}
            OR valid_from > {as_of:DateTime64(3, 'UTC')}) = 0
    AND (
        SELECT max(last_at) <= {as_of:DateTime64(3, 'UTC')}
            AND min(thresholds) = {thresholds:String} AND max(thresholds) = {thresholds:String}
        FROM kpi_invoice_facts
    )
