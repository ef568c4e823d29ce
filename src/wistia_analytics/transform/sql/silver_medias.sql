-- silver_medias: one row per media (hashed_id), from GET /medias.json.
-- The project comes from the nested `project.hashed_id` (the v1 OpenAPI copy says `project.hashedId`: both
-- are accepted). Quarantine convention (docs/models.md): bad rows are all returned with a reject_reason; good
-- rows are deduplicated (latest ingested wins) and only the winner is returned. Unknown fields are ignored.
WITH parsed AS (
    SELECT
        nullif(json_extract_string(record, '$.hashed_id'), '') AS media_id,
        try_cast(json_extract_string(record, '$.id') AS BIGINT) AS media_numeric_id,
        json_extract_string(record, '$.name') AS media_name,
        json_extract_string(record, '$.type') AS media_type,
        json_extract_string(record, '$.status') AS media_status,
        coalesce(
            nullif(json_extract_string(record, '$.project.hashed_id'), ''),
            nullif(json_extract_string(record, '$.project.hashedId'), '')
        ) AS project_id,
        json_extract_string(record, '$.project.name') AS project_name,
        try_cast(json_extract_string(record, '$.duration') AS DOUBLE) AS duration_seconds,
        try_cast(json_extract_string(record, '$.archived') AS BOOLEAN) AS is_archived,
        try_cast(json_extract_string(record, '$.created') AS TIMESTAMPTZ) AS created_at,
        try_cast(json_extract_string(record, '$.updated') AS TIMESTAMPTZ) AS updated_at,
        json_extract_string(record, '$.__defects__') AS defects,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_medias
),

checked AS (
    SELECT
        *,
        CASE
            WHEN defects IS NOT NULL THEN 'malformed JSON: ' || defects
            WHEN media_id IS NULL THEN 'missing media_id'
            -- the ingester's MEDIA_ID_PATTERN (ingest/load_modes.py): such a media is never fetched per media
            WHEN regexp_extract(media_id, '^[A-Za-z0-9_-]{1,64}$', 0) <> media_id THEN 'invalid media_id'
            WHEN duration_seconds < 0 THEN 'negative duration_seconds'
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
    media_numeric_id,
    media_name,
    media_type,
    media_status,
    project_id,
    project_name,
    duration_seconds,
    is_archived,
    created_at,
    updated_at,
    ingested_at,
    run_id,
    reject_reason,
    media_id AS record_key,
    source_file,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR rn = 1
