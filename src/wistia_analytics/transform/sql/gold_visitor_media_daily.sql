-- gold_visitor_media_daily: one row per (visitor, media, UTC day) with at least one event; events only.
-- Serves "top visitors ranked by engagement" over any date range and media selection: sum plays,
-- watch_time_seconds and percent_viewed_sum, then divide (docs/metrics.md). Events without a visitor_key
-- have no visitor row. Identity: silver_visitors, else the email the events carried.
-- Reads only the day's own events: safe to run for one date partition.
WITH per_visitor AS (
    SELECT
        visitor_key,
        media_id,
        event_date AS activity_date,
        max(media_name) AS event_media_name,
        max(nullif(visitor_email, '')) AS event_visitor_email,
        count(*) AS plays,
        CAST(coalesce(sum(watch_seconds), 0) AS DOUBLE) AS watch_time_seconds,
        CAST(coalesce(sum(percent_viewed), 0) AS DOUBLE) AS percent_viewed_sum
    FROM silver_events
    WHERE visitor_key IS NOT NULL
    GROUP BY visitor_key, media_id, event_date
)
SELECT
    p.visitor_key,
    p.media_id,
    p.activity_date,
    coalesce(m.media_name, p.event_media_name) AS media_name,
    v.visitor_name,
    coalesce(v.visitor_email, p.event_visitor_email) AS visitor_email,
    coalesce(v.is_identified, p.event_visitor_email IS NOT NULL) AS is_identified,
    CAST(p.plays AS BIGINT) AS plays,
    p.watch_time_seconds,
    p.percent_viewed_sum,
    p.percent_viewed_sum / CAST(p.plays AS DOUBLE) AS avg_percent_viewed
FROM per_visitor AS p
LEFT JOIN silver_medias AS m
    ON m.media_id = p.media_id
LEFT JOIN silver_visitors AS v
    ON v.visitor_key = p.visitor_key
