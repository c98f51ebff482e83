-- Up to when the facts of a kept KPI fact table were read by its latest refresh (the epoch
-- before the first one: every entity is then judged from its facts).
SELECT max(watermark) FROM kpi_facts_watermarks WHERE name = {name:String}
