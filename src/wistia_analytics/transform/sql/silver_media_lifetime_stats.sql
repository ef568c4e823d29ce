-- silver_media_lifetime_stats: one row per media, from GET /stats/medias/{id}.json.
-- The media comes from the request (context_media_id). `actions` (may be missing) is ignored.
-- visitor_count is the API's `visitors`; watch_time_seconds = hours_watched * 3600.
-- Quarantine convention (docs/models.md): bad rows are all returned with a reject_reason; good rows are
-- deduplicated (latest ingested wins) and only the winner is returned. Unknown fields are ignored.
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        try_cast(json_extract_string(record, '$.load_count') AS BIGINT) AS load_count,
        try_cast(json_extract_string(record, '$.play_count') AS BIGINT) AS play_count,
        try_cast(json_extract_string(record, '$.play_rate') AS DOUBLE) AS play_rate,
        try_cast(json_extract_string(record, '$.hours_watched') AS DOUBLE) AS hours_watched,
        try_cast(json_extract_string(record, '$.engagement') AS DOUBLE) AS engagement,
        try_cast(json_extract_string(record, '$.visitors') AS BIGINT) AS visitor_count,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_lifetime_stats
),

checked AS (
    SELECT
        *,
        CASE
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN load_count < 0 THEN 'negative load_count'
            WHEN play_count < 0 THEN 'negative play_count'
            WHEN hours_watched < 0 THEN 'negative hours_watched'
            WHEN visitor_count < 0 THEN 'negative visitor_count'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY media_id, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    media_id,
    load_count,
    play_count,
    play_rate,
    hours_watched,
    hours_watched * 3600 AS watch_time_seconds,
    engagement,
    visitor_count,
    ingested_at,
    run_id,
    reject_reason,
    media_id AS record_key,
    source_file,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR rn = 1
