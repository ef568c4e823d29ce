-- gold_account_daily: the whole account per UTC day. loads, plays, watch_time_seconds: sums of Wistia's
-- official by_date figures over the medias; event_plays, percent_viewed_sum, engagement_rate: from the events;
-- unique_visitors: distinct visitors across all medias that day (not a sum of per-media counts);
-- active_medias: medias with plays > 0 or event_plays > 0. Same rows as summing gold_media_daily per day.
-- Reads only the day's own rows: safe to run for one date partition.
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
        count(*) AS event_plays,
        CAST(coalesce(sum(percent_viewed), 0) AS DOUBLE) AS percent_viewed_sum
    FROM silver_events
    GROUP BY media_id, event_date
),
media_day AS (
    SELECT
        coalesce(o.activity_date, e.activity_date) AS activity_date,
        coalesce(o.loads, 0) AS loads,
        coalesce(o.plays, 0) AS plays,
        coalesce(o.watch_time_seconds, 0.0) AS watch_time_seconds,
        coalesce(e.event_plays, 0) AS event_plays,
        coalesce(e.percent_viewed_sum, 0.0) AS percent_viewed_sum
    FROM official AS o
    FULL OUTER JOIN from_events AS e
        ON o.media_id = e.media_id AND o.activity_date = e.activity_date
),
per_day AS (
    SELECT
        activity_date,
        CAST(sum(loads) AS BIGINT) AS loads,
        CAST(sum(plays) AS BIGINT) AS plays,
        CAST(sum(watch_time_seconds) AS DOUBLE) AS watch_time_seconds,
        CAST(sum(event_plays) AS BIGINT) AS event_plays,
        CAST(sum(percent_viewed_sum) AS DOUBLE) AS percent_viewed_sum,
        CAST(sum(CASE WHEN plays > 0 OR event_plays > 0 THEN 1 ELSE 0 END) AS BIGINT) AS active_medias
    FROM media_day
    GROUP BY activity_date
),
visitors_per_day AS (
    SELECT
        event_date AS activity_date,
        count(DISTINCT visitor_key) AS unique_visitors
    FROM silver_events
    GROUP BY event_date
)
SELECT
    d.activity_date,
    d.loads,
    d.plays,
    CASE WHEN d.loads > 0 THEN CAST(d.plays AS DOUBLE) / CAST(d.loads AS DOUBLE) END AS play_rate,
    d.watch_time_seconds,
    d.event_plays,
    d.percent_viewed_sum,
    CASE WHEN d.event_plays > 0 THEN d.percent_viewed_sum / CAST(d.event_plays AS DOUBLE) END AS engagement_rate,
    CAST(coalesce(v.unique_visitors, 0) AS BIGINT) AS unique_visitors,
    d.active_medias
FROM per_day AS d
LEFT JOIN visitors_per_day AS v
    ON v.activity_date = d.activity_date
