-- POSITIONING_FEED_GAP (contract G.1): no positioning real-time data from a mine for longer than
-- its usual cadence allows. The data times are the mine's RYSS snapshots that loaded and its REST
-- read times; the usual cadence is the median time between them; a gap counts when it lasts at
-- least four cadences and core.positioning_setting 'feed_gap_at_least' (a missed snapshot is an
-- upload hiccup, not a finding). A gap still going on is measured to the latest data time of any
-- of the mine's feeds (core.mine_data_clock: the data's own clock, not the wall clock, nor the time an
-- API inventory was pulled), and is open.
WITH data_times AS (
    -- when the mine's positioning data speak: snapshots (empty ones too) and REST reads
    SELECT s.mine_code, s.observed_at AS at FROM core.positioning_snapshot s
    UNION
    SELECT o.mine_code, o.observed_at FROM core.positioning_observation o WHERE o.source_kind = 'REST'
),
gaps AS (
    -- each data time with the next one
    SELECT d.mine_code, d.at, lead(d.at) OVER (PARTITION BY d.mine_code ORDER BY d.at) AS next_at
      FROM data_times d
),
cadence AS (
    -- the mine's usual cadence, and the least gap that counts
    SELECT g.mine_code,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM g.next_at - g.at)) AS usual_s,
           greatest(4 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM g.next_at - g.at)),
                    extract(epoch FROM coalesce((SELECT s.value FROM core.positioning_setting s
                                                  WHERE s.name = 'feed_gap_at_least'), interval '15 minutes'))) AS limit_s
      FROM gaps g WHERE g.next_at IS NOT NULL
     GROUP BY g.mine_code
),
clock AS (
    -- the latest data time of any feed of the mine (core.mine_data_clock: real-time data, not the time
    -- minewatch pulled a camera inventory or received a reference file)
    SELECT k.mine_code, k.clock_at AS at
      FROM core.mine_data_clock k WHERE k.mine_code IN (SELECT c.mine_code FROM cadence c)
),
long_gaps AS (
    -- gaps between two data times, and the silence after the last one
    SELECT g.mine_code, g.at AS started_at, g.next_at AS ended_at, c.usual_s, c.limit_s
      FROM gaps g JOIN cadence c USING (mine_code)
     WHERE g.next_at IS NOT NULL AND extract(epoch FROM g.next_at - g.at) >= c.limit_s
    UNION ALL
    SELECT g.mine_code, g.at, NULL, c.usual_s, c.limit_s
      FROM gaps g JOIN cadence c USING (mine_code) JOIN clock k USING (mine_code)
     WHERE g.next_at IS NULL AND extract(epoch FROM k.at - g.at) >= c.limit_s
)
SELECT l.mine_code,
       'POSITIONING_FEED_GAP'::text AS flag_code,
       'mine'::text AS subject_kind,
       l.mine_code AS subject_code,
       NULL::text AS area_code,
       l.started_at,
       l.ended_at,
       2::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', 'no personnel positioning data came from the mine for longer than its cadence allows',
           'last data before', l.started_at,
           'next data', l.ended_at,
           'minutes', CASE WHEN l.ended_at IS NOT NULL THEN round(extract(epoch FROM l.ended_at - l.started_at) / 60) END,
           'usual cadence s', round(l.usual_s::numeric),
           'counts from s', round(l.limit_s::numeric))) AS evidence
  FROM long_gaps l
