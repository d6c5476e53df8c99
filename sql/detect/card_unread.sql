-- CARD_UNREAD (contract G.1): a card underground in the books but read by no station for at least
-- core.positioning_setting 'card_unread_after' (30 minutes), or cards moving in lock-step (one
-- person carrying several cards).
-- Unread: from core.positioning_shaft_stay, the stays that went (or still go) that long unread,
-- and in their observations each spell from a read (or the stay's start) until the next read or
-- the card back at the shaft mouth; a spell with neither ends with the stay (open while the stay
-- is). "Underground in the books": the card's observations in the spell say flag 1.
-- Lock-step: two cards that arrived at the same stations at the very same second three times or
-- more (core.lockstep_min_passes()), at two stations or more (core.lockstep_min_stations()), on one
-- China-local day, and those shared arrivals make at least 80 % (core.lockstep_share()) of all the
-- arrivals of one of the two cards that day: one finding per card and day, naming the cards it moved
-- with. An arrival is a RYSS track item (station and time the card passed), or, for REST (no
-- tracks), a read at another station than the card's previous read. Not every REST read: the
-- platform reads all cards at a station in the same poll seconds, so co-workers at one face share
-- hundreds of read seconds without moving together; a carried card follows its carrier everywhere.
WITH setting AS (
    SELECT coalesce((SELECT s.value FROM core.positioning_setting s WHERE s.name = 'card_unread_after'),
                    interval '30 minutes') AS unread_after
),
candidate_stays AS (
    -- the stays that went unread that long at some time, or have been so far
    SELECT s.mine_code, s.card_code, s.entered_at, s.last_seen_at, s.left_at, s.end_reason, s.unread_since,
           c.clock_at
      FROM core.positioning_shaft_stay s
      JOIN core.positioning_mine_clock c ON c.mine_code = s.mine_code
      CROSS JOIN setting
     WHERE s.longest_unread_s >= extract(epoch FROM setting.unread_after)
        OR coalesce(s.left_at, c.clock_at) - s.unread_since >= setting.unread_after
),
observations AS (
    -- their observations, each with the last read before it in the stay (or the stay's start)
    SELECT o.mine_code, o.card_code, s.entered_at AS stay_entered_at, o.observed_at AS t, o.in_mine_flag AS flag,
           o.is_read, o.area_code, o.station_code,
           coalesce(max(CASE WHEN o.is_read THEN o.observed_at END)
                        OVER (PARTITION BY o.mine_code, o.card_code, s.entered_at ORDER BY o.observed_at
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), s.entered_at) AS read_before
      FROM candidate_stays s
      JOIN core.positioning_observation o
        ON o.mine_code = s.mine_code AND o.card_code = s.card_code
       AND o.observed_at BETWEEN s.entered_at AND s.last_seen_at
),
spells AS (
    -- one spell per last read: it ends at the next read or at the card back at the mouth
    SELECT b.mine_code, b.card_code, b.stay_entered_at, b.read_before AS started_at,
           min(b.t) FILTER (WHERE (b.is_read OR b.flag IS DISTINCT FROM 1) AND b.t > b.read_before) AS ended_by,
           bool_or(b.flag = 1) AS underground,
           (array_agg(b.area_code ORDER BY b.t) FILTER (WHERE b.flag = 1))[1] AS area_code,
           (array_agg(b.station_code ORDER BY b.t) FILTER (WHERE b.flag = 1))[1] AS station_code,
           count(*) FILTER (WHERE NOT b.is_read AND b.flag = 1) AS unread_observations
      FROM observations b
     GROUP BY b.mine_code, b.card_code, b.stay_entered_at, b.read_before
    UNION ALL
    -- a stay whose card was still underground and unread at its last observation: the spell goes on
    -- after it (REST sends nothing while a card is unread)
    SELECT s.mine_code, s.card_code, s.entered_at, s.unread_since, NULL, true, NULL, NULL, 0
      FROM candidate_stays s WHERE s.unread_since IS NOT NULL
),
unread AS (
    -- the spells of one start as one, ended by the next read, else by the stay's end (open while it is open)
    SELECT p.mine_code, p.card_code, p.started_at,
           min(p.ended_by) AS read_again_at,
           coalesce(min(p.ended_by), max(s.left_at)) AS ended_at,
           max(s.clock_at) AS clock_at, max(s.end_reason) AS stay_end,
           max(p.area_code) AS area_code, max(p.station_code) AS station_code,
           sum(p.unread_observations) AS unread_observations
      FROM spells p
      JOIN candidate_stays s ON s.mine_code = p.mine_code AND s.card_code = p.card_code AND s.entered_at = p.stay_entered_at
     WHERE p.underground
     GROUP BY p.mine_code, p.card_code, p.started_at
),
long_unread AS (
    SELECT u.* FROM unread u CROSS JOIN setting
     WHERE coalesce(u.ended_at, u.clock_at) - u.started_at >= setting.unread_after
),
passes AS (
    -- every arrival of a card at a station, at the second: RYSS track items, and REST reads at a
    -- station other than the card's previous read's
    SELECT t.mine_code, t.card_code, t.station_code, t.passed_at AS at FROM core.positioning_track_item t
    UNION
    SELECT o.mine_code, o.card_code, o.station_code, o.observed_at
      FROM (SELECT o.mine_code, o.card_code, o.station_code, o.observed_at,
                   lag(o.station_code) OVER (PARTITION BY o.mine_code, o.card_code ORDER BY o.observed_at) AS before
              FROM core.positioning_observation o
             WHERE o.source_kind = 'REST' AND o.station_code IS NOT NULL) o
     WHERE o.before IS DISTINCT FROM o.station_code
),
arrivals AS MATERIALIZED (
    SELECT p.*, (p.at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM passes p
),
per_card AS (
    -- how many arrivals each card made on each day
    SELECT a.mine_code, a.card_code, a.day, count(*) AS arrivals FROM arrivals a GROUP BY a.mine_code, a.card_code, a.day
),
together AS (
    -- pairs of cards arriving at one station at the same second, per China-local day
    SELECT a.mine_code, a.card_code, b.card_code AS partner, a.station_code, a.at, a.day
      FROM arrivals a
      JOIN arrivals b ON b.mine_code = a.mine_code AND b.station_code = a.station_code AND b.at = a.at
                     AND b.card_code <> a.card_code
),
pairs AS (
    SELECT t.mine_code, t.card_code, t.partner, t.day, count(*) AS passes, count(DISTINCT t.station_code) AS stations,
           min(t.at) AS first_at, max(t.at) AS last_at
      FROM together t
     GROUP BY t.mine_code, t.card_code, t.partner, t.day
    HAVING count(*) >= core.lockstep_min_passes() AND count(DISTINCT t.station_code) >= core.lockstep_min_stations()
),
lockstep_pairs AS (
    -- the pairs whose shared arrivals are nearly all the arrivals of one of the two cards
    SELECT p.*, least(c.arrivals, d.arrivals) AS fewer_arrivals
      FROM pairs p
      JOIN per_card c ON c.mine_code = p.mine_code AND c.card_code = p.card_code AND c.day = p.day
      JOIN per_card d ON d.mine_code = p.mine_code AND d.card_code = p.partner AND d.day = p.day
     WHERE p.passes >= core.lockstep_share() * least(c.arrivals, d.arrivals)
),
lockstep AS (
    SELECT p.mine_code, p.card_code, p.day, min(p.first_at) AS started_at, max(p.last_at) AS ended_at,
           array_agg(p.partner ORDER BY p.partner) AS partners, max(p.passes) AS passes, max(p.stations) AS stations,
           max(p.fewer_arrivals) AS fewer_arrivals
      FROM lockstep_pairs p
     GROUP BY p.mine_code, p.card_code, p.day
)
SELECT l.mine_code,
       'CARD_UNREAD'::text AS flag_code,
       'card'::text AS subject_kind,
       l.card_code AS subject_code,
       l.area_code,
       l.started_at,
       l.ended_at,
       2::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', 'the card was underground in the books but read by no station',
           'last read', l.started_at,
           'read again or gone', l.ended_at,
           'how it ended', CASE WHEN l.read_again_at IS NOT NULL THEN 'read again, or back at the shaft mouth'
                                WHEN l.ended_at IS NOT NULL THEN 'the stay ended: ' || l.stay_end END,
           'minutes unread', round(extract(epoch FROM coalesce(l.ended_at, l.clock_at) - l.started_at) / 60),
           'station', l.station_code,
           'snapshots listing it unread', NULLIF(l.unread_observations, 0))) AS evidence
  FROM long_unread l
UNION ALL
SELECT k.mine_code,
       'CARD_UNREAD'::text,
       'card'::text,
       k.card_code,
       NULL::text,
       k.started_at,
       k.ended_at,
       2::smallint,
       jsonb_build_object(
           'why', 'the card moved in lock-step with other cards: one person carrying several cards',
           'moved with', k.partners,
           'day', k.day,
           'same station at the same second', k.passes,
           'stations', k.stations,
           'arrivals of the card that moved less', k.fewer_arrivals)
  FROM lockstep k
