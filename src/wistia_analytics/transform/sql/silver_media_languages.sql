-- silver_media_languages: one row per media and viewer browser language, from
-- GET /modern/analytics/medias/{id}/languages over a trailing window (context_media_id, context_start_date,
-- context_end_date: window_start, window_end). captions_support is JSON true/false only (anything else
-- present quarantines: engines read other spellings differently).
-- Every metric may be null (the API says so) and stays NULL; a metric present but not a number, a negative
-- count, a fractional count or a rate outside [0, 1] quarantines the record (docs/models.md, "Quarantine").
-- A snapshot: the newest response for a media replaces its whole group (merge_group media_id in
-- transform/models.py, the same here for full rebuilds).
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        nullif(json_extract_string(record, '$.language'), '') AS language,
        json_extract_string(record, '$.captions_support') AS captions_raw,
        try_cast(context_start_date AS DATE) AS window_start,
        try_cast(context_end_date AS DATE) AS window_end,
        json_extract_string(record, '$.plays') AS plays_raw,
        try_cast(json_extract_string(record, '$.plays') AS DOUBLE) AS plays_num,
        json_extract_string(record, '$.percent_of_total_plays') AS percent_of_total_plays_raw,
        try_cast(json_extract_string(record, '$.percent_of_total_plays') AS DOUBLE) AS percent_of_total_plays_num,
        json_extract_string(record, '$.__defects__') AS defects,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_languages
),

checked AS (
    SELECT
        *,
        CASE captions_raw WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END AS captions_support,
        CASE
            WHEN defects IS NOT NULL THEN 'malformed JSON: ' || defects
            WHEN length(record) > 65536 THEN 'record longer than 65536 characters'
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN language IS NULL THEN 'missing language'
            WHEN plays_raw IS NOT NULL AND plays_num IS NULL THEN 'plays not a number'
            WHEN plays_num < 0 THEN 'negative plays'
            WHEN plays_num > 1e15 OR plays_num <> floor(plays_num) THEN 'plays not an integer'
            WHEN percent_of_total_plays_raw IS NOT NULL AND percent_of_total_plays_num IS NULL THEN 'percent_of_total_plays not a number'
            WHEN NOT (percent_of_total_plays_num >= 0 AND percent_of_total_plays_num <= 1) THEN 'percent_of_total_plays out of [0, 1]'
            WHEN captions_raw IS NOT NULL AND captions_raw NOT IN ('true', 'false')
                THEN 'captions_support not a boolean'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        DENSE_RANK() OVER (
            PARTITION BY media_id, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC
        ) AS response_rank,
        ROW_NUMBER() OVER (
            PARTITION BY media_id, language, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    media_id,
    language,
    CAST(plays_num AS BIGINT) AS plays,
    percent_of_total_plays_num AS percent_of_total_plays,
    captions_support,
    window_start,
    window_end,
    ingested_at,
    run_id,
    source_file,
    reject_reason,
    coalesce(media_id, '') || '/' || coalesce(language, '') AS record_key,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR (rn = 1 AND response_rank = 1)
