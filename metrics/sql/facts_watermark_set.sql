-- A refresh of a kept KPI fact table is complete up to {watermark}; written after its rows.
INSERT INTO kpi_facts_watermarks (name, watermark)
VALUES ({name:String}, {watermark:DateTime64(3, 'UTC')})
