-- STATION_SILENT (contract G.1), positioning base stations: a station that reports its
-- communication interrupted or a fault (JZSS run_status 1 or 2). Reads the state intervals of
-- core.positioning_station_interval (one per run of reports in the same state). One finding per
-- station and run; still open (ended_at NULL) while its latest report is in that state.
-- (Safety outstations, FZSS, and "reads no card while people are underground in its area" are
-- other parts of this code.)
WITH silent_runs AS (
    -- the runs of reports that say interrupted or fault
    SELECT i.* FROM core.positioning_station_interval i WHERE i.run_state IN ('interrupted', 'fault')
),
per_start AS (
    -- a fault and an interruption cannot begin together (one state per report), but a power
    -- change inside one run of silence splits it: those pieces are one finding
    SELECT s.*,
           sum(CASE WHEN s.started_at = s.previous_end THEN 0 ELSE 1 END)
               OVER (PARTITION BY s.mine_code, s.station_code ORDER BY s.started_at) AS spell
      FROM (SELECT r.*, lag(r.ended_at) OVER (PARTITION BY r.mine_code, r.station_code ORDER BY r.started_at) AS previous_end
              FROM silent_runs r) s
),
spells AS (
    SELECT p.mine_code, p.station_code, max(p.area_code) AS area_code, min(p.started_at) AS started_at,
           CASE WHEN bool_or(p.ended_at IS NULL) THEN NULL ELSE max(p.ended_at) END AS ended_at,
           max(p.last_report_at) AS last_report_at, sum(p.reports) AS reports,
           array_agg(DISTINCT p.run_state ORDER BY p.run_state) AS states,
           array_agg(DISTINCT p.power_state ORDER BY p.power_state) AS power,
           min(p.file_id) AS file_id, min(p.record_no) AS record_no
      FROM per_start p
     GROUP BY p.mine_code, p.station_code, p.spell
)
SELECT s.mine_code,
       'STATION_SILENT'::text AS flag_code,
       'station'::text AS subject_kind,
       s.station_code AS subject_code,
       s.area_code,
       s.started_at,
       s.ended_at,
       2::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', 'the positioning base station reports its communication ' ||
                  CASE WHEN s.states = ARRAY['interrupted'] THEN 'interrupted'
                       WHEN s.states = ARRAY['fault'] THEN 'at fault' ELSE 'interrupted or at fault' END,
           'states', s.states,
           'power', s.power,
           'reports', s.reports,
           'last such report', s.last_report_at,
           'first report file id', s.file_id,
           'record', s.record_no)) AS evidence
  FROM spells s
