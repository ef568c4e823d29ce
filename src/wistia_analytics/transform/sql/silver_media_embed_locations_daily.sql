-- silver_media_embed_locations_daily: one row per media, UTC day and page, from
-- GET /modern/analytics/medias/{id}/embed_locations for one day (context_media_id, context_date). A page is its
-- embed_url (scheme://host/path, no query); embed_domain, embed_path and page_title mirror the source.
-- played_time is float seconds (played_time_seconds).
-- Every metric may be null (the API says so) and stays NULL; a metric present but not a number, a negative
-- count, a fractional count or a rate outside [0, 1] quarantines the record (docs/models.md, "Quarantine").
-- The newest response for a (media, day) replaces the older one as a whole (merge_group in transform/models.py,
-- the same here for full rebuilds): a page that left the top 100 must not keep old figures.
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        context_date AS stat_date_raw,
        try_cast(context_date AS DATE) AS stat_date,
        nullif(json_extract_string(record, '$.embed_url'), '') AS embed_url,
        json_extract_string(record, '$.embed_domain') AS embed_domain,
        json_extract_string(record, '$.embed_path') AS embed_path,
        json_extract_string(record, '$.page_title') AS page_title,
        json_extract_string(record, '$.loads') AS loads_raw,
        try_cast(json_extract_string(record, '$.loads') AS DOUBLE) AS loads_num,
        json_extract_string(record, '$.unique_loads') AS unique_loads_raw,
        try_cast(json_extract_string(record, '$.unique_loads') AS DOUBLE) AS unique_loads_num,
        json_extract_string(record, '$.plays') AS plays_raw,
        try_cast(json_extract_string(record, '$.plays') AS DOUBLE) AS plays_num,
        json_extract_string(record, '$.unique_plays') AS unique_plays_raw,
        try_cast(json_extract_string(record, '$.unique_plays') AS DOUBLE) AS unique_plays_num,
        json_extract_string(record, '$.play_rate') AS play_rate_raw,
        try_cast(json_extract_string(record, '$.play_rate') AS DOUBLE) AS play_rate_num,
        json_extract_string(record, '$.played_time') AS played_time_raw,
        try_cast(json_extract_string(record, '$.played_time') AS DOUBLE) AS played_time_num,
        json_extract_string(record, '$.engagement_rate') AS engagement_rate_raw,
        try_cast(json_extract_string(record, '$.engagement_rate') AS DOUBLE) AS engagement_rate_num,
        json_extract_string(record, '$.unique_visitors') AS unique_visitors_raw,
        try_cast(json_extract_string(record, '$.unique_visitors') AS DOUBLE) AS unique_visitors_num,
        json_extract_string(record, '$.cta_conversion_rate') AS cta_conversion_rate_raw,
        try_cast(json_extract_string(record, '$.cta_conversion_rate') AS DOUBLE) AS cta_conversion_rate_num,
        json_extract_string(record, '$.__defects__') AS defects,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_embed_locations_daily
),

checked AS (
    SELECT
        *,
        CASE
            WHEN defects IS NOT NULL THEN 'malformed JSON: ' || defects
            WHEN length(record) > 65536 THEN 'record longer than 65536 characters'
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN stat_date_raw IS NULL OR stat_date_raw = '' THEN 'missing date'
            WHEN stat_date IS NULL THEN 'date not a date'
            WHEN embed_url IS NULL THEN 'missing embed_url'
            WHEN loads_raw IS NOT NULL AND loads_num IS NULL THEN 'loads not a number'
            WHEN loads_num < 0 THEN 'negative loads'
            WHEN loads_num > 1e15 OR loads_num <> floor(loads_num) THEN 'loads not an integer'
            WHEN unique_loads_raw IS NOT NULL AND unique_loads_num IS NULL THEN 'unique_loads not a number'
            WHEN unique_loads_num < 0 THEN 'negative unique_loads'
            WHEN unique_loads_num > 1e15 OR unique_loads_num <> floor(unique_loads_num) THEN 'unique_loads not an integer'
            WHEN plays_raw IS NOT NULL AND plays_num IS NULL THEN 'plays not a number'
            WHEN plays_num < 0 THEN 'negative plays'
            WHEN plays_num > 1e15 OR plays_num <> floor(plays_num) THEN 'plays not an integer'
            WHEN unique_plays_raw IS NOT NULL AND unique_plays_num IS NULL THEN 'unique_plays not a number'
            WHEN unique_plays_num < 0 THEN 'negative unique_plays'
            WHEN unique_plays_num > 1e15 OR unique_plays_num <> floor(unique_plays_num) THEN 'unique_plays not an integer'
            WHEN play_rate_raw IS NOT NULL AND play_rate_num IS NULL THEN 'play_rate not a number'
            WHEN NOT (play_rate_num >= 0 AND play_rate_num <= 1) THEN 'play_rate out of [0, 1]'
            WHEN played_time_raw IS NOT NULL AND played_time_num IS NULL THEN 'played_time not a number'
            WHEN played_time_num < 0 THEN 'negative played_time'
            WHEN played_time_num > 1e15 THEN 'played_time out of range'
            WHEN engagement_rate_raw IS NOT NULL AND engagement_rate_num IS NULL THEN 'engagement_rate not a number'
            WHEN NOT (engagement_rate_num >= 0 AND engagement_rate_num <= 1) THEN 'engagement_rate out of [0, 1]'
            WHEN unique_visitors_raw IS NOT NULL AND unique_visitors_num IS NULL THEN 'unique_visitors not a number'
            WHEN unique_visitors_num < 0 THEN 'negative unique_visitors'
            WHEN unique_visitors_num > 1e15 OR unique_visitors_num <> floor(unique_visitors_num) THEN 'unique_visitors not an integer'
            WHEN cta_conversion_rate_raw IS NOT NULL AND cta_conversion_rate_num IS NULL THEN 'cta_conversion_rate not a number'
            WHEN NOT (cta_conversion_rate_num >= 0 AND cta_conversion_rate_num <= 1) THEN 'cta_conversion_rate out of [0, 1]'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        DENSE_RANK() OVER (
            PARTITION BY media_id, stat_date, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC
        ) AS response_rank,
        ROW_NUMBER() OVER (
            PARTITION BY media_id, stat_date, embed_url, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    media_id,
    stat_date,
    embed_url,
    embed_domain,
    embed_path,
    page_title,
    CAST(loads_num AS BIGINT) AS loads,
    CAST(unique_loads_num AS BIGINT) AS unique_loads,
    CAST(plays_num AS BIGINT) AS plays,
    CAST(unique_plays_num AS BIGINT) AS unique_plays,
    play_rate_num AS play_rate,
    played_time_num AS played_time_seconds,
    engagement_rate_num AS engagement_rate,
    CAST(unique_visitors_num AS BIGINT) AS unique_visitors,
    cta_conversion_rate_num AS cta_conversion_rate,
    ingested_at,
    run_id,
    source_file,
    reject_reason,
    coalesce(media_id, '') || '/' || coalesce(stat_date_raw, '') || '/' || coalesce(embed_url, '') AS record_key,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR (rn = 1 AND response_rank = 1)
