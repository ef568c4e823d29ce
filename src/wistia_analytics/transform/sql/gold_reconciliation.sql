-- gold_reconciliation: figures derived from the events against Wistia's own, with the difference
-- (from_events - official). Never reads the events: built from gold_media_daily and the lifetime stats.
--   scope 'daily'    : one row per gold_media_daily row; official = by_date plays / watch_time_seconds,
--                      from_events = event_plays / event_watch_seconds.
--   scope 'lifetime' : one row per media (activity_date NULL); official = stats/medias play_count /
--                      watch_time_seconds, from_events = sums of event_plays / event_watch_seconds over
--                      every day in gold_media_daily.
-- within_tolerance: plays equal, and |watch diff| <= 1e-6 * greatest(1, watch_seconds_official)
-- (docs/metrics.md, "Reconciliation").
-- Modern API vs v1 (daily rows only): plays_modern / played_seconds_modern are Wistia's own daily analytics
-- (silver_media_analytics_daily plays, played_time) against the same official by_date figures; *_modern_diff =
-- modern - official. modern_within_tolerance: plays equal and |played seconds diff| <= 0.5 + 1e-6 *
-- greatest(1, official) (the API rounds played_time to whole seconds). All NULL where the analytics were not
-- ingested for the media-day (and modern_within_tolerance NULL where either modern figure is NULL).
WITH daily AS (
    SELECT
        g.media_id,
        'daily' AS scope,
        g.activity_date,
        CAST(g.plays AS BIGINT) AS plays_official,
        CAST(g.event_plays AS BIGINT) AS plays_from_events,
        CAST(g.watch_time_seconds AS DOUBLE) AS watch_seconds_official,
        CAST(g.event_watch_seconds AS DOUBLE) AS watch_seconds_from_events,
        CAST(a.plays AS BIGINT) AS plays_modern,
        CAST(a.played_time_seconds AS DOUBLE) AS played_seconds_modern
    FROM gold_media_daily AS g
    LEFT JOIN silver_media_analytics_daily AS a
        ON a.media_id = g.media_id AND a.stat_date = g.activity_date
),
events_lifetime AS (
    SELECT
        media_id,
        CAST(sum(event_plays) AS BIGINT) AS plays_from_events,
        CAST(sum(event_watch_seconds) AS DOUBLE) AS watch_seconds_from_events
    FROM gold_media_daily
    GROUP BY media_id
),
lifetime AS (
    SELECT
        coalesce(s.media_id, e.media_id) AS media_id,
        'lifetime' AS scope,
        CAST(NULL AS DATE) AS activity_date,
        CAST(coalesce(s.play_count, 0) AS BIGINT) AS plays_official,
        CAST(coalesce(e.plays_from_events, 0) AS BIGINT) AS plays_from_events,
        CAST(coalesce(s.watch_time_seconds, 0.0) AS DOUBLE) AS watch_seconds_official,
        CAST(coalesce(e.watch_seconds_from_events, 0.0) AS DOUBLE) AS watch_seconds_from_events,
        CAST(NULL AS BIGINT) AS plays_modern,
        CAST(NULL AS DOUBLE) AS played_seconds_modern
    FROM silver_media_lifetime_stats AS s
    FULL OUTER JOIN events_lifetime AS e
        ON e.media_id = s.media_id
),
both_scopes AS (
    SELECT media_id, scope, activity_date, plays_official, plays_from_events, watch_seconds_official,
        watch_seconds_from_events, plays_modern, played_seconds_modern
    FROM daily
    UNION ALL
    SELECT media_id, scope, activity_date, plays_official, plays_from_events, watch_seconds_official,
        watch_seconds_from_events, plays_modern, played_seconds_modern
    FROM lifetime
)
SELECT
    media_id,
    scope,
    activity_date,
    plays_official,
    plays_from_events,
    plays_from_events - plays_official AS plays_diff,
    watch_seconds_official,
    watch_seconds_from_events,
    watch_seconds_from_events - watch_seconds_official AS watch_seconds_diff,
    (
        plays_from_events = plays_official
        AND abs(watch_seconds_from_events - watch_seconds_official)
        <= 1e-6 * greatest(1.0, watch_seconds_official)
    ) AS within_tolerance,
    plays_modern,
    played_seconds_modern,
    plays_modern - plays_official AS plays_modern_diff,
    played_seconds_modern - watch_seconds_official AS played_seconds_modern_diff,
    CASE
        WHEN plays_modern IS NOT NULL AND played_seconds_modern IS NOT NULL THEN (
            plays_modern = plays_official
            AND abs(played_seconds_modern - watch_seconds_official)
            <= 0.5 + 1e-6 * greatest(1.0, watch_seconds_official)
        )
    END AS modern_within_tolerance
FROM both_scopes
