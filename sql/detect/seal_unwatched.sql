-- SEAL_UNWATCHED (contract G.1): a seal no camera watches. Three ways, each from the registry's
-- seal versions (core.seal_version: the first one holds before it too):
--   * the registry names no camera for the seal: from that version until one names a camera;
--   * the seal's camera is blind: offline or without video for at least core.camera_outage_limit(),
--     or occluded, or seeing another scene (core.camera_state), for as long as that lasts;
--   * the seal's camera is missing from the platform: a mine whose platform sends an inventory (D.1)
--     does not list it, from the mine's first pull (or the camera's removal) until it is listed.
--     A mine that sends events only (D.2) says nothing of a camera that sends none: not a finding.
-- One finding per seal and start, critical.
WITH seal_versions AS (
    -- every registry version of every seal, with what it says of its camera and when it holds
    SELECT * FROM core.seal_version
),
no_camera AS (
    -- the versions that name no camera
    SELECT v.mine_code, v.seal_code, v.area_code, v.valid_from AS started_at, v.valid_to AS ended_at,
           jsonb_build_object('why', 'the registry names no camera for this seal',
                              'area behind the seal', v.area_code,
                              'registry file id', v.file_id, 'registry record', v.record_no) AS evidence
      FROM seal_versions v
     WHERE v.camera_id IS NULL
),
camera_blind AS (
    -- the states of the seal's camera that keep it from watching, begun while the version held
    SELECT v.mine_code, v.seal_code, v.area_code, c.started_at, c.ended_at,
           jsonb_strip_nulls(jsonb_build_object(
               'why', 'the seal''s camera ' || c.camera_id || ' was ' || CASE c.state
                          WHEN 'offline' THEN 'offline' WHEN 'video_lost' THEN 'without video'
                          WHEN 'occluded' THEN 'covered (occluded)'
                          ELSE 'turned away (its picture no longer matched its reference view)' END,
               'camera', c.camera_id, 'state', c.state,
               'begun by', CASE c.opened_by WHEN 'event' THEN 'event ' || c.opening_event_id
                                            ELSE 'an inventory pull listing the camera offline' END,
               'area behind the seal', v.area_code,
               'file id', c.file_id, 'record', c.record_no)) AS evidence
      FROM seal_versions v
      JOIN core.camera_state_place c
        ON c.mine_code = v.mine_code AND c.camera_id = v.camera_id
       AND c.started_at >= v.effective_from AND c.started_at < v.effective_to
     WHERE c.state IN ('occluded', 'scene_changed') OR c.lasted >= core.camera_outage_limit()
),
pulls AS (
    -- mines whose platform sends an inventory, and its first pull
    SELECT c.mine_code, min(c.valid_from) AS first_pull FROM core.video_camera c GROUP BY c.mine_code
),
listings AS (
    -- each inventory version of a camera, and when the camera is listed next
    SELECT c.mine_code, c.camera_id, c.valid_from, c.valid_to,
           lead(c.valid_from) OVER (PARTITION BY c.mine_code, c.camera_id ORDER BY c.valid_from) AS next_listed
      FROM core.video_camera c
),
unlisted AS (
    -- times a camera the registry names is not in the inventory: before its first listing (from the
    -- mine's first pull; never listed: open) and after a removal until it is listed again
    SELECT r.mine_code, r.camera_id, p.first_pull AS started_at, min(l.valid_from) AS ended_at
      FROM (SELECT DISTINCT s.mine_code, s.camera_id FROM core.seal s WHERE s.camera_id IS NOT NULL) r
      JOIN pulls p ON p.mine_code = r.mine_code
      LEFT JOIN listings l ON l.mine_code = r.mine_code AND l.camera_id = r.camera_id
     GROUP BY r.mine_code, r.camera_id, p.first_pull
    HAVING min(l.valid_from) IS NULL OR min(l.valid_from) > p.first_pull
    UNION ALL
    SELECT l.mine_code, l.camera_id, l.valid_to, l.next_listed
      FROM listings l
     WHERE l.valid_to IS NOT NULL AND l.valid_to IS DISTINCT FROM l.next_listed
),
camera_missing AS (
    -- the part of each such time during which the registry version named that camera for the seal
    SELECT v.mine_code, v.seal_code, v.area_code,
           greatest(u.started_at, v.effective_from) AS started_at,
           least(u.ended_at, v.valid_to) AS ended_at,   -- least() skips NULL: open meets bounded as bounded
           jsonb_build_object(
               'why', 'the seal''s camera ' || u.camera_id || ' is not in the video platform''s camera list',
               'camera', u.camera_id,
               'area behind the seal', v.area_code,
               'registry file id', v.file_id, 'registry record', v.record_no) AS evidence
      FROM seal_versions v
      JOIN unlisted u ON u.mine_code = v.mine_code AND u.camera_id = v.camera_id
       AND u.started_at < v.effective_to AND coalesce(u.ended_at, 'infinity'::timestamptz) > v.effective_from
),
findings AS (
    SELECT * FROM no_camera
    UNION ALL SELECT * FROM camera_blind
    UNION ALL SELECT * FROM camera_missing
),
per_start AS (
    -- findings of one seal that begin together are one
    SELECT f.mine_code, f.seal_code, f.started_at,
           CASE WHEN bool_or(f.ended_at IS NULL) THEN NULL ELSE max(f.ended_at) END AS ended_at,
           max(f.area_code) AS area_code,
           CASE WHEN count(*) = 1 THEN (array_agg(f.evidence))[1]
                ELSE jsonb_build_object('why', string_agg(f.evidence->>'why', '; ' ORDER BY f.evidence->>'why'),
                                        'findings', jsonb_agg(f.evidence ORDER BY f.evidence->>'why')) END AS evidence
      FROM findings f
     GROUP BY f.mine_code, f.seal_code, f.started_at
)
SELECT p.mine_code,
       'SEAL_UNWATCHED'::text AS flag_code,
       'seal'::text AS subject_kind,
       p.seal_code AS subject_code,
       p.area_code,
       p.started_at,
       p.ended_at,
       3::smallint AS severity,
       p.evidence
  FROM per_start p
