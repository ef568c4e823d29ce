-- silver_visitors: one row per visitor (visitor_key), from GET /stats/visitors.json (account-wide snapshot).
-- Strings mirror the source (visitor_identity.name may be "" and stays ""); is_identified: a non-empty name or
-- email is known. When the hash-identity placeholder is TRUE (HASH_VISITOR_IDENTITY=true) a non-empty name or
-- email becomes md5(lower(value)).
-- Quarantine convention (docs/models.md): bad rows are all returned with a reject_reason; good rows are
-- deduplicated (latest ingested wins) and only the winner is returned. Unknown fields are ignored.
WITH parsed AS (
    SELECT
        nullif(json_extract_string(record, '$.visitor_key'), '') AS visitor_key,
        json_extract_string(record, '$.visitor_identity.name') AS visitor_name,
        json_extract_string(record, '$.visitor_identity.email') AS visitor_email,
        json_extract_string(record, '$.visitor_identity.org.name') AS visitor_org_name,
        json_extract_string(record, '$.visitor_identity.org.title') AS visitor_org_title,
        json_extract_string(record, '$.created_at') AS created_at_raw,
        json_extract_string(record, '$.last_active_at') AS last_active_at_raw,
        json_extract_string(record, '$.load_count') AS load_count_raw,
        json_extract_string(record, '$.play_count') AS play_count_raw,
        try_cast(json_extract_string(record, '$.created_at') AS TIMESTAMPTZ) AS first_seen_at,
        try_cast(json_extract_string(record, '$.last_active_at') AS TIMESTAMPTZ) AS last_active_at,
        json_extract_string(record, '$.last_event_key') AS last_event_key,
        try_cast(json_extract_string(record, '$.load_count') AS BIGINT) AS load_count,
        try_cast(json_extract_string(record, '$.play_count') AS BIGINT) AS play_count,
        json_extract_string(record, '$.user_agent_details.browser') AS browser,
        json_extract_string(record, '$.user_agent_details.browser_version') AS browser_version,
        json_extract_string(record, '$.user_agent_details.platform') AS platform,
        try_cast(json_extract_string(record, '$.user_agent_details.mobile') AS BOOLEAN) AS is_mobile,
        source_file,
        run_id,
        ingested_at,
        record
    FROM bronze_visitors
),

checked AS (
    SELECT
        *,
        CASE
            WHEN json_extract_string(record, '$.__defects__') IS NOT NULL
                THEN 'malformed JSON: ' || json_extract_string(record, '$.__defects__')
            WHEN length(record) > 65536 THEN 'record longer than 65536 characters'
            WHEN visitor_key IS NULL THEN 'missing visitor_key'
            WHEN load_count_raw IS NOT NULL AND load_count IS NULL THEN 'load_count not an integer'
            WHEN play_count_raw IS NOT NULL AND play_count IS NULL THEN 'play_count not an integer'
            WHEN created_at_raw IS NOT NULL AND first_seen_at IS NULL THEN 'created_at not a timestamp'
            WHEN last_active_at_raw IS NOT NULL AND last_active_at IS NULL THEN 'last_active_at not a timestamp'
            WHEN load_count < 0 THEN 'negative load_count'
            WHEN play_count < 0 THEN 'negative play_count'
            WHEN greatest(first_seen_at, last_active_at) > ingested_at + INTERVAL '1' DAY
                THEN 'created_at or last_active_at in the future'
            WHEN least(first_seen_at, last_active_at) < CAST('2000-01-01 00:00:00+00:00' AS TIMESTAMPTZ)
                THEN 'created_at or last_active_at before 2000-01-01'
        END AS reject_reason
    FROM parsed
),

ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY visitor_key, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, md5(record) DESC
        ) AS rn
    FROM checked
)

SELECT
    visitor_key,
    CASE WHEN __HASH_IDENTITY__ AND visitor_name <> '' THEN md5(lower(visitor_name)) ELSE visitor_name END
        AS visitor_name,
    CASE WHEN __HASH_IDENTITY__ AND visitor_email <> '' THEN md5(lower(visitor_email)) ELSE visitor_email END
        AS visitor_email,
    visitor_org_name,
    visitor_org_title,
    (coalesce(visitor_name, '') <> '' OR coalesce(visitor_email, '') <> '') AS is_identified,
    first_seen_at,
    last_active_at,
    last_event_key,
    load_count,
    play_count,
    browser,
    browser_version,
    platform,
    is_mobile,
    ingested_at,
    run_id,
    reject_reason,
    visitor_key AS record_key,
    source_file,
    record
FROM ranked
WHERE reject_reason IS NOT NULL OR rn = 1
