-- POWER_WITHOUT_PERSONNEL (contract G.1): an area drew working-level energy (above
-- greatest(2 x its base load, base + 30 kWh) in the hour, core.area_power_hour) while personnel
-- positioning placed no card in it at any time of that hour, in at least core.power_min_hours() (2)
-- hours in a row. Working machines need people: cards left at the surface or in another area.
-- Working places only: a roadway's belts and a shaft's hoist run with nobody beside them.
-- Only hours the mine's positioning data covered count: a positioning feed gap is not "nobody". An
-- hour is covered when its RYSS snapshots or REST reads leave no silence longer than
-- core.positioning_setting 'feed_gap_at_least' (15 minutes) inside it, from its start to its end.
-- "In it": a presence (core.positioning_presence) in the area overlapping the hour, from the card's
-- entry to its leaving (or its last observation while it is still there); an unread card the system
-- still lists in the area counts as there.
-- One finding per area and run of such hours; open while the run reaches the area's latest metered
-- hour. Severity 3 where nobody may work (sealed, goaf, undeclared face or heading), else 2.
WITH setting AS (
    SELECT coalesce((SELECT s.value FROM core.positioning_setting s WHERE s.name = 'feed_gap_at_least'),
                    interval '15 minutes') AS gap_limit
),
working AS MATERIALIZED (
    -- the hours each working place (not a roadway or shaft) drew working-level energy
    SELECT h.* FROM core.area_power_hour h WHERE h.is_working AND NOT h.is_support
),
spans AS (
    -- per mine, the time to look at
    SELECT w.mine_code, min(w.hour_start) AS from_at, max(w.hour_end) AS to_at
      FROM working w GROUP BY w.mine_code
),
data_times AS MATERIALIZED (
    -- when the mine's positioning data speak there: RYSS snapshots that loaded (empty ones too), REST reads
    SELECT s.mine_code, f.produced_at AS at
      FROM spans s
      JOIN ledger.file f ON f.mine_code = s.mine_code AND f.kind = 'RYSS' AND f.status IN ('loaded', 'loading')
                        AND f.produced_at >= s.from_at - interval '1 day' AND f.produced_at <= s.to_at + interval '1 day'
    UNION
    SELECT s.mine_code, o.observed_at
      FROM spans s
      JOIN core.positioning_observation o ON o.mine_code = s.mine_code AND o.source_kind = 'REST'
                                         AND o.observed_at >= s.from_at - interval '1 day'
                                         AND o.observed_at <= s.to_at + interval '1 day'
),
silences AS MATERIALIZED (
    -- the silences longer than the limit between two data times (and before the first, after the last)
    SELECT g.mine_code, g.after_at, g.until_at
      FROM (SELECT d.mine_code, lag(d.at) OVER w AS after_at, d.at AS until_at
              FROM data_times d WINDOW w AS (PARTITION BY d.mine_code ORDER BY d.at)) g
      CROSS JOIN setting
     WHERE g.after_at IS NULL OR g.until_at - g.after_at > setting.gap_limit
    UNION ALL
    SELECT d.mine_code, max(d.at), NULL FROM data_times d GROUP BY d.mine_code
),
nobody AS (
    -- the working hours covered by positioning data in which no card was in the area
    SELECT w.*
      FROM working w CROSS JOIN setting
     WHERE w.mine_code IN (SELECT d.mine_code FROM data_times d)   -- a mine without positioning data: nothing known
       AND NOT EXISTS (
               SELECT 1 FROM silences s
                WHERE s.mine_code = w.mine_code
                  AND coalesce(s.after_at, '-infinity'::timestamptz) < w.hour_end - setting.gap_limit
                  AND coalesce(s.until_at, 'infinity'::timestamptz) > w.hour_start + setting.gap_limit)
       AND NOT EXISTS (
               SELECT 1 FROM core.positioning_presence p
                WHERE p.mine_code = w.mine_code AND p.area_code = w.area_code
                  AND p.entered_at < w.hour_end AND coalesce(p.left_at, p.last_seen_at) >= w.hour_start)
),
hours AS (
    SELECT n.*,
           n.hour_start - (row_number() OVER (PARTITION BY n.mine_code, n.area_code ORDER BY n.hour_start))
                          * interval '1 hour' AS island
      FROM nobody n
),
runs AS (
    SELECT h.mine_code, h.area_code, min(h.hour_start) AS started_at, max(h.hour_end) AS last_hour_end,
           bool_or(h.is_latest) AS goes_on, count(*) AS hours, bool_or(h.is_quiet) AS quiet,
           (array_agg(h.kind ORDER BY h.hour_start DESC))[1] AS kind,
           (array_agg(h.area_name ORDER BY h.hour_start DESC))[1] AS area_name,
           sum(h.kwh) AS kwh, max(h.base_kwh) AS base_kwh, max(h.limit_kwh) AS limit_kwh
      FROM hours h
     GROUP BY h.mine_code, h.area_code, h.island
    HAVING count(*) >= core.power_min_hours()
)
SELECT r.mine_code,
       'POWER_WITHOUT_PERSONNEL'::text AS flag_code,
       'area'::text AS subject_kind,
       r.area_code AS subject_code,
       r.area_code,
       r.started_at,
       CASE WHEN r.goes_on THEN NULL ELSE r.last_hour_end END AS ended_at,
       CASE WHEN r.quiet THEN 3 ELSE 2 END::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', 'the area drew working-level energy while personnel positioning placed nobody there',
           'area name', r.area_name,
           'registry kind', r.kind,
           'hours', r.hours,
           'energy (kWh)', round(r.kwh::numeric, 1),
           'base load (kWh per hour)', round(r.base_kwh::numeric, 1),
           'working level from (kWh per hour)', round(r.limit_kwh::numeric, 1),
           'cards in the area', 0)) AS evidence
  FROM runs r
