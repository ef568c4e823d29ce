-- silver_media_daily_stats: one row per media and day, from GET /stats/medias/{id}/by_date.json.
-- The media comes from the request (context_media_id); the record is {date, load_count, play_count,
-- hours_watched}. watch_time_seconds = hours_watched * 3600.
-- Quarantine convention (docs/models.md): bad rows are all returned with a reject_reason; good rows are
-- deduplicated (latest ingested wins) and only the winner is returned. Unknown fields are ignored.
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        json_extract_string(record, '$.date') AS stat_date_raw,
        try_cast(json_extract_string(record, '$.date') AS DATE) AS stat_date,
        try_cast(json_extract_string(record, '$.load_count') AS BIGINT) AS load_count,
        try_cast(json_extract_string(record, '$.play_count') AS BIGINT) AS play_count,
        try_cast(json_extract_string(record, '$.hours_watched') AS DOUBLE) AS hours_watched,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_daily_stats
),

checked AS (
    SELECT
        *,
        CASE
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN stat_date_raw IS NULL OR stat_date_raw = '' THEN 'missing stat_date'
            WHEN stat_date IS NULL THEN 'stat_date not a date'
            WHEN load_count < 0 THEN 'negative load_count'
            WHEN play_count < 0 THEN 'negative play_count'
            WHEN hours_watched < 0 THEN 'negative hours_watched'
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
    load_count,
    play_count,
    hours_watched,
    hours_watched * 3600 AS watch_time_seconds,
    ingested_at,
    run_id,
    reject_reason,
    coalesce(media_id, '') || '/' || coalesce(stat_date_raw, '') AS record_key,
    source_file,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR rn = 1
