-- gold_media_daily: one row per (media, UTC day) present in Wistia's by_date stats or in the events.
-- loads, plays, watch_time_seconds: Wistia's official daily figures (silver_media_daily_stats).
-- event_plays, event_watch_seconds, percent_viewed_sum, engagement_rate, unique_visitors: from silver_events.
-- unique_loads, unique_plays, unique_visitors_wistia, cta_impressions, cta_conversions, form_conversions: Wistia's
-- own daily analytics (silver_media_analytics_daily), NULL where they were not ingested for the media-day. The
-- timeseries has a bucket for every day of its window, zeros included: an analytics day adds a row only when it
-- has activity (a media-day without by_date or events but with plays is drift worth a row; an empty one is not).
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
analytics AS (
    SELECT
        media_id,
        stat_date AS activity_date,
        unique_loads,
        unique_plays,
        unique_visitors,
        cta_impressions,
        cta_conversions,
        form_conversions,
        (
            coalesce(unique_loads, 0) > 0 OR coalesce(plays, 0) > 0 OR coalesce(played_time_seconds, 0) > 0
            OR coalesce(cta_impressions, 0) > 0 OR coalesce(cta_conversions, 0) > 0
            OR coalesce(form_conversions, 0) > 0
        ) AS active
    FROM silver_media_analytics_daily
),
v1 AS (
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
),
joined AS (
    SELECT
        coalesce(v.media_id, a_active.media_id) AS media_id,
        coalesce(v.activity_date, a_active.activity_date) AS activity_date,
        v.event_media_name,
        coalesce(v.loads, 0) AS loads,
        coalesce(v.plays, 0) AS plays,
        coalesce(v.watch_time_seconds, 0.0) AS watch_time_seconds,
        coalesce(v.event_plays, 0) AS event_plays,
        coalesce(v.event_watch_seconds, 0.0) AS event_watch_seconds,
        coalesce(v.percent_viewed_sum, 0.0) AS percent_viewed_sum,
        coalesce(v.unique_visitors, 0) AS unique_visitors,
        a.unique_loads,
        a.unique_plays,
        a.unique_visitors AS unique_visitors_wistia,
        a.cta_impressions,
        a.cta_conversions,
        a.form_conversions
    FROM v1 AS v
    FULL OUTER JOIN (SELECT * FROM analytics WHERE active) AS a_active
        ON v.media_id = a_active.media_id AND v.activity_date = a_active.activity_date
    LEFT JOIN analytics AS a
        ON a.media_id = coalesce(v.media_id, a_active.media_id)
        AND a.activity_date = coalesce(v.activity_date, a_active.activity_date)
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
    CAST(j.unique_visitors AS BIGINT) AS unique_visitors,
    CAST(j.unique_loads AS BIGINT) AS unique_loads,
    CAST(j.unique_plays AS BIGINT) AS unique_plays,
    CAST(j.unique_visitors_wistia AS BIGINT) AS unique_visitors_wistia,
    CAST(j.cta_impressions AS BIGINT) AS cta_impressions,
    CAST(j.cta_conversions AS BIGINT) AS cta_conversions,
    CAST(j.form_conversions AS BIGINT) AS form_conversions
FROM joined AS j
LEFT JOIN silver_medias AS m
    ON m.media_id = j.media_id
