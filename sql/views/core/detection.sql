-- Helpers of the detection rules (sql/detect/): their thresholds, each in one place, and the
-- building blocks several rules share. Re-applied after every upgrade like the other views.

-- POINT_FLATLINE thresholds. A run is flagged when it lasts longer than
--     greatest(core.flatline_floor(), core.flatline_factor() * the learned normal),
-- the learned normal being the 99th percentile of the lengths of all runs of unchanged value that
-- the points of the same sensor type show in the same mine (core.safety_point_run). The 99th
-- percentile, not the longest, so that one shielded point does not teach the rule that shielding
-- is normal; a coarse sensor (0.1 % resolution) sits on one value for long and gets a longer limit.
CREATE OR REPLACE FUNCTION core.flatline_floor() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '2 hours' $fn$;
COMMENT ON FUNCTION core.flatline_floor() IS
    'POINT_FLATLINE: no run of one value shorter than this is ever flagged, whatever the learned normal';

CREATE OR REPLACE FUNCTION core.flatline_factor() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 10.0::double precision $fn$;
COMMENT ON FUNCTION core.flatline_factor() IS
    'POINT_FLATLINE: how many times the learned normal run (99th percentile for the sensor type in the mine) a run must last';

CREATE OR REPLACE VIEW core.safety_point_run AS
WITH points AS MATERIALIZED (
    -- the analog points (MN) as defined now, with their type and place (looked up once)
    SELECT p.mine_code, p.point_code, p.sensor_type, p.unit, p.area_code, p.area_source, p.range_low
      FROM core.safety_point_current p
     WHERE p.value_type = 'MN'
),
readings AS (
    -- their measured readings, marked where the value changes; readings flagged fault (8),
    -- calibrating (16) or switched off (64) are other rules' business and skipped
    SELECT r.mine_code, r.point_code, r.sampled_at, r.value,
           -- a silence of more than 15 minutes also ends a run: a feed gap is not a flat sensor
           CASE WHEN r.value = lag(r.value) OVER w AND r.sampled_at - lag(r.sampled_at) OVER w <= interval '15 minutes'
                THEN 0 ELSE 1 END AS is_change
      FROM points p
      JOIN core.safety_reading r ON r.mine_code = p.mine_code AND r.point_code = p.point_code
     WHERE r.value IS NOT NULL AND coalesce(r.conditions, 0) & (8 | 16 | 64) = 0
    WINDOW w AS (PARTITION BY r.mine_code, r.point_code ORDER BY r.sampled_at)
),
numbered AS (
    SELECT rd.*, sum(rd.is_change) OVER (PARTITION BY rd.mine_code, rd.point_code ORDER BY rd.sampled_at) AS run_no,
           max(rd.sampled_at) OVER (PARTITION BY rd.mine_code, rd.point_code) AS latest_at
      FROM readings rd
),
runs AS (
    SELECT n.mine_code, n.point_code, n.run_no, min(n.value) AS value,
           min(n.sampled_at) AS started_at, max(n.sampled_at) AS last_at,
           max(n.sampled_at) - min(n.sampled_at) AS lasted,
           count(*) AS readings,
           max(n.sampled_at) = max(n.latest_at) AS is_latest
      FROM numbered n
     GROUP BY n.mine_code, n.point_code, n.run_no
)
SELECT u.*, p.sensor_type, p.unit, p.area_code, p.area_source,
       -- the sensor sits at the bottom of its range (0 CO in fresh air): nothing to measure, not a flatline
       u.value <= coalesce(p.range_low, 0) AS at_floor
  FROM runs u
  JOIN points p ON p.mine_code = u.mine_code AND p.point_code = u.point_code;
COMMENT ON VIEW core.safety_point_run IS
    'one row per analog safety point per run of one exact value (measured readings only: fault, calibrating and switched-off readings skipped); is_latest: the run holds the point''s latest reading';

CREATE OR REPLACE VIEW core.sensor_type_normal_run AS
SELECT r.mine_code, r.sensor_type,
       percentile_disc(0.99) WITHIN GROUP (ORDER BY r.lasted) AS normal_run,
       count(*) AS runs,
       count(DISTINCT r.point_code) AS points
  FROM core.safety_point_run r
 GROUP BY r.mine_code, r.sensor_type;
COMMENT ON VIEW core.sensor_type_normal_run IS
    'per mine and sensor type: the learned normal length of a run of one value (99th percentile of all runs of the type''s analog points), what POINT_FLATLINE compares against';
