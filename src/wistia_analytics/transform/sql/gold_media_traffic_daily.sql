-- gold_media_traffic_daily: Wistia's traffic figures per media, UTC day and traffic source: one row per
-- (media, day, dimension, value) of silver_media_traffic_daily, e.g. dimension utm_source, value facebook.
-- play_rate = plays / loads: Wistia's traffic groups carry no unique counts, so this is the total-based rate
-- (the media's own play_rate is unique-based; docs/metrics.md says why both exist).
-- percent_viewed_sum = plays * engagement_rate (engagement_rate is the mean percent viewed of the plays), the
-- additive form a range aggregates by; played_time_seconds = percent_viewed_sum * the media's duration (NULL
-- when the media or the engagement is unknown, 0 when there were no plays).
-- Reads only the day's own rows: safe to run for one date partition.
SELECT
    t.media_id,
    t.stat_date AS activity_date,
    t.dimension,
    t.value,
    m.media_name,
    CAST(t.loads AS BIGINT) AS loads,
    CAST(t.plays AS BIGINT) AS plays,
    CASE WHEN t.loads > 0 THEN CAST(t.plays AS DOUBLE) / CAST(t.loads AS DOUBLE) END AS play_rate,
    CAST(t.engagement_rate AS DOUBLE) AS engagement_rate,
    CASE
        WHEN t.plays = 0 THEN 0.0
        ELSE CAST(t.plays AS DOUBLE) * t.engagement_rate * m.duration_seconds
    END AS played_time_seconds,
    CASE WHEN t.plays = 0 THEN 0.0 ELSE CAST(t.plays AS DOUBLE) * t.engagement_rate END AS percent_viewed_sum
FROM silver_media_traffic_daily AS t
LEFT JOIN silver_medias AS m
    ON m.media_id = t.media_id
