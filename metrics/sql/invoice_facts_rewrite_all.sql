-- Whether a refresh after {since} must rewrite every invoice's kept row: a crosswalk version
-- loaded since (identifiers match differently), or rows kept under other thresholds.
SELECT (SELECT count() FROM masterdata_identifiers WHERE loaded_at > {since:DateTime64(3, 'UTC')})
    + (SELECT count() FROM kpi_invoice_facts FINAL WHERE thresholds != {thresholds:String}) > 0
