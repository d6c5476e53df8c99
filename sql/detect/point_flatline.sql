-- POINT_FLATLINE (contract G.1): an analog point repeats one exact value far longer than a
-- working sensor of its type does in this mine. "Far longer" is learned, not fixed: the run must
-- outlast greatest(core.flatline_floor(), core.flatline_factor() * normal), where normal is the
-- 99th percentile of the run lengths of the analog points of the same sensor type in the mine (up
-- to 12 of them over the mine's latest day: core.sensor_type_normal_run). One finding per run; open (ended_at NULL) while the run still
-- holds the point's latest reading, and a new value closes it at the run's last reading.
-- Constancy alone does not prove shielding (a 0.1 %-resolution methane sensor in an idle face can
-- sit on one value for hours): severity 2; the concealed-works rules weigh it against energy.
WITH candidates AS MATERIALIZED (
    -- only runs past the floor can be findings, none at the bottom of the range
    -- (core.safety_point_long_runs screens for them by time bucket, then reads only those stretches)
    SELECT r.*, p.sensor_type, p.unit, p.area_code, p.area_source
      FROM core.safety_point_long_runs() r
      JOIN core.safety_point_current p ON p.mine_code = r.mine_code AND p.point_code = r.point_code
),
limits AS MATERIALIZED (
    -- the learned normal of the candidates' mines and sensor types (core.sensor_type_normal_run), and the limit
    SELECT n.mine_code, n.sensor_type, n.normal_run, n.runs,
           greatest(core.flatline_floor(), n.normal_run * core.flatline_factor()) AS flat_limit
      FROM core.sensor_type_normal_runs(ARRAY(SELECT DISTINCT c.mine_code || ' ' || c.sensor_type FROM candidates c)) n
)
SELECT r.mine_code,
       'POINT_FLATLINE'::text AS flag_code,
       'point'::text AS subject_kind,
       r.point_code AS subject_code,
       r.area_code,
       r.started_at,
       CASE WHEN r.is_latest THEN NULL ELSE r.last_at END AS ended_at,
       2::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', 'the point repeated one exact value for ' || to_char(r.lasted, 'HH24"h"MI"m"')
                  || ', longer than a working ' || coalesce(r.sensor_type, '?') || ' sensor of this mine does',
           'value', r.value,
           'unit', r.unit,
           'sensor type', r.sensor_type,
           'run length (minutes)', round((extract(epoch FROM r.lasted) / 60)::numeric, 1),
           'readings in the run', r.readings,
           'learned normal run (minutes)', round((extract(epoch FROM l.normal_run) / 60)::numeric, 1),
           'runs learned from', l.runs,
           'limit (minutes)', round((extract(epoch FROM l.flat_limit) / 60)::numeric, 1),
           'last reading of the run', r.last_at,
           'area source', r.area_source)) AS evidence
  FROM candidates r
  JOIN limits l ON l.mine_code = r.mine_code AND l.sensor_type IS NOT DISTINCT FROM r.sensor_type
 WHERE r.lasted > l.flat_limit
