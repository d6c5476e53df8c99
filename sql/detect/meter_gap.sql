-- METER_GAP (contract G.1): a meter's readings missing. Contract E.2: a missing 15-minute register
-- reading is a gap, and the energy over it is known only as a total; ESPI: missing intervals. Read
-- from core.meter_interval (rebuilt from the readings at every merge):
--   * a register interval of quality gap_total (its readings lie 1.5 steps apart or more);
--   * a hole between two intervals of the meter (ESPI interval readings missing);
--   * the meter's readings stopped while its mine's meter data go on (a meter the registry still
--     lists): open, from its last reading, until a reading comes.
-- A reset (the register went down: a meter replaced or reset) is no gap. The step is the meter's
-- usual interval (median of its measured intervals; 15 minutes when none). One finding per gap, from
-- the last reading before it. Information when it is shorter than core.meter_gap_warning() (1 hour,
-- up to three 15-minute readings), a warning from then on. An open gap reported earlier that the data
-- no longer show (the readings came late) is withdrawn: closed at the next reading, information.
WITH intervals AS (
    -- every interval of every meter, with the next one's start
    SELECT i.mine_code, i.meter_id, i.interval_start, i.interval_end, i.quality, i.source, i.energy_kwh,
           lead(i.interval_start) OVER (PARTITION BY i.mine_code, i.meter_id ORDER BY i.interval_start) AS next_start
      FROM core.meter_interval i
),
steps AS (
    -- each meter's usual interval
    SELECT i.mine_code, i.meter_id,
           coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY i.interval_end - i.interval_start)
                        FILTER (WHERE i.quality = 'measured'), interval '15 minutes') AS step
      FROM core.meter_interval i
     GROUP BY i.mine_code, i.meter_id
),
clock AS (
    -- the latest meter data of each mine
    SELECT i.mine_code, max(i.interval_end) AS clock_at FROM core.meter_interval i GROUP BY i.mine_code
),
gaps AS (
    SELECT i.mine_code, i.meter_id, i.interval_start AS started_at, i.interval_end AS ended_at, i.source, -1 AS ends_counted,
           'the readings between these two register readings are missing; the energy over the gap is known only as its total' AS why,
           i.energy_kwh AS energy_over_gap, s.step
      FROM intervals i JOIN steps s USING (mine_code, meter_id)
     WHERE i.quality = 'gap_total'
    UNION ALL
    SELECT i.mine_code, i.meter_id, i.interval_end, i.next_start, i.source, 0,
           'no interval reading came for this time', NULL::numeric, s.step
      FROM intervals i JOIN steps s USING (mine_code, meter_id)
     WHERE i.next_start - i.interval_end >= s.step / 2
    UNION ALL
    SELECT i.mine_code, i.meter_id, i.interval_end, NULL, i.source, 0,
           'the meter''s readings stopped while the mine''s other meters went on', NULL::numeric, s.step
      FROM intervals i JOIN steps s USING (mine_code, meter_id) JOIN clock c USING (mine_code)
     WHERE i.next_start IS NULL AND c.clock_at - i.interval_end >= s.step
       AND EXISTS (SELECT 1 FROM core.meter_current m WHERE m.mine_code = i.mine_code AND m.meter_id = i.meter_id)
),
measured AS (
    SELECT g.*, coalesce(g.ended_at, c.clock_at) - g.started_at AS lasted, c.clock_at
      FROM gaps g JOIN clock c USING (mine_code)
),
found AS (
    SELECT g.mine_code,
           g.meter_id,
           v.area_code,
           g.started_at,
           g.ended_at,
           (CASE WHEN g.lasted >= core.meter_gap_warning() THEN 2 ELSE 1 END)::smallint AS severity,
           jsonb_strip_nulls(jsonb_build_object(
               'why', g.why,
               'last reading before', g.started_at,
               'next reading', g.ended_at,
               'minutes', round((extract(epoch FROM g.lasted) / 60)::numeric, 1),
               'so far, to the mine''s latest meter data', CASE WHEN g.ended_at IS NULL THEN g.clock_at END,
               -- a register gap spans the readings on both sides (one step fewer missing); an open gap so far
               'readings missing', CASE WHEN g.ended_at IS NULL THEN floor(extract(epoch FROM g.lasted) / extract(epoch FROM g.step))
                                        ELSE greatest(round(extract(epoch FROM g.lasted) / extract(epoch FROM g.step)) + g.ends_counted, 1) END,
               'energy over the gap kWh', round(g.energy_over_gap, 3),
               'source', CASE g.source WHEN 'espi' THEN 'Green Button (ESPI)' ELSE 'register readings (E.2)' END,
               'step minutes', round((extract(epoch FROM g.step) / 60)::numeric, 1))) AS evidence
      FROM measured g
      LEFT JOIN core.meter_version v
        ON v.mine_code = g.mine_code AND v.meter_id = g.meter_id
       AND g.started_at >= v.effective_from AND g.started_at < v.effective_to
),
withdrawn AS (
    -- open gaps reported earlier that the readings now fill: closed at the next reading
    SELECT f.mine_code, f.subject_code AS meter_id, f.area_code, f.started_at,
           coalesce(n.interval_end, f.started_at) AS ended_at, 1::smallint AS severity,
           jsonb_build_object(
               'why', 'withdrawn: the meter''s readings for this time came after the gap was reported open; none is missing',
               'reported as', f.evidence->>'why',
               'next reading', n.interval_end) AS evidence
      FROM core.flag f
      LEFT JOIN LATERAL (SELECT i.interval_end FROM core.meter_interval i
                          WHERE i.mine_code = f.mine_code AND i.meter_id = f.subject_code AND i.interval_start >= f.started_at
                          ORDER BY i.interval_start LIMIT 1) n ON true
     WHERE f.flag_code = 'METER_GAP' AND f.ended_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM found x
                        WHERE x.mine_code = f.mine_code AND x.meter_id = f.subject_code AND x.started_at = f.started_at)
)
SELECT x.mine_code,
       'METER_GAP'::text AS flag_code,
       'meter'::text AS subject_kind,
       x.meter_id AS subject_code,
       x.area_code,
       x.started_at,
       x.ended_at,
       x.severity,
       x.evidence
  FROM (SELECT * FROM found UNION ALL SELECT * FROM withdrawn) x
