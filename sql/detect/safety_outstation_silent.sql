-- STATION_SILENT (contract G.1), safety monitoring outstations (分站): an outstation that reports its
-- communication interrupted or a fault (FZSS run_status 1 or 2), so the points wired to it measure
-- nothing the platform can trust. Reads core.safety_outstation_state_interval (one row per run of FZSS
-- reports in the same run and power status). One finding per outstation and unbroken spell of such
-- reports (a power change inside it does not split it); open while its latest report says so. Its
-- area is that of the points wired to it (their common area; the most frequent one when they differ).
-- A warning, as for positioning base stations (positioning_station_silent.sql).
WITH silent_runs AS (
    -- the runs of reports that say interrupted or fault
    SELECT i.*, core.positioning_run_state(i.run_status) AS run_state,
           core.positioning_power_state(i.power_status) AS power_state
      FROM core.safety_outstation_state_interval i
     WHERE i.run_status IN (1, 2)
),
per_start AS (
    -- runs that follow one another without a report in another run state are one spell
    SELECT s.*,
           sum(CASE WHEN s.started_at = s.previous_end THEN 0 ELSE 1 END)
               OVER (PARTITION BY s.mine_code, s.outstation_code ORDER BY s.started_at) AS spell
      FROM (SELECT r.*, lag(r.ended_at) OVER (PARTITION BY r.mine_code, r.outstation_code ORDER BY r.started_at) AS previous_end
              FROM silent_runs r) s
),
spells AS (
    SELECT p.mine_code, p.outstation_code, min(p.started_at) AS started_at,
           CASE WHEN bool_or(p.ended_at IS NULL) THEN NULL ELSE max(p.ended_at) END AS ended_at,
           max(p.last_seen_at) AS last_report_at, sum(p.reports) AS reports,
           array_agg(DISTINCT p.run_state ORDER BY p.run_state) AS states,
           array_agg(DISTINCT p.power_state ORDER BY p.power_state) AS power
      FROM per_start p
     GROUP BY p.mine_code, p.outstation_code, p.spell
),
wired AS (
    -- the points wired to each outstation now, and where they hang
    SELECT p.mine_code, p.outstation_code, count(*) AS points,
           mode() WITHIN GROUP (ORDER BY p.area_code) AS area_code,
           count(DISTINCT p.area_code) AS areas
      FROM core.safety_point_current p
     WHERE p.outstation_code IS NOT NULL
     GROUP BY p.mine_code, p.outstation_code
)
SELECT s.mine_code,
       'STATION_SILENT'::text AS flag_code,
       'station'::text AS subject_kind,
       s.outstation_code AS subject_code,
       w.area_code,
       s.started_at,
       s.ended_at,
       2::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', 'the safety monitoring outstation reports its communication ' ||
                  CASE WHEN s.states = ARRAY['interrupted'] THEN 'interrupted'
                       WHEN s.states = ARRAY['fault'] THEN 'at fault' ELSE 'interrupted or at fault' END
                  || ': the points wired to it are not watching',
           'station kind', 'safety monitoring outstation (FZSS)',
           'states', s.states,
           'power', s.power,
           'reports', s.reports,
           'last such report', s.last_report_at,
           'minutes', CASE WHEN s.ended_at IS NOT NULL THEN round((extract(epoch FROM s.ended_at - s.started_at) / 60)::numeric, 1) END,
           'points wired to it', w.points,
           'areas of its points', CASE WHEN w.areas > 1 THEN w.areas END,
           'outstation location', o.location)) AS evidence
  FROM spells s
  LEFT JOIN wired w ON w.mine_code = s.mine_code AND w.outstation_code = s.outstation_code
  LEFT JOIN core.safety_outstation_current o ON o.mine_code = s.mine_code AND o.outstation_code = s.outstation_code
