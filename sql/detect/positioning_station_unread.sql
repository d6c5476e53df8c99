-- STATION_SILENT (contract G.1), positioning base stations that read no card while people are
-- underground in their area: the RYSS snapshots list cards underground (flag 1) at the station without
-- a read (contract J: station time, distance and track unchanged), while the station reads no card at
-- all, for at least core.station_unread_limit() (30 minutes, the CARD_UNREAD limit), with at least
-- core.station_unread_min_cards() (2) such cards: one card unread is more likely the card than the
-- station (CARD_UNREAD says it). Taken at the station, not the area: an area may have several
-- stations, and one at a quiet end reads nobody. Only snapshots place a card at a station: a REST
-- platform sends reads, and between two reads says nothing of where a card is (CARD_UNREAD's business).
-- A station reads when an observation at it is a read, or a RYSS track says a card passed it. One
-- finding per station and silence, from the station's last read (its first unread card, if it never
-- read); it ends at the last snapshot listing cards there unread, open while the mine's latest snapshot
-- still does and the station has not read since. A station that reports itself interrupted or at fault
-- (JZSS) is positioning_station_silent.sql's finding; this one says what the cards show, and the
-- station's own word at the start. A warning. An open finding reported earlier that the data no longer
-- show (snapshots came late) is withdrawn: closed at the station's next read, information.
WITH unread AS MATERIALIZED (
    -- RYSS rows listing a card underground at a station without a read
    SELECT o.mine_code, o.station_code, o.card_code, o.observed_at AS at
      FROM core.positioning_observation o
     WHERE o.source_kind = 'RYSS' AND o.in_mine_flag = 1 AND NOT o.is_read AND o.station_code IS NOT NULL
),
stations AS (
    SELECT DISTINCT u.mine_code, u.station_code FROM unread u
),
station_reads AS MATERIALIZED (
    -- every time those stations read a card, with the station's next read
    SELECT x.mine_code, x.station_code, x.at, lead(x.at) OVER (PARTITION BY x.mine_code, x.station_code ORDER BY x.at) AS next_at
      FROM (SELECT o.mine_code, o.station_code, o.observed_at AS at
              FROM core.positioning_observation o
              JOIN stations st ON st.mine_code = o.mine_code AND st.station_code = o.station_code
             WHERE o.is_read
            UNION
            SELECT t.mine_code, t.station_code, t.passed_at
              FROM core.positioning_track_item t
              JOIN stations st ON st.mine_code = t.mine_code AND st.station_code = t.station_code) x
),
marked AS (
    -- the unread listings and the station's reads in one time line: each listing gets the station's last read
    SELECT e.*, max(e.read_at) OVER (PARTITION BY e.mine_code, e.station_code ORDER BY e.at, e.is_read DESC) AS last_read_at
      FROM (SELECT u.mine_code, u.station_code, u.card_code, u.at, false AS is_read, NULL::timestamptz AS read_at
              FROM unread u
            UNION ALL
            SELECT r.mine_code, r.station_code, NULL, r.at, true, r.at
              FROM station_reads r) e
),
spells AS (
    -- the listings between two reads of a station make one silence
    SELECT m.mine_code, m.station_code, m.last_read_at, min(m.at) AS first_unread_at, max(m.at) AS last_unread_at,
           count(DISTINCT m.card_code) AS cards,
           (array_agg(DISTINCT m.card_code ORDER BY m.card_code))[1:10] AS some_cards,
           count(*) AS listings
      FROM marked m
     WHERE NOT m.is_read
     GROUP BY m.mine_code, m.station_code, m.last_read_at
),
long_spells AS (
    SELECT s.*, coalesce(s.last_read_at, s.first_unread_at) AS started_at, r.next_at AS next_read_at,
           s.last_unread_at - coalesce(s.last_read_at, s.first_unread_at) AS lasted,
           -- open while the mine's latest snapshot still lists them and the station has not read since
           CASE WHEN r.next_at IS NULL AND s.last_unread_at >= k.latest_snapshot_at THEN NULL
                ELSE s.last_unread_at END AS ended_at
      FROM spells s
      JOIN core.positioning_mine_clock k ON k.mine_code = s.mine_code
      LEFT JOIN station_reads r ON r.mine_code = s.mine_code AND r.station_code = s.station_code AND r.at = s.last_read_at
     WHERE s.cards >= core.station_unread_min_cards()
       AND s.last_unread_at - coalesce(s.last_read_at, s.first_unread_at) >= core.station_unread_limit()
),
found AS (
    SELECT l.mine_code,
           l.station_code,
           coalesce(st.area_code, left(l.station_code, length(l.mine_code) + 4)) AS area_code,
           l.started_at,
           l.ended_at,
           2::smallint AS severity,
           jsonb_strip_nulls(jsonb_build_object(
               'why', 'the positioning base station read no card for ' || round(extract(epoch FROM l.lasted) / 60)
                      || ' minutes while ' || l.cards || ' cards underground were listed at it unread',
               'station kind', 'personnel positioning base station',
               'last read by the station', l.last_read_at,
               'next read by the station', l.next_read_at,
               'minutes', round((extract(epoch FROM l.lasted) / 60)::numeric, 1),
               'cards placed there unread', l.cards,
               'some of them', to_jsonb(l.some_cards),
               'snapshots listing them', l.listings,
               'station''s own report then', si.run_state)) AS evidence
      FROM long_spells l
      LEFT JOIN core.positioning_station_current st ON st.mine_code = l.mine_code AND st.station_code = l.station_code
      LEFT JOIN LATERAL (SELECT i.run_state FROM core.positioning_station_interval i
                          WHERE i.mine_code = l.mine_code AND i.station_code = l.station_code AND i.started_at <= l.started_at
                          ORDER BY i.started_at DESC LIMIT 1) si ON true
       -- never the same key as a spell the station reported itself (positioning_station_silent.sql)
     WHERE NOT EXISTS (SELECT 1 FROM core.positioning_station_interval i
                        WHERE i.mine_code = l.mine_code AND i.station_code = l.station_code
                          AND i.started_at = l.started_at AND i.run_state IN ('interrupted', 'fault'))
),
withdrawn AS (
    -- open findings of this rule reported earlier that the data no longer show: closed at the station's next read
    SELECT f.mine_code, f.subject_code AS station_code, f.area_code, f.started_at,
           coalesce(n.observed_at, f.started_at) AS ended_at, 1::smallint AS severity,
           jsonb_build_object(
               'why', 'withdrawn: the positioning data for this time came after the station was reported silent; it was not',
               'reported as', f.evidence->>'why',
               'station kind', f.evidence->>'station kind',
               'next read by the station', n.observed_at) AS evidence
      FROM core.flag f
      LEFT JOIN LATERAL (SELECT o.observed_at FROM core.positioning_observation o
                          WHERE o.mine_code = f.mine_code AND o.observed_at > f.started_at
                            AND o.station_code = f.subject_code AND o.is_read
                          ORDER BY o.observed_at LIMIT 1) n ON true
     WHERE f.flag_code = 'STATION_SILENT' AND f.ended_at IS NULL AND f.evidence ? 'cards placed there unread'
       AND NOT EXISTS (SELECT 1 FROM found x
                        WHERE x.mine_code = f.mine_code AND x.station_code = f.subject_code AND x.started_at = f.started_at)
)
SELECT x.mine_code,
       'STATION_SILENT'::text AS flag_code,
       'station'::text AS subject_kind,
       x.station_code AS subject_code,
       x.area_code,
       x.started_at,
       x.ended_at,
       x.severity,
       x.evidence
  FROM (SELECT * FROM found UNION ALL SELECT * FROM withdrawn) x
