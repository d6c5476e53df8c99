-- Safety monitoring as it stands now, for detection and analysts.

CREATE OR REPLACE VIEW core.safety_point_current AS
WITH defined AS (
    -- the current definition of every point (the newest if two kinds of file define it)
    SELECT DISTINCT ON (d.mine_code, d.point_code) d.*
      FROM core.safety_point_definition d
     WHERE d.valid_to IS NULL
     ORDER BY d.mine_code, d.point_code, d.valid_from DESC, d.source_kind
),
csv_area AS (
    -- the area the latest CSV file gave for the point (B.3 rows carry one)
    SELECT DISTINCT ON (a.mine_code, a.point_code) a.mine_code, a.point_code, a.area_code
      FROM core.safety_point_area a
     WHERE a.area_code IS NOT NULL
     ORDER BY a.mine_code, a.point_code, a.last_sampled_at DESC, a.file_id DESC
)
SELECT d.mine_code,
       d.point_code,
       d.source_kind,
       d.dialect,
       d.system_code,
       d.value_type,
       d.sensor_type,
       d.sensor_known,
       d.unit,
       d.outstation_code,
       d.location,
       d.range_low, d.range_high,
       d.alarm_high, d.alarm_high_clear, d.alarm_low, d.alarm_low_clear,
       d.cutoff_high, d.restore_high, d.cutoff_low, d.restore_low,
       d.label_0, d.label_1,
       d.relations,
       -- where the point hangs: the provincial definition wins, else the regulator's placement
       -- (registry/points.csv), else the CSV rows; NULL = unknown area, itself a finding
       coalesce(d.area_code, p.area_code, c.area_code) AS area_code,
       CASE WHEN d.area_code IS NOT NULL THEN 'definition'
            WHEN p.area_code IS NOT NULL THEN 'registry'
            WHEN c.area_code IS NOT NULL THEN 'csv' END AS area_source,
       d.area_code AS defined_area_code,
       p.area_code AS registry_area_code,
       c.area_code AS csv_area_code,
       -- the vendor's files place the point elsewhere than the regulator verified: it "moved"
       coalesce(coalesce(d.area_code, c.area_code) <> p.area_code, false) AS area_disagrees,
       d.valid_from,
       d.file_id,
       d.record_no
  FROM defined d
  LEFT JOIN core.point_placement_current p ON p.mine_code = d.mine_code AND p.point_code = d.point_code
  LEFT JOIN csv_area c ON c.mine_code = d.mine_code AND c.point_code = d.point_code;
COMMENT ON VIEW core.safety_point_current IS
    'one row per currently defined safety point, with its area (area_source: definition, registry, csv or NULL) and whether the files disagree with the registry';

CREATE OR REPLACE VIEW core.safety_outstation_current AS
SELECT o.mine_code, o.outstation_code, o.location, o.x, o.y, o.z, o.defined_at, o.valid_from, o.file_id, o.record_no,
       s.observed_at AS last_observed_at, s.run_status, s.power_status
  FROM core.safety_outstation o
  LEFT JOIN LATERAL (
        SELECT st.observed_at, st.run_status, st.power_status
          FROM core.safety_outstation_state st
         WHERE st.mine_code = o.mine_code AND st.outstation_code = o.outstation_code
         ORDER BY st.observed_at DESC LIMIT 1) s ON true
 WHERE o.valid_to IS NULL;
COMMENT ON VIEW core.safety_outstation_current IS
    'one row per currently defined outstation (FZDY) with its latest reported state (FZSS)';

CREATE OR REPLACE VIEW core.safety_outstation_state_interval AS
WITH reports AS (
    -- each report, marked where the outstation's run or power status differs from its previous report
    SELECT s.mine_code, s.outstation_code, s.observed_at, s.run_status, s.power_status,
           CASE WHEN (s.run_status, s.power_status) IS NOT DISTINCT FROM
                     (lag(s.run_status) OVER w, lag(s.power_status) OVER w)
                 AND lag(s.observed_at) OVER w IS NOT NULL THEN 0 ELSE 1 END AS is_change
      FROM core.safety_outstation_state s
    WINDOW w AS (PARTITION BY s.mine_code, s.outstation_code ORDER BY s.observed_at)
),
runs AS (
    -- consecutive reports of the same state share a run number
    SELECT r.*, sum(r.is_change) OVER (PARTITION BY r.mine_code, r.outstation_code ORDER BY r.observed_at) AS run_no
      FROM reports r
),
intervals AS (
    SELECT mine_code, outstation_code, run_no, min(run_status) AS run_status, min(power_status) AS power_status,
           min(observed_at) AS started_at, max(observed_at) AS last_seen_at, count(*) AS reports
      FROM runs GROUP BY mine_code, outstation_code, run_no
)
SELECT i.mine_code, i.outstation_code, i.run_status, i.power_status, i.started_at,
       lead(i.started_at) OVER (PARTITION BY i.mine_code, i.outstation_code ORDER BY i.started_at) AS ended_at,
       i.last_seen_at, i.reports
  FROM intervals i;
COMMENT ON VIEW core.safety_outstation_state_interval IS
    'one row per outstation per run of unchanged run and power status (FZSS): from its first report until the next state''s first report (ended_at NULL while current)';
