-- POINT_CALIBRATION_EXCESS (contract G.1): a safety point marked calibrating (national bit 4,
-- provincial bit 16: the named condition calibrating, mask 16; or a YCBJ abnormal event of type 007)
-- far longer or far more often than calibration needs. Calibrating a sensor takes minutes, and while
-- a point is marked calibrating its alarm and power cut do not act: so a spell longer than
-- core.calibration_spell_limit() (1 hour), or, on one China-local day, more than
-- core.calibration_day_spells() (4) spells or more than core.calibration_day_total() (2 hours) in all.
-- A spell is the point's calibrating readings with no break of core.safety_gap_floor() (10 minutes)
-- between them (a calibration redone within minutes is one job), merged with the YCBJ 007 events it
-- overlaps; read from the calibrating readings alone, in one pass. One finding per
-- over-long spell, and one per point and day with too many or too long spells in all (from the day's
-- first spell to its last; merged with the over-long spell that starts with it). Open while the
-- point is still calibrating at its latest reading, or its YCBJ event is not ended. A warning. An open
-- finding reported earlier that the data no longer show (a late YCBJ end, late readings) is withdrawn:
-- closed where its spell ended, information.
WITH calibrating AS MATERIALIZED (
    -- every reading with the calibrating condition (one pass; conditions >= 16 lets the planner's
    -- statistics see how few these are), marked where a spell begins: a calibrating reading with no
    -- other one of its point in the 10 minutes before
    SELECT r.mine_code, r.point_code, r.sampled_at,
           CASE WHEN r.sampled_at - lag(r.sampled_at) OVER w <= core.safety_gap_floor() THEN 0 ELSE 1 END AS is_new
      FROM core.safety_reading r
     WHERE r.conditions >= 16 AND r.conditions & 16 <> 0
    WINDOW w AS (PARTITION BY r.mine_code, r.point_code ORDER BY r.sampled_at)
),
numbered AS (
    SELECT c.*, sum(c.is_new) OVER (PARTITION BY c.mine_code, c.point_code ORDER BY c.sampled_at) AS run_no
      FROM calibrating c
),
latest AS (
    -- each calibrating point's latest reading (by index): a spell that holds it is still going on
    SELECT c.mine_code, c.point_code,
           (SELECT max(r.sampled_at) FROM core.safety_reading r
             WHERE r.mine_code = c.mine_code AND r.point_code = c.point_code) AS latest_at
      FROM (SELECT DISTINCT mine_code, point_code FROM calibrating
            UNION
            SELECT e.mine_code, e.point_code FROM core.safety_abnormal_event e WHERE e.abnormal_type = '007') c
),
pieces AS (
    -- the runs of calibrating readings, and the YCBJ calibration events, as intervals (end NULL: open)
    SELECT n.mine_code, n.point_code, min(n.sampled_at) AS started_at,
           CASE WHEN max(n.sampled_at) = max(l.latest_at) THEN NULL ELSE max(n.sampled_at) END AS ended_at,
           'readings' AS source, count(*) AS readings
      FROM numbered n JOIN latest l ON l.mine_code = n.mine_code AND l.point_code = n.point_code
     GROUP BY n.mine_code, n.point_code, n.run_no
    UNION ALL
    SELECT e.mine_code, e.point_code, e.started_at, e.ended_at, 'YCBJ 007', 0
      FROM core.safety_abnormal_event e
     WHERE e.abnormal_type = '007'
),
ordered AS (
    -- pieces that overlap or touch make one spell
    SELECT p.*,
           CASE WHEN p.started_at <= max(coalesce(p.ended_at, 'infinity'::timestamptz))
                                         OVER (PARTITION BY p.mine_code, p.point_code ORDER BY p.started_at, p.source
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                THEN 0 ELSE 1 END AS is_new
      FROM pieces p
),
spells AS (
    SELECT s.mine_code, s.point_code, min(s.started_at) AS started_at,
           CASE WHEN bool_or(s.ended_at IS NULL) THEN NULL ELSE max(s.ended_at) END AS ended_at,
           array_agg(DISTINCT s.source ORDER BY s.source) AS sources, sum(s.readings) AS readings
      FROM (SELECT o.*, sum(o.is_new) OVER (PARTITION BY o.mine_code, o.point_code ORDER BY o.started_at, o.source) AS spell_no
              FROM ordered o) s
     GROUP BY s.mine_code, s.point_code, s.spell_no
),
measured AS (
    -- how long each spell lasted (an open one: so far, to the point's latest reading), and its day
    SELECT s.*, coalesce(s.ended_at, greatest(l.latest_at, s.started_at)) - s.started_at AS lasted,
           (s.started_at AT TIME ZONE 'Asia/Shanghai')::date AS day
      FROM spells s JOIN latest l ON l.mine_code = s.mine_code AND l.point_code = s.point_code
),
long_spells AS (
    SELECT m.mine_code, m.point_code, m.started_at, m.ended_at,
           jsonb_strip_nulls(jsonb_build_object(
               'why', 'the point was marked calibrating for ' || to_char(m.lasted, 'HH24"h"MI"m"')
                      || CASE WHEN m.ended_at IS NULL THEN ' so far' ELSE '' END
                      || ', longer than calibration needs; its alarms and power cut do not act meanwhile',
               'minutes calibrating', round((extract(epoch FROM m.lasted) / 60)::numeric, 1),
               'limit minutes', round((extract(epoch FROM core.calibration_spell_limit()) / 60)::numeric),
               'calibrating readings', NULLIF(m.readings, 0),
               'reported by', m.sources)) AS evidence
      FROM measured m
     WHERE m.lasted > core.calibration_spell_limit()
),
days AS (
    -- per point and day: how many spells began, and how long they lasted in all
    SELECT m.mine_code, m.point_code, m.day, count(*) AS spells, sum(m.lasted) AS total,
           min(m.started_at) AS started_at,
           CASE WHEN bool_or(m.ended_at IS NULL) THEN NULL ELSE max(m.ended_at) END AS ended_at,
           array_agg(to_char(m.started_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') || ' ('
                     || round((extract(epoch FROM m.lasted) / 60)::numeric) || ' min)' ORDER BY m.started_at) AS list
      FROM measured m
     GROUP BY m.mine_code, m.point_code, m.day
),
busy_days AS (
    SELECT d.mine_code, d.point_code, d.started_at, d.ended_at,
           jsonb_build_object(
               'why', 'the point was marked calibrating ' || d.spells || ' times for '
                      || to_char(d.total, 'HH24"h"MI"m"') || ' in all on ' || d.day
                      || ', more often or longer than calibration needs',
               'day', d.day,
               'calibration spells', d.spells,
               'minutes calibrating that day', round((extract(epoch FROM d.total) / 60)::numeric, 1),
               'spells (start, minutes)', d.list,
               'limits', 'more than ' || core.calibration_day_spells() || ' spells or '
                         || round((extract(epoch FROM core.calibration_day_total()) / 60)::numeric) || ' minutes a day') AS evidence
      FROM days d
     WHERE d.spells > core.calibration_day_spells() OR d.total > core.calibration_day_total()
),
findings AS (
    SELECT * FROM long_spells
    UNION ALL
    SELECT * FROM busy_days
),
per_start AS (
    -- an over-long spell that opens a busy day is one finding with it
    SELECT f.mine_code, f.point_code, f.started_at,
           CASE WHEN bool_or(f.ended_at IS NULL) THEN NULL ELSE max(f.ended_at) END AS ended_at,
           CASE WHEN count(*) = 1 THEN (array_agg(f.evidence))[1]
                ELSE jsonb_build_object('why', string_agg(f.evidence->>'why', '; ' ORDER BY f.evidence->>'why'),
                                        'findings', jsonb_agg(f.evidence ORDER BY f.evidence->>'why')) END AS evidence
      FROM findings f
     GROUP BY f.mine_code, f.point_code, f.started_at
),
found AS (
    SELECT f.mine_code, f.point_code, coalesce(p.area_code, pp.area_code) AS area_code, f.started_at, f.ended_at,
           2::smallint AS severity,
           f.evidence || jsonb_strip_nulls(jsonb_build_object(
               'sensor type', p.sensor_type,
               'area source', coalesce(p.area_source, CASE WHEN pp.area_code IS NOT NULL THEN 'registry' END))) AS evidence
      FROM per_start f
      LEFT JOIN core.safety_point_current p ON p.mine_code = f.mine_code AND p.point_code = f.point_code
      LEFT JOIN core.point_placement_current pp ON pp.mine_code = f.mine_code AND pp.point_code = f.point_code
),
withdrawn AS (
    -- open findings reported earlier that the data no longer show: closed where their spell ended
    SELECT f.mine_code, f.subject_code AS point_code, f.area_code, f.started_at,
           coalesce(m.ended_at, f.started_at) AS ended_at, 1::smallint AS severity,
           jsonb_build_object(
               'why', 'withdrawn: data that came later show the calibration ended within what calibration needs',
               'reported as', f.evidence->>'why',
               'minutes calibrating', round((extract(epoch FROM m.lasted) / 60)::numeric, 1)) AS evidence
      FROM core.flag f
      LEFT JOIN measured m ON m.mine_code = f.mine_code AND m.point_code = f.subject_code AND m.started_at = f.started_at
     WHERE f.flag_code = 'POINT_CALIBRATION_EXCESS' AND f.ended_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM found x
                        WHERE x.mine_code = f.mine_code AND x.point_code = f.subject_code AND x.started_at = f.started_at)
)
SELECT x.mine_code,
       'POINT_CALIBRATION_EXCESS'::text AS flag_code,
       'point'::text AS subject_kind,
       x.point_code AS subject_code,
       x.area_code,
       x.started_at,
       x.ended_at,
       x.severity,
       x.evidence
  FROM (SELECT * FROM found UNION ALL SELECT * FROM withdrawn) x
