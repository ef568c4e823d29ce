-- silver_media_engagement: one row per media and engagement bucket, from GET /stats/medias/{id}/engagement.json.
-- The record is {engagement, engagement_data: int[], rewatch_data: int[]}: bucket i of engagement_data is how
-- many sessions watched that part of the video (1 s per bucket, or 1000 buckets for long videos).
-- bucket_index is 0-based, bucket_count the length of engagement_data, rewatchers NULL past the end of
-- rewatch_data. The media comes from the request (context_media_id).
-- Deduplication is per media (the latest ingested record wins as a whole, then it is exploded), so a newer
-- curve with fewer buckets leaves no stale buckets behind.
-- Portability (docs/engines.md): the arrays are validated and split as text, never cast from JSON to BIGINT[]
-- (DuckDB's cast keeps ["a", 1] as [NULL, 1], Spark's from_json drops the whole array). An array is valid when
-- its text holds only digits, commas, spaces and minus signs between the brackets (integers); it is split on
-- commas and each element cast to BIGINT. UNNEST ... WITH ORDINALITY becomes LATERAL VIEW POSEXPLODE on Spark;
-- the ordinal is 1-based in DuckDB and 0-based in Spark, so bucket_index is taken relative to the smallest
-- ordinal of the media (always the first bucket).
-- Quarantine convention (docs/models.md): bad rows (one per Bronze record) are all returned with a reject_reason.
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        json_extract_string(record, '$.engagement_data') AS engagement_data_raw,
        json_extract_string(record, '$.rewatch_data') AS rewatch_data_raw,
        try_cast(json_extract_string(record, '$.engagement') AS DOUBLE) AS engagement,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_engagement
),

checked AS (
    SELECT
        *,
        CASE
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN engagement_data_raw IS NULL THEN 'missing engagement_data'
            WHEN translate(engagement_data_raw, '0123456789, -', '') <> '[]'
                THEN 'engagement_data not an array of numbers'
            WHEN engagement_data_raw LIKE '%-%' THEN 'negative engagement_data'
            WHEN rewatch_data_raw IS NOT NULL AND translate(rewatch_data_raw, '0123456789, -', '') <> '[]'
                THEN 'rewatch_data not an array of numbers'
            WHEN rewatch_data_raw LIKE '%-%' THEN 'negative rewatch_data'
        END AS reject_reason
    FROM parsed
),

latest AS (
    SELECT *
    FROM (
        SELECT
            *,
            ROW_NUMBER() OVER (
                PARTITION BY media_id
                ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
            ) AS rn
        FROM checked
        WHERE reject_reason IS NULL
    ) AS good
    WHERE rn = 1
),

viewers AS (
    SELECT l.media_id, v.ord, try_cast(trim(v.viewers_text) AS BIGINT) AS viewers
    FROM latest AS l
    CROSS JOIN UNNEST(
        string_split(substr(l.engagement_data_raw, 2, length(l.engagement_data_raw) - 2), ',')
    ) WITH ORDINALITY AS v (viewers_text, ord)
    WHERE trim(v.viewers_text) <> ''
),

rewatchers AS (
    SELECT l.media_id, r.ord, try_cast(trim(r.rewatchers_text) AS BIGINT) AS rewatchers
    FROM latest AS l
    CROSS JOIN UNNEST(
        string_split(substr(l.rewatch_data_raw, 2, length(l.rewatch_data_raw) - 2), ',')
    ) WITH ORDINALITY AS r (rewatchers_text, ord)
    WHERE trim(r.rewatchers_text) <> ''
),

buckets AS (
    SELECT
        v.media_id,
        v.ord - MIN(v.ord) OVER (PARTITION BY v.media_id) AS bucket_index,
        COUNT(*) OVER (PARTITION BY v.media_id) AS bucket_count,
        v.viewers,
        r.rewatchers
    FROM viewers AS v
    LEFT JOIN rewatchers AS r ON r.media_id = v.media_id AND r.ord = v.ord
)

SELECT
    b.media_id,
    b.bucket_index,
    b.bucket_count,
    b.viewers,
    b.rewatchers,
    l.engagement,
    l.ingested_at,
    l.run_id,
    CAST(NULL AS VARCHAR) AS reject_reason,
    l.media_id AS record_key,
    l.source_file,
    l.record
FROM buckets AS b
INNER JOIN latest AS l ON l.media_id = b.media_id

UNION ALL

SELECT
    media_id,
    CAST(NULL AS BIGINT) AS bucket_index,
    CAST(NULL AS BIGINT) AS bucket_count,
    CAST(NULL AS BIGINT) AS viewers,
    CAST(NULL AS BIGINT) AS rewatchers,
    engagement,
    ingested_at,
    run_id,
    reject_reason,
    media_id AS record_key,
    source_file,
    record
FROM checked
WHERE reject_reason IS NOT NULL
