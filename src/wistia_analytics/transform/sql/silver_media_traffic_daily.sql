-- silver_media_traffic_daily: one row per media, UTC day, traffic dimension and value, from
-- GET /modern/analytics/medias/{id}/traffic?group_by=<dimension> for one day. The request names the media, the
-- day and the dimension (context_media_id, context_date, context_dimension); each record is one group
-- {<dimension>: <value>, loads, plays, engagement_rate}. value = the record's field named by the dimension; a
-- null or empty value is the group without the attribute, "(none)" (contracts/streams.py NO_VALUE). The field
-- name is one of the five known dimensions (a CASE, never a path built from data); a record without that field
-- is quarantined (the response is not the grouping the request asked for).
-- Every metric may be null (the API says so) and stays NULL; a metric present but not a number, a negative
-- count, a fractional count or a rate outside [0, 1] quarantines the record (docs/models.md, "Quarantine").
-- The newest response for a (media, day, dimension) replaces the older one as a whole (a value that left the
-- top 100 must not keep old figures): merge_group in transform/models.py, and the same here for full rebuilds.
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        context_date AS stat_date_raw,
        try_cast(context_date AS DATE) AS stat_date,
        nullif(context_dimension, '') AS dimension,
        CASE context_dimension
            WHEN 'utm_source' THEN json_extract_string(record, '$.utm_source')
            WHEN 'utm_medium' THEN json_extract_string(record, '$.utm_medium')
            WHEN 'utm_campaign' THEN json_extract_string(record, '$.utm_campaign')
            WHEN 'referrer_domain' THEN json_extract_string(record, '$.referrer_domain')
            WHEN 'viewer_screen_size' THEN json_extract_string(record, '$.viewer_screen_size')
        END AS value_raw,
        CASE context_dimension
            WHEN 'utm_source' THEN instr(record, '"utm_source":') > 0
            WHEN 'utm_medium' THEN instr(record, '"utm_medium":') > 0
            WHEN 'utm_campaign' THEN instr(record, '"utm_campaign":') > 0
            WHEN 'referrer_domain' THEN instr(record, '"referrer_domain":') > 0
            WHEN 'viewer_screen_size' THEN instr(record, '"viewer_screen_size":') > 0
        END AS has_field,
        json_extract_string(record, '$.loads') AS loads_raw,
        try_cast(json_extract_string(record, '$.loads') AS DOUBLE) AS loads_num,
        json_extract_string(record, '$.plays') AS plays_raw,
        try_cast(json_extract_string(record, '$.plays') AS DOUBLE) AS plays_num,
        json_extract_string(record, '$.engagement_rate') AS engagement_rate_raw,
        try_cast(json_extract_string(record, '$.engagement_rate') AS DOUBLE) AS engagement_rate_num,
        json_extract_string(record, '$.__defects__') AS defects,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_traffic_daily
),

checked AS (
    SELECT
        *,
        CASE WHEN value_raw IS NULL OR value_raw = '' THEN '(none)' ELSE value_raw END AS value,
        CASE
            WHEN defects IS NOT NULL THEN 'malformed JSON: ' || defects
            WHEN length(record) > 65536 THEN 'record longer than 65536 characters'
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN stat_date_raw IS NULL OR stat_date_raw = '' THEN 'missing date'
            WHEN stat_date IS NULL THEN 'date not a date'
            WHEN dimension IS NULL THEN 'missing dimension'
            WHEN has_field IS NULL THEN 'unknown dimension'
            WHEN NOT has_field THEN 'missing ' || dimension || ' field'
            WHEN loads_raw IS NOT NULL AND loads_num IS NULL THEN 'loads not a number'
            WHEN loads_num < 0 THEN 'negative loads'
            WHEN loads_num > 1e15 OR loads_num <> floor(loads_num) THEN 'loads not an integer'
            WHEN plays_raw IS NOT NULL AND plays_num IS NULL THEN 'plays not a number'
            WHEN plays_num < 0 THEN 'negative plays'
            WHEN plays_num > 1e15 OR plays_num <> floor(plays_num) THEN 'plays not an integer'
            WHEN engagement_rate_raw IS NOT NULL AND engagement_rate_num IS NULL THEN 'engagement_rate not a number'
            WHEN NOT (engagement_rate_num >= 0 AND engagement_rate_num <= 1) THEN 'engagement_rate out of [0, 1]'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        DENSE_RANK() OVER (
            PARTITION BY media_id, stat_date, dimension, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC
        ) AS response_rank,
        ROW_NUMBER() OVER (
            PARTITION BY media_id, stat_date, dimension, value, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    media_id,
    stat_date,
    dimension,
    value,
    CAST(loads_num AS BIGINT) AS loads,
    CAST(plays_num AS BIGINT) AS plays,
    engagement_rate_num AS engagement_rate,
    ingested_at,
    run_id,
    source_file,
    reject_reason,
    coalesce(media_id, '') || '/' || coalesce(stat_date_raw, '') || '/' || coalesce(dimension, '') || '/'
    || coalesce(value, '') AS record_key,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR (rn = 1 AND response_rank = 1)
