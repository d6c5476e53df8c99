-- SAFETY_FEED_GAP (contract G.1): no safety real-time data (CDSS, AQSS, CSV readings) from a mine for
-- longer than its usual cadence allows. The cadence is learned from the mine's own sample times: the
-- 95th percentile (core.safety_cadence_percentile()) of the time between successive ones; a gap counts
-- from core.safety_gap_limit(cadence) = greatest(10 minutes, 5 cadences), so an upload hiccup of a few
-- cycles is no finding. One finding per gap, from the last sample time before it to the first after
-- it. A gap still going on is measured to the mine's latest real-time data of any feed
-- (core.mine_data_clock: the data's clock, never the wall clock) and is open. Critical from
-- core.safety_feed_gap_critical() (1 hour) on, else a warning. The sample times come by index
-- (core.safety_sample_time), not by a pass over every reading.
-- An open gap reported earlier that the data no longer show (the safety files came late: the other
-- feeds were ahead) is withdrawn: closed at the next sample time, information, saying so.
WITH times AS MATERIALIZED (
    -- every sample time of every mine (by index, one probe per time)
    SELECT t.mine_code, t.sampled_at FROM core.safety_sample_time t
),
gaps AS MATERIALIZED (
    -- each sample time with the next one, and the time since the previous one
    SELECT t.mine_code, t.sampled_at AS at,
           lead(t.sampled_at) OVER w AS next_at,
           t.sampled_at - lag(t.sampled_at) OVER w AS since_previous
      FROM times t
    WINDOW w AS (PARTITION BY t.mine_code ORDER BY t.sampled_at)
),
cadence AS (
    -- the mine's usual cadence, and the least gap that counts
    SELECT g.mine_code,
           percentile_disc(core.safety_cadence_percentile()) WITHIN GROUP (ORDER BY g.since_previous) AS cadence,
           core.safety_gap_limit(percentile_disc(core.safety_cadence_percentile()) WITHIN GROUP (ORDER BY g.since_previous)) AS gap_limit,
           count(*) AS learned_from
      FROM gaps g WHERE g.since_previous IS NOT NULL
     GROUP BY g.mine_code
),
long_gaps AS (
    -- gaps between two sample times, and the silence after the last one while the mine's other data go on
    SELECT g.mine_code, g.at AS started_at, g.next_at AS ended_at, g.next_at - g.at AS lasted,
           NULL::timestamptz AS clock_at, c.cadence, c.gap_limit, c.learned_from
      FROM gaps g JOIN cadence c USING (mine_code)
     WHERE g.next_at IS NOT NULL AND g.next_at - g.at >= c.gap_limit
    UNION ALL
    SELECT g.mine_code, g.at, NULL, k.clock_at - g.at, k.clock_at, c.cadence, c.gap_limit, c.learned_from
      FROM gaps g JOIN cadence c USING (mine_code) JOIN core.mine_data_clock k USING (mine_code)
     WHERE g.next_at IS NULL AND k.clock_at - g.at >= c.gap_limit
),
found AS (
    SELECT l.mine_code, l.started_at, l.ended_at,
           (CASE WHEN l.lasted >= core.safety_feed_gap_critical() THEN 3 ELSE 2 END)::smallint AS severity,
           jsonb_strip_nulls(jsonb_build_object(
               'why', CASE WHEN l.ended_at IS NULL
                           THEN 'no safety monitoring data has come from the mine since its last sample, while its other data go on'
                           ELSE 'no safety monitoring data came from the mine for longer than its cadence allows' END,
               'last sample before', l.started_at,
               'next sample', l.ended_at,
               'minutes', round((extract(epoch FROM l.lasted) / 60)::numeric, 1),
               'so far, to the mine''s latest data of any feed', l.clock_at,
               'usual cadence s', extract(epoch FROM l.cadence)::numeric,
               'counts from minutes', round((extract(epoch FROM l.gap_limit) / 60)::numeric, 1),
               'gaps learned from', l.learned_from)) AS evidence
      FROM long_gaps l
),
withdrawn AS (
    -- open gaps reported earlier that the data now fill: closed at the next sample after their start
    SELECT f.mine_code, f.started_at, coalesce(g.next_at, f.started_at) AS ended_at, 1::smallint AS severity,
           jsonb_build_object(
               'why', 'withdrawn: the mine''s safety data for this time came after the gap was reported open; no gap remains',
               'reported as', f.evidence->>'why',
               'next sample', g.next_at) AS evidence
      FROM core.flag f
      LEFT JOIN gaps g ON g.mine_code = f.mine_code AND g.at = f.started_at
     WHERE f.flag_code = 'SAFETY_FEED_GAP' AND f.ended_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM found n WHERE n.mine_code = f.mine_code AND n.started_at = f.started_at)
)
SELECT x.mine_code,
       'SAFETY_FEED_GAP'::text AS flag_code,
       'mine'::text AS subject_kind,
       x.mine_code AS subject_code,
       NULL::text AS area_code,
       x.started_at,
       x.ended_at,
       x.severity,
       x.evidence
  FROM (SELECT * FROM found UNION ALL SELECT * FROM withdrawn) x
