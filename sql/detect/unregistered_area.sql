-- UNREGISTERED_AREA (contract G.1): a feed names an area code that the regulator's registry
-- (registry/areas.csv) does not know, or a safety point has no verified place.
-- Areas: every place a feed or the registry's other files name an area of a mine — the positioning
-- system's area list (RYQY), base stations (RYJZ, a station's area is its code's first 16 digits) and
-- their reports (JZSS), the cards' presence (RYSS, REST), provincial point definitions (AQMC/AQKC), the
-- CSV dialect's rows, the explosives ledger, the video platform (inventory and CSV events), and the
-- registry's own meters, seals and point placements — checked against core.registry_area_known: the
-- registry knows an area from always (its first version also holds before it: the registry comes later
-- than the data) until it is dropped. Only mines the registry lists areas for are checked. One finding
-- per mine and area, from the first time it was named while unknown to the last (open while a current
-- list still names it, or a card is still there). Critical when cards were read there or explosives
-- issued there (people work where the regulator has no record), else a warning.
-- Points: a safety point defined now with no registry placement (registry/points.csv) and no area of
-- its own (provincial definition, CSV rows): subject 'point', open from its first definition.
-- A finding still open whose area (or point) the registry now knows is closed at the registry version
-- that made it known, so a late registry fix ends the finding instead of leaving it open.
WITH checked_mines AS (
    SELECT DISTINCT k.mine_code FROM core.registry_area_known k
),
mentions AS (
    -- (mine, area, from, to (NULL: goes on), what named it, its name there, a card read there, explosives issues)
    SELECT a.mine_code, a.area_code, a.valid_from AS from_at, a.valid_to AS to_at,
           'positioning area list (RYQY)' AS source, a.area_name AS name, NULL::text AS card, 0 AS issues
      FROM core.positioning_area a
    UNION ALL
    SELECT s.mine_code, s.area_code, s.valid_from, s.valid_to, 'positioning base stations (RYJZ)', NULL, NULL, 0
      FROM core.positioning_station s
    UNION ALL
    SELECT j.mine_code, j.area_code, min(j.data_at), max(j.data_at), 'base-station reports (JZSS)', NULL, NULL, 0
      FROM core.positioning_station_state j GROUP BY j.mine_code, j.area_code
    UNION ALL
    SELECT p.mine_code, p.area_code, p.entered_at, p.left_at, 'cards present (positioning)', NULL,
           CASE WHEN p.reads > 0 THEN p.card_code END, 0
      FROM core.positioning_presence p
    UNION ALL
    SELECT d.mine_code, d.area_code, d.valid_from, d.valid_to, 'safety point definitions (' || d.source_kind || ')', NULL, NULL, 0
      FROM core.safety_point_definition d WHERE d.area_code IS NOT NULL
    UNION ALL
    SELECT c.mine_code, c.area_code, min(c.first_sampled_at), max(c.last_sampled_at), 'safety CSV rows', NULL, NULL, 0
      FROM core.safety_point_area c WHERE c.area_code IS NOT NULL GROUP BY c.mine_code, c.area_code
    UNION ALL
    SELECT e.mine_code, e.area_code, e.issued_at, e.issued_at, 'explosives ledger', NULL, NULL, 1
      FROM core.explosives_issue e
    UNION ALL
    SELECT v.mine_code, v.area_code, v.valid_from, v.valid_to, 'video platform cameras', NULL, NULL, 0
      FROM core.video_camera v WHERE v.area_code IS NOT NULL
    UNION ALL
    SELECT v.mine_code, v.area_code, v.event_at, v.event_at, 'video events', NULL, NULL, 0
      FROM core.video_event v WHERE v.area_code IS NOT NULL
    UNION ALL
    SELECT m.mine_code, m.area_code, m.valid_from, m.valid_to, 'registry meters (meters.csv)', NULL, NULL, 0
      FROM core.meter m
    UNION ALL
    SELECT s.mine_code, s.area_code, s.valid_from, s.valid_to, 'registry seals (seals.csv)', NULL, NULL, 0
      FROM core.seal s
    UNION ALL
    SELECT p.mine_code, p.area_code, p.valid_from, p.valid_to, 'registry point placements (points.csv)', NULL, NULL, 0
      FROM core.point_placement p
),
unknown AS (
    -- the part of each mention after the registry stopped knowing the area (all of it: never known)
    SELECT m.mine_code, m.area_code, m.source, m.name, m.card, m.issues,
           greatest(m.from_at, coalesce(k.known_until, '-infinity'::timestamptz)) AS from_at, m.to_at
      FROM mentions m
      JOIN checked_mines c ON c.mine_code = m.mine_code
      LEFT JOIN core.registry_area_known k ON k.mine_code = m.mine_code AND k.area_code = m.area_code
     WHERE m.area_code IS NOT NULL
       AND (k.area_code IS NULL OR coalesce(m.to_at, 'infinity'::timestamptz) > k.known_until)
),
areas AS (
    SELECT u.mine_code, u.area_code, min(u.from_at) AS started_at,
           CASE WHEN bool_or(u.to_at IS NULL) THEN NULL ELSE max(u.to_at) END AS ended_at,
           array_agg(DISTINCT u.source ORDER BY u.source) AS named_by,
           max(u.name) AS name, count(DISTINCT u.card) AS cards, sum(u.issues) AS issues
      FROM unknown u
     GROUP BY u.mine_code, u.area_code
),
unplaced AS (
    -- safety points defined now that no one has placed
    SELECT p.mine_code, p.point_code,
           (SELECT min(d.valid_from) FROM core.safety_point_definition d
             WHERE d.mine_code = p.mine_code AND d.point_code = p.point_code) AS started_at,
           p.source_kind, p.sensor_type, p.location
      FROM core.safety_point_current p
      JOIN checked_mines c ON c.mine_code = p.mine_code
     WHERE p.area_code IS NULL
),
findings AS (
    SELECT a.mine_code, 'area'::text AS subject_kind, a.area_code AS subject_code, a.area_code,
           a.started_at, a.ended_at,
           (CASE WHEN a.cards > 0 OR a.issues > 0 THEN 3 ELSE 2 END)::smallint AS severity,
           jsonb_strip_nulls(jsonb_build_object(
               'why', 'the registry does not know this area, but ' || array_to_string(a.named_by, ', ') || ' name it',
               'named by', to_jsonb(a.named_by),
               'name in the feed', a.name,
               'cards read there', NULLIF(a.cards, 0),
               'explosives issues there', NULLIF(a.issues, 0),
               'dropped from the registry at', (SELECT k.known_until FROM core.registry_area_known k
                                                 WHERE k.mine_code = a.mine_code AND k.area_code = a.area_code))) AS evidence
      FROM areas a
    UNION ALL
    SELECT u.mine_code, 'point', u.point_code, NULL, u.started_at, NULL, 2::smallint,
           jsonb_strip_nulls(jsonb_build_object(
               'why', 'the safety point has no verified place: registry/points.csv does not place it and its own files give no area',
               'defined by', u.source_kind,
               'sensor type', u.sensor_type,
               'location in the definition', u.location))
      FROM unplaced u
),
closing AS (
    -- findings left open earlier whose area or point the registry knows now: closed when it became known
    SELECT f.mine_code, f.subject_kind, f.subject_code, f.area_code, f.started_at,
           greatest(f.started_at, k.known_from) AS ended_at, f.severity,
           f.evidence || jsonb_build_object('registry knows it since', k.known_from) AS evidence
      FROM core.flag f
      JOIN LATERAL (SELECT min(a.valid_from) AS known_from FROM core.area a
                     WHERE f.subject_kind = 'area' AND a.mine_code = f.mine_code AND a.area_code = f.subject_code
                       AND a.valid_to IS NULL
                    UNION ALL
                    SELECT min(p.valid_from) FROM core.point_placement p
                     WHERE f.subject_kind = 'point' AND p.mine_code = f.mine_code AND p.point_code = f.subject_code
                       AND p.valid_to IS NULL) k ON k.known_from IS NOT NULL
     WHERE f.flag_code = 'UNREGISTERED_AREA' AND f.ended_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM findings n
                        WHERE n.mine_code = f.mine_code AND n.subject_kind = f.subject_kind
                          AND n.subject_code = f.subject_code AND n.started_at = f.started_at)
)
SELECT x.mine_code,
       'UNREGISTERED_AREA'::text AS flag_code,
       x.subject_kind,
       x.subject_code,
       x.area_code,
       x.started_at,
       x.ended_at,
       x.severity,
       x.evidence
  FROM (SELECT * FROM findings UNION ALL SELECT * FROM closing) x
