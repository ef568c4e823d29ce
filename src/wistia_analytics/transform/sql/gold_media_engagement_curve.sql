-- gold_media_engagement_curve: Wistia's retention curve per media (stats/medias/{id}/engagement).
-- position_fraction = bucket_index / bucket_count (0 = start of the video);
-- retention = viewers / viewers of the media's first bucket (NULL when that is 0 or missing).
WITH first_bucket AS (
    SELECT
        media_id,
        min(bucket_index) AS first_index
    FROM silver_media_engagement
    GROUP BY media_id
),
first_viewers AS (
    SELECT
        e.media_id,
        e.viewers AS first_viewers
    FROM silver_media_engagement AS e
    INNER JOIN first_bucket AS f
        ON f.media_id = e.media_id AND f.first_index = e.bucket_index
)
SELECT
    e.media_id,
    m.media_name,
    e.bucket_index,
    e.bucket_count,
    CASE
        WHEN e.bucket_count > 0 THEN CAST(e.bucket_index AS DOUBLE) / CAST(e.bucket_count AS DOUBLE)
    END AS position_fraction,
    e.viewers,
    e.rewatchers,
    CASE
        WHEN fv.first_viewers > 0 THEN CAST(e.viewers AS DOUBLE) / CAST(fv.first_viewers AS DOUBLE)
    END AS retention
FROM silver_media_engagement AS e
LEFT JOIN first_viewers AS fv
    ON fv.media_id = e.media_id
LEFT JOIN silver_medias AS m
    ON m.media_id = e.media_id
