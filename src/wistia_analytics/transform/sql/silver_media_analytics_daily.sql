-- silver_media_analytics_daily: one row per media and UTC day, from the modern Data API's daily timeseries
-- (GET /modern/analytics/medias/{id}/timeseries?granularity=daily). The media comes from the request
-- (context_media_id); each record is one bucket {timestamp, unique_loads, ..., form_conversions} and stat_date is
-- the UTC date of its timestamp. played_time is seconds (played_time_seconds).
-- Every metric may be null (the API says so) and stays NULL; a metric present but not a number, a negative
-- count, a fractional count or a rate outside [0, 1] quarantines the record (docs/models.md, "Quarantine").
-- Deduplicated by (media_id, stat_date), latest ingested wins: today's partial bucket is replaced by the next
-- run's complete one.
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        json_extract_string(record, '$.timestamp') AS timestamp_raw,
        try_cast(json_extract_string(record, '$.timestamp') AS TIMESTAMPTZ) AS bucket_at,
        json_extract_string(record, '$.unique_loads') AS unique_loads_raw,
        try_cast(json_extract_string(record, '$.unique_loads') AS DOUBLE) AS unique_loads_num,
        json_extract_string(record, '$.unique_plays') AS unique_plays_raw,
        try_cast(json_extract_string(record, '$.unique_plays') AS DOUBLE) AS unique_plays_num,
        json_extract_string(record, '$.plays') AS plays_raw,
        try_cast(json_extract_string(record, '$.plays') AS DOUBLE) AS plays_num,
        json_extract_string(record, '$.play_rate') AS play_rate_raw,
        try_cast(json_extract_string(record, '$.play_rate') AS DOUBLE) AS play_rate_num,
        json_extract_string(record, '$.played_time') AS played_time_raw,
        try_cast(json_extract_string(record, '$.played_time') AS DOUBLE) AS played_time_num,
        json_extract_string(record, '$.unique_visitors') AS unique_visitors_raw,
        try_cast(json_extract_string(record, '$.unique_visitors') AS DOUBLE) AS unique_visitors_num,
        json_extract_string(record, '$.engagement_rate') AS engagement_rate_raw,
        try_cast(json_extract_string(record, '$.engagement_rate') AS DOUBLE) AS engagement_rate_num,
        json_extract_string(record, '$.cta_impressions') AS cta_impressions_raw,
        try_cast(json_extract_string(record, '$.cta_impressions') AS DOUBLE) AS cta_impressions_num,
        json_extract_string(record, '$.cta_conversions') AS cta_conversions_raw,
        try_cast(json_extract_string(record, '$.cta_conversions') AS DOUBLE) AS cta_conversions_num,
        json_extract_string(record, '$.cta_conversion_rate') AS cta_conversion_rate_raw,
        try_cast(json_extract_string(record, '$.cta_conversion_rate') AS DOUBLE) AS cta_conversion_rate_num,
        json_extract_string(record, '$.form_conversions') AS form_conversions_raw,
        try_cast(json_extract_string(record, '$.form_conversions') AS DOUBLE) AS form_conversions_num,
        json_extract_string(record, '$.__defects__') AS defects,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_analytics_daily
),

checked AS (
    SELECT
        *,
        CAST(bucket_at AS DATE) AS stat_date,
        CASE
            WHEN defects IS NOT NULL THEN 'malformed JSON: ' || defects
            WHEN length(record) > 65536 THEN 'record longer than 65536 characters'
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN timestamp_raw IS NULL OR timestamp_raw = '' THEN 'missing timestamp'
            WHEN bucket_at IS NULL THEN 'timestamp not a timestamp'
            WHEN bucket_at > ingested_at + INTERVAL '1' DAY THEN 'timestamp in the future'
            WHEN bucket_at < CAST('2000-01-01 00:00:00+00:00' AS TIMESTAMPTZ) THEN 'timestamp before 2000-01-01'
            WHEN unique_loads_raw IS NOT NULL AND unique_loads_num IS NULL THEN 'unique_loads not a number'
            WHEN unique_loads_num < 0 THEN 'negative unique_loads'
            WHEN unique_loads_num > 1e15 OR unique_loads_num <> floor(unique_loads_num) THEN 'unique_loads not an integer'
            WHEN unique_plays_raw IS NOT NULL AND unique_plays_num IS NULL THEN 'unique_plays not a number'
            WHEN unique_plays_num < 0 THEN 'negative unique_plays'
            WHEN unique_plays_num > 1e15 OR unique_plays_num <> floor(unique_plays_num) THEN 'unique_plays not an integer'
            WHEN plays_raw IS NOT NULL AND plays_num IS NULL THEN 'plays not a number'
            WHEN plays_num < 0 THEN 'negative plays'
            WHEN plays_num > 1e15 OR plays_num <> floor(plays_num) THEN 'plays not an integer'
            WHEN play_rate_raw IS NOT NULL AND play_rate_num IS NULL THEN 'play_rate not a number'
            WHEN NOT (play_rate_num >= 0 AND play_rate_num <= 1) THEN 'play_rate out of [0, 1]'
            WHEN played_time_raw IS NOT NULL AND played_time_num IS NULL THEN 'played_time not a number'
            WHEN played_time_num < 0 THEN 'negative played_time'
            WHEN played_time_num > 1e15 THEN 'played_time out of range'
            WHEN unique_visitors_raw IS NOT NULL AND unique_visitors_num IS NULL THEN 'unique_visitors not a number'
            WHEN unique_visitors_num < 0 THEN 'negative unique_visitors'
            WHEN unique_visitors_num > 1e15 OR unique_visitors_num <> floor(unique_visitors_num) THEN 'unique_visitors not an integer'
            WHEN engagement_rate_raw IS NOT NULL AND engagement_rate_num IS NULL THEN 'engagement_rate not a number'
            WHEN NOT (engagement_rate_num >= 0 AND engagement_rate_num <= 1) THEN 'engagement_rate out of [0, 1]'
            WHEN cta_impressions_raw IS NOT NULL AND cta_impressions_num IS NULL THEN 'cta_impressions not a number'
            WHEN cta_impressions_num < 0 THEN 'negative cta_impressions'
            WHEN cta_impressions_num > 1e15 OR cta_impressions_num <> floor(cta_impressions_num) THEN 'cta_impressions not an integer'
            WHEN cta_conversions_raw IS NOT NULL AND cta_conversions_num IS NULL THEN 'cta_conversions not a number'
            WHEN cta_conversions_num < 0 THEN 'negative cta_conversions'
            WHEN cta_conversions_num > 1e15 OR cta_conversions_num <> floor(cta_conversions_num) THEN 'cta_conversions not an integer'
            WHEN cta_conversion_rate_raw IS NOT NULL AND cta_conversion_rate_num IS NULL THEN 'cta_conversion_rate not a number'
            WHEN NOT (cta_conversion_rate_num >= 0 AND cta_conversion_rate_num <= 1) THEN 'cta_conversion_rate out of [0, 1]'
            WHEN form_conversions_raw IS NOT NULL AND form_conversions_num IS NULL THEN 'form_conversions not a number'
            WHEN form_conversions_num < 0 THEN 'negative form_conversions'
            WHEN form_conversions_num > 1e15 OR form_conversions_num <> floor(form_conversions_num) THEN 'form_conversions not an integer'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY media_id, stat_date, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    media_id,
    stat_date,
    CAST(unique_loads_num AS BIGINT) AS unique_loads,
    CAST(unique_plays_num AS BIGINT) AS unique_plays,
    CAST(plays_num AS BIGINT) AS plays,
    play_rate_num AS play_rate,
    played_time_num AS played_time_seconds,
    CAST(unique_visitors_num AS BIGINT) AS unique_visitors,
    engagement_rate_num AS engagement_rate,
    CAST(cta_impressions_num AS BIGINT) AS cta_impressions,
    CAST(cta_conversions_num AS BIGINT) AS cta_conversions,
    cta_conversion_rate_num AS cta_conversion_rate,
    CAST(form_conversions_num AS BIGINT) AS form_conversions,
    ingested_at,
    run_id,
    source_file,
    reject_reason,
    coalesce(media_id, '') || '/' || coalesce(timestamp_raw, '') AS record_key,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR rn = 1
