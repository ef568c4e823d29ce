-- silver_projects: one row per project (hashedId), from GET /projects.json (camelCase fields).
-- Quarantine convention (docs/models.md): bad rows are all returned with a reject_reason; good rows are
-- deduplicated (latest ingested wins) and only the winner is returned. Unknown fields are ignored.
WITH parsed AS (
    SELECT
        coalesce(
            nullif(json_extract_string(record, '$.hashedId'), ''),
            nullif(json_extract_string(record, '$.hashed_id'), '')
        ) AS project_id,
        try_cast(json_extract_string(record, '$.id') AS BIGINT) AS project_numeric_id,
        json_extract_string(record, '$.name') AS project_name,
        json_extract_string(record, '$.description') AS project_description,
        try_cast(json_extract_string(record, '$.mediaCount') AS BIGINT) AS media_count,
        try_cast(json_extract_string(record, '$.public') AS BOOLEAN) AS is_public,
        try_cast(json_extract_string(record, '$.created') AS TIMESTAMPTZ) AS created_at,
        try_cast(json_extract_string(record, '$.updated') AS TIMESTAMPTZ) AS updated_at,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_projects
),

checked AS (
    SELECT
        *,
        CASE
            WHEN project_id IS NULL THEN 'missing project_id'
            WHEN media_count < 0 THEN 'negative media_count'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY project_id, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    project_id,
    project_numeric_id,
    project_name,
    project_description,
    media_count,
    is_public,
    created_at,
    updated_at,
    ingested_at,
    run_id,
    reject_reason,
    project_id AS record_key,
    source_file,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR rn = 1
