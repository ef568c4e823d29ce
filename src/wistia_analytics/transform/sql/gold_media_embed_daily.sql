-- gold_media_embed_daily: Wistia's figures per media, UTC day and page the media is embedded on (page_url =
-- the embed_url without its query), from silver_media_embed_locations_daily.
-- play_rate = unique_plays / unique_loads, like the media's own (Wistia's definition); where the unique counts
-- are absent (the stable 2026.03.0 response lacks them) Wistia's own play_rate, which a range cannot aggregate.
-- percent_viewed_sum = plays * engagement_rate, the additive form of the engagement (0 when there were no plays).
-- played_time_seconds is Wistia's played_time. unique_visitors is exact for its page-day only (not additive).
-- Reads only the day's own rows: safe to run for one date partition.
SELECT
    e.media_id,
    e.stat_date AS activity_date,
    e.embed_url AS page_url,
    m.media_name,
    e.embed_domain,
    e.page_title,
    CAST(e.loads AS BIGINT) AS loads,
    CAST(e.plays AS BIGINT) AS plays,
    CASE
        WHEN e.unique_loads > 0 THEN CAST(e.unique_plays AS DOUBLE) / CAST(e.unique_loads AS DOUBLE)
        WHEN e.unique_loads IS NULL THEN CAST(e.play_rate AS DOUBLE)
    END AS play_rate,
    CAST(e.engagement_rate AS DOUBLE) AS engagement_rate,
    CAST(e.played_time_seconds AS DOUBLE) AS played_time_seconds,
    CAST(e.unique_visitors AS BIGINT) AS unique_visitors,
    CAST(e.unique_loads AS BIGINT) AS unique_loads,
    CAST(e.unique_plays AS BIGINT) AS unique_plays,
    CASE WHEN e.plays = 0 THEN 0.0 ELSE CAST(e.plays AS DOUBLE) * e.engagement_rate END AS percent_viewed_sum
FROM silver_media_embed_locations_daily AS e
LEFT JOIN silver_medias AS m
    ON m.media_id = e.media_id
