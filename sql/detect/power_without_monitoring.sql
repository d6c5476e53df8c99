-- POWER_WITHOUT_MONITORING (contract G.1): an area drew working-level energy (above
-- greatest(2 x its base load, base + 30 kWh) in the hour, core.area_power_hour) while one of its
-- safety points was blind for at least core.power_blind_part() (30 minutes) of that same hour, in at
-- least core.power_min_hours() (2) hours in a row. Blind: silent (no reading, or a reading flagged
-- fault), switched off in the monitoring software (POINT_MASKED territory), or inside a POINT_FLATLINE
-- run. A measured reading speaks for its point until the next reading, at most 15 minutes (the
-- silence that also breaks a flatline run); a short upload hiccup or a routine calibration never
-- adds up to half an hour. Flat runs are read from this run's POINT_FLATLINE findings in core.flag:
-- point_flatline.sql runs before this file (rules run in file-name order in one transaction; a test
-- holds that order), so they are this run's, not last run's.
-- Which areas: working places, not roadways and shafts (their load follows the mine's work wherever it
-- is). Which points: every point the safety system places in the area now (core.safety_point_current).
-- One finding per area and run of such hours; open while the run reaches the area's latest metered
-- hour. Severity 3 where a methane point was blind or the area is one where nobody may work (sealed,
-- goaf, undeclared face or heading); else 2.
WITH working AS MATERIALIZED (
    -- the hours each working place (not a roadway or shaft) drew working-level energy
    SELECT h.* FROM core.area_power_hour h WHERE h.is_working AND NOT h.is_support
),
points AS MATERIALIZED (
    -- the safety points of those areas
    SELECT p.mine_code, p.point_code, p.area_code, p.sensor_type
      FROM core.safety_point_current p
     WHERE EXISTS (SELECT 1 FROM working w WHERE w.mine_code = p.mine_code AND w.area_code = p.area_code)
),
mine_hours AS MATERIALIZED (
    -- each hour of a mine in which some area worked
    SELECT DISTINCT w.mine_code, w.hour_start, w.hour_end FROM working w
),
point_hours AS MATERIALIZED (
    -- per point of a working area and hour, from the mine's readings of the hour (and the 15 minutes
    -- before, which may speak into it; readings are keyed by time first: one index range per
    -- mine-hour): a measured reading speaks until the point's next reading, at most 15 minutes and the
    -- hour's end
    SELECT h.mine_code, h.hour_start, m.point_code, m.measured_s, m.readings, m.off_readings, m.fault_readings
      FROM mine_hours h
     CROSS JOIN LATERAL (
        SELECT r.point_code,
               coalesce(sum(extract(epoch FROM r.speaks_until - greatest(r.sampled_at, h.hour_start)))
                            FILTER (WHERE r.is_measured AND r.speaks_until > h.hour_start), 0) AS measured_s,
               count(*) FILTER (WHERE r.sampled_at >= h.hour_start) AS readings,
               count(*) FILTER (WHERE r.sampled_at >= h.hour_start AND r.conditions & 64 <> 0) AS off_readings,
               count(*) FILTER (WHERE r.sampled_at >= h.hour_start AND r.conditions & 8 <> 0) AS fault_readings
          FROM (SELECT x.point_code, x.sampled_at, coalesce(x.conditions, 0) AS conditions,
                       x.value IS NOT NULL AND coalesce(x.conditions, 0) & (8 | 64) = 0 AS is_measured,
                       least(lead(x.sampled_at) OVER (PARTITION BY x.point_code ORDER BY x.sampled_at),
                             x.sampled_at + interval '15 minutes', h.hour_end) AS speaks_until
                  FROM core.safety_reading x
                  JOIN (SELECT DISTINCT p.point_code FROM points p
                          JOIN working w ON w.mine_code = p.mine_code AND w.area_code = p.area_code
                         WHERE p.mine_code = h.mine_code AND w.hour_start = h.hour_start) q ON q.point_code = x.point_code
                 WHERE x.mine_code = h.mine_code
                   AND x.sampled_at >= h.hour_start - interval '15 minutes' AND x.sampled_at < h.hour_end) r
         GROUP BY r.point_code
     ) m
),
blind AS (
    -- every point of every working hour: how long it said nothing measured, or said one value flat
    SELECT w.mine_code, w.area_code, w.hour_start, p.point_code, p.sensor_type,
           3600 - coalesce(m.measured_s, 0) AS unmeasured_s, coalesce(m.readings, 0) AS readings,
           coalesce(m.off_readings, 0) AS off_readings, coalesce(m.fault_readings, 0) AS fault_readings,
           coalesce((SELECT sum(extract(epoch FROM least(coalesce(f.ended_at, 'infinity'::timestamptz), w.hour_end)
                                                   - greatest(f.started_at, w.hour_start)))
                       FROM core.flag f
                      WHERE f.mine_code = w.mine_code AND f.flag_code = 'POINT_FLATLINE' AND f.subject_kind = 'point'
                        AND f.subject_code = p.point_code
                        AND f.started_at < w.hour_end AND coalesce(f.ended_at, 'infinity'::timestamptz) > w.hour_start), 0)
               AS flat_s
      FROM working w
      JOIN points p ON p.mine_code = w.mine_code AND p.area_code = w.area_code
      LEFT JOIN point_hours m ON m.mine_code = w.mine_code AND m.hour_start = w.hour_start AND m.point_code = p.point_code
),
blind_hours AS (
    -- the working hours in which at least one point was blind long enough
    SELECT b.mine_code, b.area_code, b.hour_start,
           array_agg(b.point_code ORDER BY b.point_code) AS points,
           array_agg(DISTINCT CASE WHEN b.off_readings > 0 THEN 'switched off'
                                   WHEN b.fault_readings > 0 THEN 'fault'
                                   WHEN b.flat_s >= b.unmeasured_s THEN 'flat'
                                   ELSE 'silent' END) AS how,
           bool_or(b.sensor_type = '0001') AS methane
      FROM blind b
     WHERE least(b.unmeasured_s + b.flat_s, 3600) >= extract(epoch FROM core.power_blind_part())
     GROUP BY b.mine_code, b.area_code, b.hour_start
),
hours AS (
    SELECT w.*, b.points, b.how, b.methane,
           w.hour_start - (row_number() OVER (PARTITION BY w.mine_code, w.area_code ORDER BY w.hour_start))
                          * interval '1 hour' AS island
      FROM working w
      JOIN blind_hours b ON b.mine_code = w.mine_code AND b.area_code = w.area_code AND b.hour_start = w.hour_start
),
runs AS (
    SELECT h.mine_code, h.area_code, min(h.hour_start) AS started_at, max(h.hour_end) AS last_hour_end,
           bool_or(h.is_latest) AS goes_on, count(*) AS hours, bool_or(h.is_quiet) AS quiet, bool_or(h.methane) AS methane,
           (array_agg(h.kind ORDER BY h.hour_start DESC))[1] AS kind,
           (array_agg(h.area_name ORDER BY h.hour_start DESC))[1] AS area_name,
           sum(h.kwh) AS kwh, max(h.base_kwh) AS base_kwh, max(h.limit_kwh) AS limit_kwh,
           string_agg(array_to_string(h.points, ','), ',') AS point_list,
           string_agg(array_to_string(h.how, ','), ',') AS how_list
      FROM hours h
     GROUP BY h.mine_code, h.area_code, h.island
    HAVING count(*) >= core.power_min_hours()
)
SELECT r.mine_code,
       'POWER_WITHOUT_MONITORING'::text AS flag_code,
       'area'::text AS subject_kind,
       r.area_code AS subject_code,
       r.area_code,
       r.started_at,
       CASE WHEN r.goes_on THEN NULL ELSE r.last_hour_end END AS ended_at,
       CASE WHEN r.quiet OR r.methane THEN 3 ELSE 2 END::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', 'the area drew working-level energy while its safety points were silent, switched off or flat',
           'area name', r.area_name,
           'registry kind', r.kind,
           'hours', r.hours,
           'energy (kWh)', round(r.kwh::numeric, 1),
           'base load (kWh per hour)', round(r.base_kwh::numeric, 1),
           'working level from (kWh per hour)', round(r.limit_kwh::numeric, 1),
           'blind points', (SELECT jsonb_agg(DISTINCT x ORDER BY x) FROM unnest(string_to_array(r.point_list, ',')) AS x),
           'how they were blind', (SELECT jsonb_agg(DISTINCT x ORDER BY x) FROM unnest(string_to_array(r.how_list, ',')) AS x),
           'a methane point was blind', r.methane)) AS evidence
  FROM runs r
