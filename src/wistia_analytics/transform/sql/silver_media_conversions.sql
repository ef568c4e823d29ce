-- silver_media_conversions: one row per lead (a form/email-gate submission), from the cursor pages of
-- GET /modern/analytics/medias/{id}/conversions (context_media_id); each record is {first_name, last_name, email,
-- converted_at}. The API gives a lead no id: lead_key = md5 of the media, converted_at as received, lower(email),
-- first_name and last_name (each hashed apart, so no separator inside a name can make two leads one), computed
-- from the values as received, before any hashing. converted_at is a UTC timestamp, conversion_date its day.
-- When the hash-identity placeholder is TRUE (HASH_VISITOR_IDENTITY=true) a non-empty name or email becomes
-- md5(lower(value)), as in silver_visitors and silver_events, so gold_leads still matches visitors by email.
-- Quarantine convention (docs/models.md): bad rows are all returned with a reject_reason; good rows are
-- deduplicated (latest ingested wins) and only the winner is returned. Unknown fields are ignored.
WITH parsed AS (
    SELECT
        nullif(context_media_id, '') AS media_id,
        json_extract_string(record, '$.converted_at') AS converted_at_raw,
        try_cast(json_extract_string(record, '$.converted_at') AS TIMESTAMPTZ) AS converted_at,
        json_extract_string(record, '$.first_name') AS first_name,
        json_extract_string(record, '$.last_name') AS last_name,
        json_extract_string(record, '$.email') AS email,
        json_extract_string(record, '$.__defects__') AS defects,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_media_conversions
),

checked AS (
    SELECT
        *,
        md5(
            md5(coalesce(media_id, '')) || md5(coalesce(converted_at_raw, '')) || md5(coalesce(lower(email), ''))
            || md5(coalesce(first_name, '')) || md5(coalesce(last_name, ''))
        ) AS lead_key,
        CASE
            WHEN defects IS NOT NULL THEN 'malformed JSON: ' || defects
            WHEN length(record) > 65536 THEN 'record longer than 65536 characters'
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN converted_at_raw IS NULL OR converted_at_raw = '' THEN 'missing converted_at'
            WHEN converted_at IS NULL THEN 'converted_at not a timestamp'
            WHEN converted_at > ingested_at + INTERVAL '1' DAY THEN 'converted_at in the future'
            WHEN converted_at < CAST('2000-01-01 00:00:00+00:00' AS TIMESTAMPTZ) THEN 'converted_at before 2000-01-01'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY lead_key, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    lead_key,
    media_id,
    converted_at,
    CAST(converted_at AS DATE) AS conversion_date,
    CASE WHEN __HASH_IDENTITY__ AND first_name <> '' THEN md5(lower(first_name)) ELSE first_name END AS first_name,
    CASE WHEN __HASH_IDENTITY__ AND last_name <> '' THEN md5(lower(last_name)) ELSE last_name END AS last_name,
    CASE WHEN __HASH_IDENTITY__ AND email <> '' THEN md5(lower(email)) ELSE email END AS email,
    ingested_at,
    run_id,
    source_file,
    reject_reason,
    lead_key AS record_key,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR rn = 1
