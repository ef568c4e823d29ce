-- gold_reconciliation: figures derived from the events against Wistia's own, with the difference
-- (from_events - official). Never reads the events: built from gold_media_daily and the lifetime stats.
--   scope 'daily'    : one row per gold_media_daily row; official = by_date plays / watch_time_seconds,
--                      from_events = event_plays / event_watch_seconds.
--   scope 'lifetime' : one row per media (activity_date NULL); official = stats/medias play_count /
--                      watch_time_seconds, from_events = sums of event_plays / event_watch_seconds over
--                      every day in gold_media_daily.
-- within_tolerance: plays equal, and |watch diff| <= 1e-6 * greatest(1, watch_seconds_official)
-- (docs/metrics.md, "Reconciliation").
WITH daily AS (
    SELECT
        media_id,
        'daily' AS scope,
        activity_date,
        CAST(plays AS BIGINT) AS plays_official,
        CAST(event_plays AS BIGINT) AS plays_from_events,
        CAST(watch_time_seconds AS DOUBLE) AS watch_seconds_official,
        CAST(event_watch_seconds AS DOUBLE) AS watch_seconds_from_events
    FROM gold_media_daily
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
        CAST(coalesce(e.watch_seconds_from_events, 0.0) AS DOUBLE) AS watch_seconds_from_events
    FROM silver_media_lifetime_stats AS s
    FULL OUTER JOIN events_lifetime AS e
        ON e.media_id = s.media_id
),
both_scopes AS (
    SELECT media_id, scope, activity_date, plays_official, plays_from_events, watch_seconds_official,
        watch_seconds_from_events
    FROM daily
    UNION ALL
    SELECT media_id, scope, activity_date, plays_official, plays_from_events, watch_seconds_official,
        watch_seconds_from_events
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
    ) AS within_tolerance
FROM both_scopes
