-- silver_events: one row per viewing session (event_key), from GET /stats/events.json.
-- Quarantine convention (docs/models.md): bad rows are all returned with a reject_reason; good rows are
-- deduplicated (latest ingested wins) and only the winner is returned.
-- Strings mirror the source. Lenient typing: "" or non-numeric lat/lon -> NULL (then rounded to 1 decimal);
-- conversion_type "" (none) -> NULL, an integer -> its text;
-- missing thumbnail / user_agent_details -> ignored / NULL. `ip`, `org`, heatmap URL and thumbnail are dropped.
-- duration_seconds comes from silver_medias (LEFT JOIN: NULL when the media is unknown), and so does
-- watch_seconds = percent_viewed * duration_seconds. The hash-identity placeholder is TRUE when
-- HASH_VISITOR_IDENTITY=true (visitor_email becomes md5(lower(email))); the channel placeholder becomes the
-- CASE of contracts/channels.py (rendered by transform/channel_sql.py).
WITH parsed AS (
    SELECT
        nullif(json_extract_string(record, '$.event_key'), '') AS event_key,
        json_extract_string(record, '$.received_at') AS received_at_raw,
        try_cast(json_extract_string(record, '$.received_at') AS TIMESTAMPTZ) AS received_at,
        nullif(json_extract_string(record, '$.media_id'), '') AS media_id,
        json_extract_string(record, '$.media_name') AS media_name,
        nullif(json_extract_string(record, '$.visitor_key'), '') AS visitor_key,
        json_extract_string(record, '$.percent_viewed') AS percent_viewed_raw,
        try_cast(json_extract_string(record, '$.percent_viewed') AS DOUBLE) AS percent_viewed,
        json_extract_string(record, '$.embed_url') AS embed_url,
        json_extract_string(record, '$.country') AS country,
        json_extract_string(record, '$.region') AS region,
        json_extract_string(record, '$.city') AS city,
        round(try_cast(json_extract_string(record, '$.lat') AS DOUBLE), 1) AS lat_approx,
        round(try_cast(json_extract_string(record, '$.lon') AS DOUBLE), 1) AS lon_approx,
        json_extract_string(record, '$.email') AS email,
        nullif(json_extract_string(record, '$.conversion_type'), '') AS conversion_type,
        json_extract_string(record, '$.user_agent_details.browser') AS browser,
        json_extract_string(record, '$.user_agent_details.platform') AS platform,
        try_cast(json_extract_string(record, '$.user_agent_details.mobile') AS BOOLEAN) AS is_mobile,
        source_file,
        run_id,
        ingested_at,
        json_extract_string(record, '$.__defects__') AS defects,
        record
    FROM bronze_events
),

validated AS (
    SELECT
        *,
        CASE
            WHEN defects IS NOT NULL THEN 'malformed JSON: ' || defects
            WHEN length(record) > 65536 THEN 'record longer than 65536 characters'
            WHEN event_key IS NULL THEN 'missing event_key'
            WHEN media_id IS NULL THEN 'missing media_id'
            WHEN received_at_raw IS NULL OR received_at_raw = '' THEN 'missing received_at'
            WHEN received_at IS NULL THEN 'received_at not a timestamp'
            WHEN received_at > ingested_at + INTERVAL '1' DAY THEN 'received_at in the future'
            WHEN received_at < CAST('2000-01-01 00:00:00+00:00' AS TIMESTAMPTZ) THEN 'received_at before 2000-01-01'
            WHEN percent_viewed IS NULL THEN 'percent_viewed not a number'
            WHEN NOT (percent_viewed >= 0 AND percent_viewed <= 1) THEN 'percent_viewed out of [0, 1]'
        END AS reject_reason
    FROM parsed
),

-- Only what the output needs goes on: the record text only for rejected rows (the quarantine keeps it) and
-- its md5 as the last tie-break, so the dedup window does not carry every record.
checked AS (
    SELECT
        event_key,
        received_at,
        media_id,
        media_name,
        visitor_key,
        percent_viewed,
        embed_url,
        country,
        region,
        city,
        lat_approx,
        lon_approx,
        email,
        conversion_type,
        browser,
        platform,
        is_mobile,
        source_file,
        run_id,
        ingested_at,
        reject_reason,
        md5(record) AS record_md5,
        CASE WHEN reject_reason IS NOT NULL THEN record END AS record
    FROM validated
),

ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY event_key, reject_reason IS NULL
            ORDER BY ingested_at DESC, source_file DESC, record_md5 DESC
        ) AS rn
    FROM checked
)

SELECT
    e.event_key,
    CAST(e.received_at AS DATE) AS event_date,
    e.received_at,
    e.media_id,
    e.media_name,
    e.visitor_key,
    e.percent_viewed,
    m.duration_seconds,
    e.percent_viewed * m.duration_seconds AS watch_seconds,
    e.embed_url,
    __CHANNEL_CASE__(e.embed_url) AS channel,
    e.country,
    e.region,
    e.city,
    e.lat_approx,
    e.lon_approx,
    CASE WHEN __HASH_IDENTITY__ AND e.email <> '' THEN md5(lower(e.email)) ELSE e.email END AS visitor_email,
    e.conversion_type,
    e.browser,
    e.platform,
    e.is_mobile,
    e.ingested_at,
    e.run_id,
    e.source_file,
    e.reject_reason,
    e.event_key AS record_key,
    e.record
FROM ranked AS e
LEFT JOIN silver_medias AS m ON m.media_id = e.media_id
WHERE e.reject_reason IS NOT NULL OR e.rn = 1
