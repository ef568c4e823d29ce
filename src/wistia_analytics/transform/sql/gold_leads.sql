-- gold_leads: one row per lead (form / email-gate conversion) of silver_media_conversions, with the media's name
-- and the visitor it was: the silver_visitors visitor whose email equals the lead's, case-insensitively (NULL if
-- none; if several, the most recently active, then the smallest visitor_key). Under HASH_VISITOR_IDENTITY both
-- emails are md5(lower(email)), so the match is the same.
WITH matches AS (
    SELECT
        c.lead_key,
        v.visitor_key,
        ROW_NUMBER() OVER (
            PARTITION BY c.lead_key
            ORDER BY v.last_active_at DESC NULLS LAST, v.visitor_key ASC
        ) AS rn
    FROM silver_media_conversions AS c
    INNER JOIN silver_visitors AS v
        ON lower(v.visitor_email) = lower(c.email)
    WHERE c.email <> ''
)
SELECT
    c.lead_key,
    c.media_id,
    m.media_name,
    c.converted_at,
    c.conversion_date,
    c.first_name,
    c.last_name,
    c.email,
    x.visitor_key
FROM silver_media_conversions AS c
LEFT JOIN silver_medias AS m
    ON m.media_id = c.media_id
LEFT JOIN matches AS x
    ON x.lead_key = c.lead_key AND x.rn = 1
