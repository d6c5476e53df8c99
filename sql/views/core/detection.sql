-- Helpers of the detection rules (sql/detect/): their thresholds, each in one place, and the
-- building blocks several rules share. Re-applied after every upgrade like the other views.

-- POINT_FLATLINE thresholds. A run is flagged when it lasts longer than
--     greatest(core.flatline_floor(), core.flatline_factor() * the learned normal),
-- the learned normal being the 99th percentile of the lengths of all runs of unchanged value that
-- the points of the same sensor type show in the same mine (up to core.flatline_learners() of them
-- over its latest day: core.sensor_type_normal_run). The 99th
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

CREATE OR REPLACE FUNCTION core.flatline_percentile() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 0.99::double precision $fn$;
COMMENT ON FUNCTION core.flatline_percentile() IS
    'POINT_FLATLINE: which percentile of the run lengths of a sensor type in a mine is its learned normal run';

CREATE OR REPLACE FUNCTION core.flatline_learners() RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 12 $fn$;
COMMENT ON FUNCTION core.flatline_learners() IS
    'POINT_FLATLINE: from how many analog points of a sensor type (at most) a mine''s normal run is learned';

CREATE OR REPLACE FUNCTION core.flatline_learning_span() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '1 day' $fn$;
COMMENT ON FUNCTION core.flatline_learning_span() IS
    'POINT_FLATLINE: a mine''s normal run is learned from this much of its latest readings';

CREATE OR REPLACE FUNCTION core.flatline_bucket() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '30 minutes' $fn$;
COMMENT ON FUNCTION core.flatline_bucket() IS
    'POINT_FLATLINE: the time buckets in which a point''s readings are first screened for one constant value (a run longer than core.flatline_floor() fills at least floor/bucket - 1 whole buckets)';

-- The runs of one exact value of analog points, for POINT_FLATLINE. Readings are stored keyed by
-- time before point (migration 0014), so "one point in time order" is not an index range: a pass
-- that follows points through time sorts what it reads. So only a small part of the store is ever
-- sorted: core.safety_point_learning_runs() reads a sample of points over the latest day, and
-- core.safety_point_long_runs() first screens every point by time bucket (one hash aggregation, no
-- sort) and reads in order only the stretches where a long run can be.
-- A reading starts a run unless it repeats the value of the point's previous measured reading
-- within 15 minutes (a feed gap is not a flat sensor). Readings flagged fault (8), calibrating (16)
-- or switched off (64) are other rules' business and skipped.

-- Per point and time bucket: the lowest and highest measured value and the latest reading.
CREATE OR REPLACE FUNCTION core.safety_point_buckets()
RETURNS TABLE (mine_code text, point_code text, bucket_start timestamptz, low double precision, high double precision,
               last_at timestamptz)
LANGUAGE sql STABLE
SET work_mem = '64MB'
SET enable_sort = off     -- a hash aggregation, never a sort of the whole store
AS $fn$
    SELECT r.mine_code, r.point_code,
           date_bin(core.flatline_bucket(), r.sampled_at, timestamptz '2000-01-01 00:00+08'),
           min(r.value), max(r.value), max(r.sampled_at)
      FROM core.safety_reading r
     WHERE r.value IS NOT NULL AND coalesce(r.conditions, 0) & (8 | 16 | 64) = 0
     GROUP BY 1, 2, 3
$fn$;
COMMENT ON FUNCTION core.safety_point_buckets() IS
    'per safety point and core.flatline_bucket() of time: lowest and highest measured value, latest measured reading';

-- The runs of the given points within the given spans of time (point key = mine code, space, point
-- code; spans of one point may overlap: each is read on its own). The first reading of a span starts
-- a run; is_last: the run holds the span's last reading.
CREATE OR REPLACE FUNCTION core.safety_point_runs_in(point_keys text[], from_ats timestamptz[], to_ats timestamptz[])
RETURNS TABLE (mine_code text, point_code text, value double precision, started_at timestamptz, last_at timestamptz,
               lasted interval, readings bigint, is_last boolean)
LANGUAGE sql STABLE
SET work_mem = '128MB'      -- the sort of the selected readings stays in memory
SET enable_nestloop = off   -- the selection is a hash join over one scan, never a loop over the store
AS $fn$
    WITH spans AS MATERIALIZED (
        SELECT u.point_key, u.from_at, u.to_at FROM unnest(point_keys, from_ats, to_ats) AS u (point_key, from_at, to_at)
    ),
    marked AS (
        -- the selected readings in time order, each with the point's reading before and after it
        SELECT r.mine_code, r.point_code, s.point_key, s.from_at, r.sampled_at, r.value,
               lag(r.value) OVER w AS prev_value, lag(r.sampled_at) OVER w AS prev_at,
               row_number() OVER w AS rn, lead(r.sampled_at) OVER w IS NULL AS is_last
          FROM core.safety_reading r
          JOIN spans s ON s.point_key = r.mine_code || ' ' || r.point_code
                      AND r.sampled_at >= s.from_at AND r.sampled_at < s.to_at
         WHERE r.value IS NOT NULL AND coalesce(r.conditions, 0) & (8 | 16 | 64) = 0
           AND r.sampled_at >= (SELECT min(t.from_at) FROM spans t)   -- only the days that matter are read
           AND r.sampled_at < (SELECT max(t.to_at) FROM spans t)
        WINDOW w AS (PARTITION BY s.point_key COLLATE "C", s.from_at ORDER BY r.sampled_at)
    ),
    starts AS (
        -- the readings that start a run, and each span's last reading
        SELECT m.*, (m.value = m.prev_value AND m.sampled_at - m.prev_at <= interval '15 minutes') IS NOT TRUE AS is_start
          FROM marked m
    ),
    runs AS (
        SELECT k.mine_code, k.point_code, k.sampled_at AS started_at, k.value, k.is_start,
               -- a run ends at the reading before the next run's start, or at the span's last reading
               coalesce(lead(CASE WHEN k.is_start THEN k.prev_at ELSE k.sampled_at END) OVER o, k.sampled_at) AS last_at,
               coalesce(lead(k.rn) OVER o - CASE WHEN lead(k.is_start) OVER o THEN 1 ELSE 0 END, k.rn) - k.rn + 1
                   AS readings,
               lead(k.is_start) OVER o IS NOT TRUE AS is_last
          FROM starts k
         WHERE k.is_start OR k.is_last
        WINDOW o AS (PARTITION BY k.point_key COLLATE "C", k.from_at ORDER BY k.sampled_at)
    )
    SELECT u.mine_code, u.point_code, u.value, u.started_at, u.last_at, u.last_at - u.started_at, u.readings, u.is_last
      FROM runs u
     WHERE u.is_start
$fn$;
COMMENT ON FUNCTION core.safety_point_runs_in(text[], timestamptz[], timestamptz[]) IS
    'the runs of one exact value (measured readings only) of the given points within the given spans of time';

-- The runs a mine's normal run is learned from: every run in the mine's latest day
-- (core.flatline_learning_span()) of up to core.flatline_learners() analog points per sensor type,
-- the first by md5 of their code (a fixed, area-blind sample). Bounded work, however many points
-- and days are stored. for_keys: the 'mine_code sensor_type' keys to learn for (NULL: all).
CREATE OR REPLACE FUNCTION core.safety_point_learning_runs(for_keys text[] DEFAULT NULL)
RETURNS TABLE (mine_code text, point_code text, sensor_type text, lasted interval)
LANGUAGE sql STABLE AS $fn$
    WITH learners AS (
        SELECT p.mine_code, p.point_code, p.sensor_type,
               row_number() OVER (PARTITION BY p.mine_code, p.sensor_type ORDER BY md5(p.point_code)) AS pick
          FROM core.safety_point_current p
         WHERE p.value_type = 'MN' AND (for_keys IS NULL OR p.mine_code || ' ' || p.sensor_type = ANY (for_keys))
    ),
    spans AS (
        SELECT l.mine_code || ' ' || l.point_code AS point_key, c.latest_at - core.flatline_learning_span() AS from_at
          FROM learners l
         CROSS JOIN LATERAL (SELECT x.sampled_at AS latest_at FROM core.safety_reading x
                              WHERE x.mine_code = l.mine_code ORDER BY x.sampled_at DESC LIMIT 1) c
         WHERE l.pick <= core.flatline_learners()
    )
    SELECT r.mine_code, r.point_code, l.sensor_type, r.lasted
      FROM core.safety_point_runs_in((SELECT array_agg(s.point_key) FROM spans s),
                                     (SELECT array_agg(s.from_at) FROM spans s),
                                     (SELECT array_agg('infinity'::timestamptz) FROM spans s)) r
      JOIN learners l ON l.mine_code = r.mine_code AND l.point_code = r.point_code
$fn$;
COMMENT ON FUNCTION core.safety_point_learning_runs(text[]) IS
    'the runs of one value that POINT_FLATLINE learns each mine''s and sensor type''s normal run from (a sample of points over the latest day)';

-- The runs longer than core.flatline_floor() of every analog point above the bottom of its range.
-- Such a run fills at least floor/bucket - 1 whole time buckets in a row with one value; the screen
-- finds those stretches and only they (with a bucket either side) are read in order.
-- is_latest: the run holds the point's latest measured reading.
CREATE OR REPLACE FUNCTION core.safety_point_long_runs()
RETURNS TABLE (mine_code text, point_code text, value double precision, started_at timestamptz, last_at timestamptz,
               lasted interval, readings bigint, is_latest boolean)
LANGUAGE sql STABLE AS $fn$
    WITH buckets AS MATERIALIZED (
        SELECT b.* FROM core.safety_point_buckets() b
    ),
    stretches AS (
        -- whole buckets in a row on one value above the point's floor, enough of them to hold a long run
        SELECT c.mine_code, c.point_code, min(c.bucket_start) AS first_bucket, max(c.bucket_start) AS last_bucket
          FROM (SELECT b.*,
                       b.bucket_start - core.flatline_bucket()
                           * row_number() OVER (PARTITION BY b.mine_code, b.point_code, b.low ORDER BY b.bucket_start)
                           AS island
                  FROM buckets b
                  JOIN core.safety_point_current p ON p.mine_code = b.mine_code AND p.point_code = b.point_code
                 WHERE p.value_type = 'MN' AND b.low = b.high AND b.low > coalesce(p.range_low, 0)) c
         GROUP BY c.mine_code, c.point_code, c.low, c.island
        HAVING count(*) >= floor(extract(epoch FROM core.flatline_floor()) / extract(epoch FROM core.flatline_bucket())) - 1
    ),
    spans AS (
        SELECT s.mine_code || ' ' || s.point_code AS point_key, s.first_bucket - core.flatline_bucket() AS from_at,
               s.last_bucket + 2 * core.flatline_bucket() AS to_at
          FROM stretches s
    ),
    latest AS (
        SELECT b.mine_code, b.point_code, max(b.last_at) AS latest_at FROM buckets b GROUP BY b.mine_code, b.point_code
    )
    SELECT r.mine_code, r.point_code, r.value, r.started_at, r.last_at, r.lasted, r.readings, r.last_at = l.latest_at
      FROM core.safety_point_runs_in((SELECT array_agg(s.point_key) FROM spans s),
                                     (SELECT array_agg(s.from_at) FROM spans s),
                                     (SELECT array_agg(s.to_at) FROM spans s)) r
      JOIN latest l ON l.mine_code = r.mine_code AND l.point_code = r.point_code
     WHERE r.lasted > core.flatline_floor()
$fn$;
COMMENT ON FUNCTION core.safety_point_long_runs() IS
    'the runs of one exact value longer than core.flatline_floor() of every analog safety point above the bottom of its range; is_latest: the run holds the point''s latest measured reading';

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
    'one row per analog safety point per run of one exact value (measured readings only: fault, calibrating and switched-off readings skipped); is_latest: the run holds the point''s latest reading. Every reading of every point, sorted: for analysts, not for detection (see core.safety_point_long_runs)';

CREATE OR REPLACE FUNCTION core.sensor_type_normal_runs(for_keys text[] DEFAULT NULL)
RETURNS TABLE (mine_code text, sensor_type text, normal_run interval, runs bigint, points bigint)
LANGUAGE sql STABLE AS $fn$
    SELECT r.mine_code, r.sensor_type,
           percentile_disc(core.flatline_percentile()) WITHIN GROUP (ORDER BY r.lasted),
           count(*),
           count(DISTINCT r.point_code)
      FROM core.safety_point_learning_runs(for_keys) r
     GROUP BY r.mine_code, r.sensor_type
$fn$;
COMMENT ON FUNCTION core.sensor_type_normal_runs(text[]) IS
    'core.sensor_type_normal_run for the given ''mine_code sensor_type'' keys only (NULL: all)';

CREATE OR REPLACE VIEW core.sensor_type_normal_run AS
SELECT n.mine_code, n.sensor_type, n.normal_run, n.runs, n.points FROM core.sensor_type_normal_runs() n;
COMMENT ON VIEW core.sensor_type_normal_run IS
    'per mine and sensor type: the learned normal length of a run of one value (99th percentile of the runs of up to core.flatline_learners() of the type''s analog points over the mine''s latest day), what POINT_FLATLINE compares against';

-- ---- Concealed works: POWER_BEHIND_SEAL, POWER_WITHOUT_MONITORING, POWER_WITHOUT_PERSONNEL ---------

-- An area's base load is what it draws when nobody works there (fans, pumps, lighting, monitoring),
-- learned per area from its own history: the core.power_base_percentile() (10th) percentile of its
-- hourly energy over every hour loaded. An hour draws working-level energy ("above base load") when
--     energy > greatest(core.power_base_factor() * base, base + core.power_margin_kwh()),
-- twice the base and 30 kWh more than it (a 30 kW machine running the whole hour): a roadway's or a
-- shaft's load swings with the mine's work but stays within twice its base; metering noise of an
-- idle area stays within the margin. A sealed or goaf area's base is never taken above
-- core.power_sealed_base_cap(): one that drew working-level energy from the first day loaded must not
-- learn that as its base. A finding needs core.power_min_hours() such hours in a row.
CREATE OR REPLACE FUNCTION core.power_base_percentile() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 0.10::double precision $fn$;
COMMENT ON FUNCTION core.power_base_percentile() IS
    'POWER_*: the percentile of an area''s hourly energy over all hours loaded that is its base load';

CREATE OR REPLACE FUNCTION core.power_base_factor() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 2.0::double precision $fn$;
COMMENT ON FUNCTION core.power_base_factor() IS
    'POWER_*: an hour is at working level when its energy exceeds this many times the area''s base load (and the margin)';

CREATE OR REPLACE FUNCTION core.power_margin_kwh() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 30.0::double precision $fn$;
COMMENT ON FUNCTION core.power_margin_kwh() IS
    'POWER_*: an hour is at working level only when its energy exceeds the area''s base load by at least this many kWh';

CREATE OR REPLACE FUNCTION core.power_sealed_base_cap() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 30.0::double precision $fn$;
COMMENT ON FUNCTION core.power_sealed_base_cap() IS
    'POWER_*: the most kWh per hour a sealed or goaf area''s base load is ever taken to be, whatever its history';

CREATE OR REPLACE FUNCTION core.power_min_hours() RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 2 $fn$;
COMMENT ON FUNCTION core.power_min_hours() IS
    'POWER_*: how many hours in a row the condition must hold for a finding';

CREATE OR REPLACE FUNCTION core.power_blind_part() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '30 minutes' $fn$;
COMMENT ON FUNCTION core.power_blind_part() IS
    'POWER_WITHOUT_MONITORING: how much of an hour a safety point must be silent, switched off or flat to count as blind in that hour';

-- mart.mine_day_risk: a blinding finding (shielding, monitoring gap) that began at most this long
-- before strong concealed-works evidence, and lasted into it, marks its own day for unsealing too.
CREATE OR REPLACE FUNCTION core.blinding_lead() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '2 hours' $fn$;
COMMENT ON FUNCTION core.blinding_lead() IS
    'mart.mine_day_risk: how long before concealed works began a blinding that lasted into them marks its own day "verify by unsealing"';

CREATE OR REPLACE VIEW core.area_version AS
SELECT a.mine_code, a.area_code, a.area_name, a.kind, a.is_declared_active,
       -- in force from its start until the next version (the first also before it: the registry may
       -- arrive after the data it describes), or until it was dropped
       CASE WHEN lag(a.valid_from) OVER w IS NULL THEN '-infinity'::timestamptz ELSE a.valid_from END AS from_at,
       coalesce(lead(a.valid_from) OVER w, a.valid_to, 'infinity'::timestamptz) AS to_at,
       -- nobody may work there: behind a seal, or a face or heading not declared as working
       a.kind IN ('sealed', 'goaf') OR (a.kind IN ('working_face', 'heading') AND NOT a.is_declared_active) AS is_quiet
  FROM core.area a
WINDOW w AS (PARTITION BY a.mine_code, a.area_code ORDER BY a.valid_from);
COMMENT ON VIEW core.area_version IS
    'one row per registry version of an area with the time it is in force (the first from -infinity); is_quiet: sealed, goaf, or a face or heading not declared active';

CREATE OR REPLACE VIEW core.area_power_hour AS
WITH meter_hours AS (
    -- each meter's energy in each hour as kWh per hour: an hour the meter measured only in part (the
    -- latest hour, a reset) is scaled up from the seconds it measured; under 15 minutes known, no figure
    SELECT m.mine_code, m.area_code, m.meter_id, m.hour_start,
           m.energy_kwh::double precision * 3600.0 / (m.covered_s - m.unknown_s)::double precision AS kwh
      FROM core.meter_energy_hourly m
     WHERE m.energy_kwh IS NOT NULL AND m.covered_s - m.unknown_s >= 900
),
hours AS (
    SELECT h.mine_code, h.area_code, h.hour_start, sum(h.kwh) AS kwh,
           array_agg(h.meter_id ORDER BY h.meter_id) AS meters
      FROM meter_hours h
     GROUP BY h.mine_code, h.area_code, h.hour_start
),
base AS (
    -- the area's base load from its own history, capped for an area behind a seal
    SELECT h.mine_code, h.area_code, count(*) AS hours_known, max(h.hour_start) AS latest_hour,
           CASE WHEN c.kind IN ('sealed', 'goaf')
                THEN least(percentile_cont(core.power_base_percentile()) WITHIN GROUP (ORDER BY h.kwh),
                           core.power_sealed_base_cap())
                ELSE percentile_cont(core.power_base_percentile()) WITHIN GROUP (ORDER BY h.kwh) END AS base_kwh
      FROM hours h
      LEFT JOIN core.area_current c ON c.mine_code = h.mine_code AND c.area_code = h.area_code
     GROUP BY h.mine_code, h.area_code, c.kind
)
SELECT h.mine_code, h.area_code, h.hour_start, h.hour_start + interval '1 hour' AS hour_end, h.kwh, h.meters,
       b.base_kwh,
       greatest(core.power_base_factor() * b.base_kwh, b.base_kwh + core.power_margin_kwh()) AS limit_kwh,
       h.kwh > greatest(core.power_base_factor() * b.base_kwh, b.base_kwh + core.power_margin_kwh()) AS is_working,
       b.hours_known, h.hour_start = b.latest_hour AS is_latest,
       v.kind, v.is_declared_active, v.area_name, coalesce(v.is_quiet, false) AS is_quiet,
       -- roadways and shafts: their load follows the mine's work wherever it is (belts, hoists, fans)
       coalesce(v.kind IN ('roadway', 'shaft'), false) AS is_support
  FROM hours h
  JOIN base b ON b.mine_code = h.mine_code AND b.area_code = h.area_code
  LEFT JOIN core.area_version v
    ON v.mine_code = h.mine_code AND v.area_code = h.area_code AND h.hour_start >= v.from_at AND h.hour_start < v.to_at;
COMMENT ON VIEW core.area_power_hour IS
    'one row per area and hour with meter data: kWh drawn (scaled to the hour where measured in part), the area''s learned base load, the working-level limit and whether the hour is above it (is_working), the registry''s word on the area at that hour (is_quiet: nobody may work there; is_support: a roadway or shaft); is_latest: the area''s latest metered hour';

-- CARD_UNREAD, lock-step (one person carrying several cards): two cards that arrived at the same
-- station at the same second this many times, at this many stations, on one day, the shared arrivals
-- being at least this share of the arrivals of one of the two cards that day (a carried card goes
-- everywhere its carrier goes; co-workers meet at a few stations, not at all of them).
CREATE OR REPLACE FUNCTION core.lockstep_min_passes() RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 3 $fn$;
COMMENT ON FUNCTION core.lockstep_min_passes() IS
    'CARD_UNREAD lock-step: the least number of arrivals at one station at the same second two cards must share on a day';

CREATE OR REPLACE FUNCTION core.lockstep_min_stations() RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 2 $fn$;
COMMENT ON FUNCTION core.lockstep_min_stations() IS
    'CARD_UNREAD lock-step: at how many different stations the shared arrivals must be';

CREATE OR REPLACE FUNCTION core.lockstep_share() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 0.8::double precision $fn$;
COMMENT ON FUNCTION core.lockstep_share() IS
    'CARD_UNREAD lock-step: the shared arrivals must be at least this share of all the arrivals that day of one of the two cards';

-- ---- Monitoring gaps: SAFETY_FEED_GAP, POINT_SILENT, STATION_SILENT, METER_GAP -----------------

-- The safety feed's cadence is learned per mine from its own real-time data: the 95th percentile of the
-- time between its successive sample times (a percentile, so that the gaps themselves do not teach
-- that gaps are normal; 95th, so that a day with a few hiccups and gaps still learns the cycle). A
-- silence of the whole mine (SAFETY_FEED_GAP) or of one point while the mine speaks (POINT_SILENT)
-- counts when it lasts at least core.safety_gap_limit(cadence) = greatest(10 minutes, 5 cadences): an
-- upload hiccup of a few cycles is no finding.
CREATE OR REPLACE FUNCTION core.safety_cadence_percentile() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 0.95::double precision $fn$;
COMMENT ON FUNCTION core.safety_cadence_percentile() IS
    'SAFETY_FEED_GAP, POINT_SILENT: the percentile of the time between a mine''s successive sample times taken as its cadence';

CREATE OR REPLACE FUNCTION core.safety_gap_floor() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '10 minutes' $fn$;
COMMENT ON FUNCTION core.safety_gap_floor() IS
    'SAFETY_FEED_GAP, POINT_SILENT: no silence shorter than this is ever a finding, whatever the mine''s cadence';

CREATE OR REPLACE FUNCTION core.safety_gap_factor() RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 5.0::double precision $fn$;
COMMENT ON FUNCTION core.safety_gap_factor() IS
    'SAFETY_FEED_GAP, POINT_SILENT: how many learned cadences (core.safety_cadence_percentile() of the time between the mine''s sample times) a silence must last';

CREATE OR REPLACE FUNCTION core.safety_gap_limit(cadence interval) RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT greatest(core.safety_gap_floor(), coalesce(cadence, interval '0') * core.safety_gap_factor())
$fn$;
COMMENT ON FUNCTION core.safety_gap_limit(interval) IS
    'SAFETY_FEED_GAP, POINT_SILENT: the least silence that counts for a mine of this learned cadence';

CREATE OR REPLACE FUNCTION core.safety_feed_gap_critical() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '1 hour' $fn$;
COMMENT ON FUNCTION core.safety_feed_gap_critical() IS
    'SAFETY_FEED_GAP: a whole mine''s safety monitoring silent this long or longer is critical (severity 3), a shorter gap a warning';

-- The sample times of a mine's readings, found by walking the primary key (mine, sample time, point)
-- from one time to the next (a loose index scan: one index probe per sample time, not a pass over
-- every reading). Each probe also bounds the partitions it looks at, by the day after the previous
-- time, and only falls back to the open range across a silence longer than a day.
CREATE OR REPLACE VIEW core.safety_sample_time AS
WITH RECURSIVE mines AS (
    SELECT min(r.mine_code) AS mine_code FROM core.safety_reading r
    UNION ALL
    SELECT (SELECT min(r.mine_code) FROM core.safety_reading r WHERE r.mine_code > m.mine_code)
      FROM mines m WHERE m.mine_code IS NOT NULL
),
times AS (
    SELECT m.mine_code, (SELECT min(r.sampled_at) FROM core.safety_reading r WHERE r.mine_code = m.mine_code) AS sampled_at
      FROM mines m WHERE m.mine_code IS NOT NULL
    UNION ALL
    SELECT t.mine_code,
           coalesce((SELECT min(r.sampled_at) FROM core.safety_reading r
                      WHERE r.mine_code = t.mine_code AND r.sampled_at > t.sampled_at
                        AND r.sampled_at <= t.sampled_at + interval '1 day'),
                    (SELECT min(r.sampled_at) FROM core.safety_reading r
                      WHERE r.mine_code = t.mine_code AND r.sampled_at > t.sampled_at + interval '1 day'))
      FROM times t WHERE t.sampled_at IS NOT NULL
)
SELECT t.mine_code, t.sampled_at FROM times t WHERE t.sampled_at IS NOT NULL;
COMMENT ON VIEW core.safety_sample_time IS
    'one row per mine and sample time at which its safety real-time data (CDSS, AQSS, CSV) speak (found by index, one probe per time)';

CREATE OR REPLACE VIEW core.mine_data_clock AS
SELECT c.mine_code, max(c.at) AS clock_at
  FROM (-- header times of the real-time files (not of reference snapshots, nor of API inventories, whose
        -- time is when minewatch pulled them)
        SELECT f.mine_code, max(f.produced_at) AS at
          FROM ledger.file f
         WHERE f.status = 'loaded' AND f.mine_code IS NOT NULL AND f.produced_at IS NOT NULL
           AND f.kind IN ('CDSS', 'AQSS', 'FZSS', 'TJSJ', 'AQMT', 'AQKD', 'YCBJ', 'RYSS', 'JZSS')
         GROUP BY f.mine_code
        UNION ALL
        SELECT p.mine_code, p.clock_at FROM core.positioning_mine_clock p
        UNION ALL
        SELECT v.mine_code, max(v.event_at) FROM core.video_event v GROUP BY v.mine_code
        UNION ALL
        SELECT i.mine_code, max(i.interval_end) FROM core.meter_interval i GROUP BY i.mine_code) c
 GROUP BY c.mine_code;
COMMENT ON VIEW core.mine_data_clock IS
    'one row per mine: the latest data time of any of its feeds (header times of loaded real-time files, REST positions, video events, meter intervals): the data''s own "now", against which a silence still going on is measured (never the wall clock)';

-- POINT_CALIBRATION_EXCESS thresholds. Calibrating a sensor (标校: zero, span gas, adjust) takes minutes
-- (the sample's routine calibrations 8 to 15); while a point is marked calibrating its alarms and
-- power cut do not act. A spell longer than an hour, more than four spells on one day, or more than
-- two hours on one day is not what calibration needs.
CREATE OR REPLACE FUNCTION core.calibration_spell_limit() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '1 hour' $fn$;
COMMENT ON FUNCTION core.calibration_spell_limit() IS
    'POINT_CALIBRATION_EXCESS: a point marked calibrating longer than this in one spell';

CREATE OR REPLACE FUNCTION core.calibration_day_spells() RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 4 $fn$;
COMMENT ON FUNCTION core.calibration_day_spells() IS
    'POINT_CALIBRATION_EXCESS: more calibration spells than this begun on one China-local day';

CREATE OR REPLACE FUNCTION core.calibration_day_total() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '2 hours' $fn$;
COMMENT ON FUNCTION core.calibration_day_total() IS
    'POINT_CALIBRATION_EXCESS: more time calibrating than this in the spells begun on one China-local day';

-- STATION_SILENT, "reads no card while people are underground in its area": cards underground that the
-- RYSS snapshots still list at a base station, unread, while the station reads no card at all.
CREATE OR REPLACE FUNCTION core.station_unread_limit() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '30 minutes' $fn$;
COMMENT ON FUNCTION core.station_unread_limit() IS
    'STATION_SILENT: a base station that read no card this long while cards underground were placed at it (the CARD_UNREAD limit)';

CREATE OR REPLACE FUNCTION core.station_unread_min_cards() RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 2 $fn$;
COMMENT ON FUNCTION core.station_unread_min_cards() IS
    'STATION_SILENT: how many different cards must be placed unread at a silent station (one card unread is more likely the card than the station: CARD_UNREAD)';

-- METER_GAP: every missing reading is a gap (contract E.2); gaps shorter than an hour (up to three
-- 15-minute readings) are information, longer ones warnings.
CREATE OR REPLACE FUNCTION core.meter_gap_warning() RETURNS interval
LANGUAGE sql IMMUTABLE AS $fn$ SELECT interval '1 hour' $fn$;
COMMENT ON FUNCTION core.meter_gap_warning() IS
    'METER_GAP: a gap in a meter''s readings this long or longer is a warning (severity 2); a shorter one information (severity 1)';

-- UNREGISTERED_AREA: the registry's knowledge of an area over time. The first version of an area also
-- holds before it (the registry arrives later than the data it describes), and an area dropped from
-- the registry is unknown from its removal on.
CREATE OR REPLACE VIEW core.registry_area_known AS
SELECT a.mine_code, a.area_code,
       CASE WHEN bool_or(a.valid_to IS NULL) THEN 'infinity'::timestamptz ELSE max(a.valid_to) END AS known_until,
       min(a.valid_from) AS first_listed_at,
       (array_agg(a.kind ORDER BY a.valid_from DESC))[1] AS kind
  FROM core.area a
 GROUP BY a.mine_code, a.area_code;
COMMENT ON VIEW core.registry_area_known IS
    'one row per area the registry ever listed: known from always until known_until (infinity while listed; the removal time once dropped)';
