-- gold_media_daily: one row per (media, UTC day) present in Wistia's by_date stats or in the events.
-- loads, plays, watch_time_seconds: Wistia's official daily figures (silver_media_daily_stats).
-- event_plays, event_watch_seconds, percent_viewed_sum, engagement_rate, unique_visitors: from silver_events.
-- KPI definitions: docs/metrics.md. Reads only the day's own rows: safe to run for one date partition.
WITH official AS (
    SELECT
        media_id,
        stat_date AS activity_date,
        CAST(load_count AS BIGINT) AS loads,
        CAST(play_count AS BIGINT) AS plays,
        CAST(watch_time_seconds AS DOUBLE) AS watch_time_seconds
    FROM silver_media_daily_stats
),
from_events AS (
    SELECT
        media_id,
        event_date AS activity_date,
        max(media_name) AS event_media_name,
        count(*) AS event_plays,
        CAST(coalesce(sum(watch_seconds), 0) AS DOUBLE) AS event_watch_seconds,
        CAST(coalesce(sum(percent_viewed), 0) AS DOUBLE) AS percent_viewed_sum,
        count(DISTINCT visitor_key) AS unique_visitors
    FROM silver_events
    GROUP BY media_id, event_date
),
joined AS (
    SELECT
        coalesce(o.media_id, e.media_id) AS media_id,
        coalesce(o.activity_date, e.activity_date) AS activity_date,
        e.event_media_name,
        coalesce(o.loads, 0) AS loads,
        coalesce(o.plays, 0) AS plays,
        coalesce(o.watch_time_seconds, 0.0) AS watch_time_seconds,
        coalesce(e.event_plays, 0) AS event_plays,
        coalesce(e.event_watch_seconds, 0.0) AS event_watch_seconds,
        coalesce(e.percent_viewed_sum, 0.0) AS percent_viewed_sum,
        coalesce(e.unique_visitors, 0) AS unique_visitors
    FROM official AS o
    FULL OUTER JOIN from_events AS e
        ON o.media_id = e.media_id AND o.activity_date = e.activity_date
)
SELECT
    j.media_id,
    j.activity_date,
    coalesce(m.media_name, j.event_media_name) AS media_name,
    m.project_id,
    m.project_name,
    CAST(j.loads AS BIGINT) AS loads,
    CAST(j.plays AS BIGINT) AS plays,
    CASE WHEN j.loads > 0 THEN CAST(j.plays AS DOUBLE) / CAST(j.loads AS DOUBLE) END AS play_rate,
    CAST(j.watch_time_seconds AS DOUBLE) AS watch_time_seconds,
    CAST(j.event_plays AS BIGINT) AS event_plays,
    CAST(j.event_watch_seconds AS DOUBLE) AS event_watch_seconds,
    CAST(j.percent_viewed_sum AS DOUBLE) AS percent_viewed_sum,
    CASE WHEN j.event_plays > 0 THEN j.percent_viewed_sum / CAST(j.event_plays AS DOUBLE) END AS engagement_rate,
    CAST(j.unique_visitors AS BIGINT) AS unique_visitors
FROM joined AS j
LEFT JOIN silver_medias AS m
    ON m.media_id = j.media_id
