-- POINT_MASKED (contract G.1): a safety point switched off in the monitoring software —
-- national status bits 32 (not polled) or 64 (paused), provincial bit 64 (masked) — which the
-- load path maps to the named condition switched_off (mask 64 in core.safety_reading.conditions).
-- One finding per unbroken run of switched-off readings; still open (ended_at NULL) while the
-- point's latest reading is switched off.
WITH masked_points AS (
    -- the points that ever reported switched off: only their readings are looked at
    SELECT DISTINCT mine_code, point_code FROM core.safety_reading WHERE conditions & 64 <> 0
),
readings AS (
    -- their readings in time order, marked switched off or not
    SELECT r.mine_code, r.point_code, r.sampled_at, (r.conditions & 64 <> 0) AS is_off
      FROM core.safety_reading r
      JOIN masked_points m USING (mine_code, point_code)
),
runs AS (
    -- a run is the readings between two changes of state
    SELECT *, row_number() OVER (PARTITION BY mine_code, point_code ORDER BY sampled_at)
            - row_number() OVER (PARTITION BY mine_code, point_code, is_off ORDER BY sampled_at) AS run_id,
           max(sampled_at) OVER (PARTITION BY mine_code, point_code) AS latest_at
      FROM readings
),
off_runs AS (
    -- the switched-off runs, with their length
    SELECT mine_code, point_code, min(sampled_at) AS started_at, max(sampled_at) AS last_off_at,
           max(latest_at) AS latest_at, count(*) AS readings
      FROM runs WHERE is_off GROUP BY mine_code, point_code, run_id
)
SELECT o.mine_code,
       'POINT_MASKED'::text AS flag_code,
       'point'::text AS subject_kind,
       o.point_code AS subject_code,
       coalesce(p.area_code, pp.area_code) AS area_code,
       o.started_at,
       CASE WHEN o.last_off_at = o.latest_at THEN NULL ELSE o.last_off_at END AS ended_at,
       2::smallint AS severity,
       jsonb_build_object(
           'why', 'the monitoring software reports the point switched off (not polled, paused or masked)',
           'switched-off readings', o.readings,
           'last switched-off reading', o.last_off_at,
           'area source', coalesce(p.area_source, CASE WHEN pp.area_code IS NOT NULL THEN 'registry' END)) AS evidence
  FROM off_runs o
  LEFT JOIN core.safety_point_current p USING (mine_code, point_code)      -- a defined point's area
  LEFT JOIN core.point_placement_current pp USING (mine_code, point_code)  -- else where the regulator placed it
