-- POWER_BEHIND_SEAL (contract G.1): a meter feeding an area where nobody may work — sealed, goaf, or a
-- working face or heading the mine has not declared active (registry/areas.csv at that hour) — drew
-- working-level energy: more than greatest(2 x the area's base load, base + 30 kWh) in each of at
-- least 2 hours in a row (core.area_power_hour; thresholds core.power_* in detection.sql). The base
-- load is learned per area (10th percentile of its hourly energy), never above 30 kWh an hour for a
-- sealed or goaf area. Roadways and shafts are never subjects: their load is base load by definition.
-- One finding per area and run of such hours, from the first hour's start to the last one's end;
-- open (ended_at NULL) while the run reaches the area's latest metered hour.
-- Severity 3 behind a seal or in a goaf (no work is possible there lawfully); 2 for an undeclared
-- face or heading (equipment may be installed before a face is declared).
WITH hours AS (
    SELECT h.*,
           h.hour_start - (row_number() OVER (PARTITION BY h.mine_code, h.area_code ORDER BY h.hour_start))
                          * interval '1 hour' AS island
      FROM core.area_power_hour h
     WHERE h.is_quiet AND h.is_working
),
runs AS (
    SELECT h.mine_code, h.area_code, min(h.hour_start) AS started_at, max(h.hour_end) AS last_hour_end,
           bool_or(h.is_latest) AS goes_on, count(*) AS hours,
           (array_agg(h.kind ORDER BY h.hour_start DESC))[1] AS kind,
           bool_or(h.is_declared_active) AS declared,
           (array_agg(h.area_name ORDER BY h.hour_start DESC))[1] AS area_name,
           sum(h.kwh) AS kwh, sum(h.kwh - h.base_kwh) AS above_base_kwh, max(h.kwh) AS peak_kwh,
           max(h.base_kwh) AS base_kwh, max(h.limit_kwh) AS limit_kwh
      FROM hours h
     GROUP BY h.mine_code, h.area_code, h.island
    HAVING count(*) >= core.power_min_hours()
)
SELECT r.mine_code,
       'POWER_BEHIND_SEAL'::text AS flag_code,
       'area'::text AS subject_kind,
       r.area_code AS subject_code,
       r.area_code,
       r.started_at,
       CASE WHEN r.goes_on THEN NULL ELSE r.last_hour_end END AS ended_at,
       CASE WHEN r.kind IN ('sealed', 'goaf') THEN 3 ELSE 2 END::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', CASE WHEN r.kind IN ('sealed', 'goaf')
                       THEN format('a meter feeding an area the registry lists as %s drew working-level energy', r.kind)
                       ELSE format('a meter feeding a %s the mine has not declared active drew working-level energy',
                                   replace(r.kind, '_', ' ')) END,
           'area name', r.area_name,
           'registry kind', r.kind,
           'hours', r.hours,
           'energy (kWh)', round(r.kwh::numeric, 1),
           'energy above base load (kWh)', round(r.above_base_kwh::numeric, 1),
           'peak hour (kWh)', round(r.peak_kwh::numeric, 1),
           'base load (kWh per hour)', round(r.base_kwh::numeric, 1),
           'working level from (kWh per hour)', round(r.limit_kwh::numeric, 1),
           'meters', (SELECT jsonb_agg(DISTINCT v.meter_id) FROM core.meter_version v
                       WHERE v.mine_code = r.mine_code AND v.area_code = r.area_code
                         AND v.effective_from < r.last_hour_end AND v.effective_to > r.started_at))) AS evidence
  FROM runs r
