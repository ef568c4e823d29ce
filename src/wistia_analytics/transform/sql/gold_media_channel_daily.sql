-- gold_media_channel_daily: plays, watch time and engagement per (media, UTC day, channel); events only
-- (Wistia reports no loads or official plays per channel). A NULL channel is reported as 'unknown'.
-- Reads only the day's own events: safe to run for one date partition.
WITH events AS (
    SELECT
        media_id,
        event_date AS activity_date,
        coalesce(channel, 'unknown') AS channel,
        visitor_key,
        percent_viewed,
        watch_seconds
    FROM silver_events
),
per_channel AS (
    SELECT
        media_id,
        activity_date,
        channel,
        count(*) AS plays,
        CAST(coalesce(sum(watch_seconds), 0) AS DOUBLE) AS watch_time_seconds,
        CAST(coalesce(sum(percent_viewed), 0) AS DOUBLE) AS percent_viewed_sum,
        count(DISTINCT visitor_key) AS unique_visitors
    FROM events
    GROUP BY media_id, activity_date, channel
)
SELECT
    media_id,
    activity_date,
    channel,
    CAST(plays AS BIGINT) AS plays,
    watch_time_seconds,
    percent_viewed_sum,
    percent_viewed_sum / CAST(plays AS DOUBLE) AS engagement_rate,
    CAST(unique_visitors AS BIGINT) AS unique_visitors
FROM per_channel
