-- POINT_SILENT (contract G.1): a defined safety point (core.safety_point_current) that gives no
-- measurement while its mine's real-time data go on: absent from the mine's sample times, or reporting
-- a fault (national bits 16 outstation fault and 128 sensor fault, provincial bit 8: the named
-- condition fault, mask 8). One finding per unbroken run of the mine's sample times without a
-- measurement of the point lasting at least core.safety_gap_limit(cadence) = greatest(10 minutes,
-- 5 cadences) (the limit of SAFETY_FEED_GAP: a fault blip or a missed cycle is no finding). A run is
-- cut where the whole mine fell silent that long: that is SAFETY_FEED_GAP's finding, not the point's.
-- It ends at the point's next measurement (a run cut by a mine gap at its last sample before it);
-- open while the point has not measured up to the mine's latest sample time. Critical for a methane
-- sensor in a face or heading the mine declared working, else a warning. An open run reported earlier
-- that the data no longer show (the point's readings came late) is withdrawn: closed at the point's
-- next measurement, information, saying so.
-- Fast on a big store: the mine's sample times come by index (core.safety_sample_time, one probe per
-- time); one pass over the readings counts each point's readings and measurements per China-local
-- day; only the days on which a point measured less often than its mine spoke are looked at sample by
-- sample, by the primary key (mine, sample time, point).
WITH times AS MATERIALIZED (
    -- every sample time of every mine, numbered, with its China-local day
    SELECT t.mine_code, t.sampled_at, date_bin('1 day', t.sampled_at, '2000-01-01 00:00+08') AS day,
           row_number() OVER w AS slot_no,
           t.sampled_at - lag(t.sampled_at) OVER w AS since_previous,
           lead(t.sampled_at) OVER w AS next_at
      FROM core.safety_sample_time t
    WINDOW w AS (PARTITION BY t.mine_code ORDER BY t.sampled_at)
),
cadence AS (
    -- the mine's usual cadence (as SAFETY_FEED_GAP learns it), the limit, its latest sample time
    SELECT t.mine_code,
           percentile_disc(core.safety_cadence_percentile()) WITHIN GROUP (ORDER BY t.since_previous) AS cadence,
           core.safety_gap_limit(percentile_disc(core.safety_cadence_percentile()) WITHIN GROUP (ORDER BY t.since_previous)) AS gap_limit,
           max(t.sampled_at) AS latest_at
      FROM times t
     GROUP BY t.mine_code
),
slots AS MATERIALIZED (
    -- the sample times, each with the number of mine-wide gaps before it: a run never spans one
    SELECT t.*, c.gap_limit, c.cadence, c.latest_at,
           sum(CASE WHEN t.since_previous >= c.gap_limit THEN 1 ELSE 0 END)
               OVER (PARTITION BY t.mine_code ORDER BY t.sampled_at) AS stretch
      FROM times t JOIN cadence c USING (mine_code)
),
days AS (
    SELECT s.mine_code, s.day, count(*) AS slots FROM slots s GROUP BY s.mine_code, s.day
),
point_days AS MATERIALIZED (
    -- per point and day: readings, and how many of them measured (no fault). The readings' partitions
    -- are China-local days (migration 0011): grouping by partition (tableoid) is grouping by day, with
    -- nothing computed per reading, and the planner knows how many groups to expect
    SELECT g.mine_code, g.point_code, date_bin('1 day', g.first_at, '2000-01-01 00:00+08') AS day,
           g.readings, g.measured, g.first_at
      FROM (SELECT r.mine_code, r.point_code, r.tableoid, count(*) AS readings,
                   count(*) FILTER (WHERE coalesce(r.conditions, 0) & 8 = 0) AS measured, min(r.sampled_at) AS first_at
              FROM core.safety_reading r
             GROUP BY r.mine_code, r.point_code, r.tableoid) g
),
points AS (
    -- the points defined now, watched from their first definition (or first reading, if earlier)
    SELECT p.mine_code, p.point_code, least(d.first_defined_at, f.first_read_at) AS watched_from
      FROM core.safety_point_current p
      LEFT JOIN (SELECT d.mine_code, d.point_code, min(d.valid_from) AS first_defined_at
                   FROM core.safety_point_definition d GROUP BY d.mine_code, d.point_code) d
        ON d.mine_code = p.mine_code AND d.point_code = p.point_code
      LEFT JOIN (SELECT pd.mine_code, pd.point_code, min(pd.first_at) AS first_read_at
                   FROM point_days pd GROUP BY pd.mine_code, pd.point_code) f
        ON f.mine_code = p.mine_code AND f.point_code = p.point_code
),
candidates AS MATERIALIZED (
    -- the days on which a point measured at fewer of its mine's sample times than there were
    SELECT p.mine_code, p.point_code, p.watched_from, d.day
      FROM points p
      JOIN days d ON d.mine_code = p.mine_code AND d.day + interval '1 day' > p.watched_from
      LEFT JOIN point_days pd ON pd.mine_code = p.mine_code AND pd.point_code = p.point_code AND pd.day = d.day
     WHERE coalesce(pd.measured, 0) < d.slots
),
missed AS (
    -- on those days, the sample times at which the point gave no measurement: absent, or a fault
    SELECT c.mine_code, c.point_code, s.sampled_at, s.slot_no, s.stretch, s.next_at, s.gap_limit, s.cadence,
           s.latest_at, r.sampled_at IS NULL AS absent
      FROM candidates c
      JOIN slots s ON s.mine_code = c.mine_code AND s.day = c.day AND s.sampled_at >= c.watched_from
      -- the point's reading at each of them, by exact key (OFFSET 0: never a hash join over every reading)
      LEFT JOIN LATERAL (SELECT r.sampled_at, r.conditions FROM core.safety_reading r
                          WHERE r.mine_code = c.mine_code AND r.sampled_at = s.sampled_at
                            AND r.point_code = c.point_code OFFSET 0) r ON true
     WHERE r.sampled_at IS NULL OR coalesce(r.conditions, 0) & 8 <> 0
),
runs AS (
    -- consecutive missed sample times of the mine (no measurement between them, no mine gap) are one run
    SELECT m.mine_code, m.point_code,
           min(m.sampled_at) AS started_at, max(m.sampled_at) AS last_missed_at,
           (array_agg(m.next_at ORDER BY m.sampled_at DESC))[1] AS next_at,
           count(*) FILTER (WHERE m.absent) AS absent, count(*) FILTER (WHERE NOT m.absent) AS faults,
           max(m.gap_limit) AS gap_limit, max(m.cadence) AS cadence, max(m.latest_at) AS latest_at
      FROM (SELECT m.*, m.slot_no - row_number() OVER (PARTITION BY m.mine_code, m.point_code, m.stretch
                                                        ORDER BY m.sampled_at) AS island
              FROM missed m) m
     GROUP BY m.mine_code, m.point_code, m.stretch, m.island
),
spans AS (
    -- ended by the point's next measurement; by the mine falling silent (a run cut by a mine gap);
    -- or open up to the mine's latest sample
    SELECT r.*,
           CASE WHEN r.next_at IS NULL THEN NULL
                WHEN r.next_at - r.last_missed_at >= r.gap_limit THEN r.last_missed_at
                ELSE r.next_at END AS ended_at,
           CASE WHEN r.next_at IS NULL THEN r.latest_at - r.started_at
                WHEN r.next_at - r.last_missed_at >= r.gap_limit THEN r.last_missed_at - r.started_at
                ELSE r.next_at - r.started_at END AS lasted
      FROM runs r
),
found AS (
    SELECT s.mine_code,
           s.point_code,
           p.area_code,
           s.started_at,
           s.ended_at,
           (CASE WHEN p.sensor_type = '0001' AND a.kind IN ('working_face', 'heading') AND a.is_declared_active
                 THEN 3 ELSE 2 END)::smallint AS severity,
           jsonb_strip_nulls(jsonb_build_object(
               'why', CASE WHEN s.faults = 0 THEN 'the point sent no reading while the rest of the mine''s safety data came'
                           WHEN s.absent = 0 THEN 'the point reported a fault (no measurement) while the rest of the mine''s safety data came'
                           ELSE 'the point sent no reading or reported a fault while the rest of the mine''s safety data came' END,
               'minutes', round((extract(epoch FROM s.lasted) / 60)::numeric, 1),
               'sample times missed', s.absent,
               'fault readings', s.faults,
               'last missed sample', s.last_missed_at,
               'measured again at', CASE WHEN s.ended_at IS DISTINCT FROM s.last_missed_at THEN s.ended_at END,
               'how it ended', CASE WHEN s.ended_at IS NULL THEN NULL
                                    WHEN s.ended_at = s.last_missed_at THEN 'the whole mine fell silent (SAFETY_FEED_GAP)'
                                    ELSE 'the point measured again' END,
               'sensor type', p.sensor_type,
               'area source', p.area_source,
               'usual cadence s', extract(epoch FROM s.cadence)::numeric,
               'counts from minutes', round((extract(epoch FROM s.gap_limit) / 60)::numeric, 1))) AS evidence
      FROM spans s
      JOIN core.safety_point_current p ON p.mine_code = s.mine_code AND p.point_code = s.point_code
      LEFT JOIN core.area_current a ON a.mine_code = p.mine_code AND a.area_code = p.area_code
     WHERE s.lasted >= s.gap_limit
),
withdrawn AS (
    -- open runs reported earlier that the data no longer show: closed at the point's next measurement
    SELECT f.mine_code, f.subject_code AS point_code, f.area_code, f.started_at,
           coalesce(n.sampled_at, f.started_at) AS ended_at, 1::smallint AS severity,
           jsonb_build_object(
               'why', 'withdrawn: the point''s readings for this time came after it was reported silent; it was not silent that long',
               'reported as', f.evidence->>'why',
               'measured at', n.sampled_at) AS evidence
      FROM core.flag f
      LEFT JOIN LATERAL (SELECT r.sampled_at FROM core.safety_reading r
                          WHERE r.mine_code = f.mine_code AND r.point_code = f.subject_code
                            AND r.sampled_at >= f.started_at AND coalesce(r.conditions, 0) & 8 = 0
                          ORDER BY r.sampled_at LIMIT 1) n ON true
     WHERE f.flag_code = 'POINT_SILENT' AND f.ended_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM found x
                        WHERE x.mine_code = f.mine_code AND x.point_code = f.subject_code AND x.started_at = f.started_at)
)
SELECT x.mine_code,
       'POINT_SILENT'::text AS flag_code,
       'point'::text AS subject_kind,
       x.point_code AS subject_code,
       x.area_code,
       x.started_at,
       x.ended_at,
       x.severity,
       x.evidence
  FROM (SELECT * FROM found UNION ALL SELECT * FROM withdrawn) x
