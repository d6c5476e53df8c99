-- CAMERA_OFFLINE (contract G.1): a camera offline, or answering without video, for at least
-- core.camera_outage_limit() (15 minutes; a shorter spell is a reboot or a network blip).
-- Reads core.camera_state (built from the platform's events and its inventory's online flag).
-- One finding per camera and start; still open (ended_at NULL) while the camera has not come back.
-- Critical when the registry gives the camera a seal to watch, a warning otherwise.
WITH outages AS (
    -- the offline and video-lost intervals, with where the camera hangs and the seals it must watch
    SELECT * FROM core.camera_state_place WHERE state IN ('offline', 'video_lost')
),
long_outages AS (
    -- those that lasted, or have lasted so far, at least the limit
    SELECT * FROM outages WHERE lasted >= core.camera_outage_limit()
),
per_start AS (
    -- an offline and a video-lost spell that begin together are one finding
    SELECT o.mine_code, o.camera_id, o.started_at,
           CASE WHEN bool_or(o.ended_at IS NULL) THEN NULL ELSE max(o.ended_at) END AS ended_at,
           max(o.area_code) AS area_code,
           max(o.seal_codes) AS seal_codes,
           array_agg(o.state ORDER BY o.state) AS states,
           array_agg(CASE o.opened_by WHEN 'event' THEN 'event ' || o.opening_event_id
                                      ELSE 'an inventory pull listing the camera offline' END ORDER BY o.state) AS opened_by,
           array_agg(CASE o.closed_by WHEN 'event' THEN 'event ' || o.closing_event_id
                                      WHEN 'inventory' THEN 'an inventory pull listing the camera online' END
                     ORDER BY o.state) AS ended_by,
           min(o.file_id) AS file_id, min(o.record_no) AS record_no
      FROM long_outages o
     GROUP BY o.mine_code, o.camera_id, o.started_at
)
SELECT p.mine_code,
       'CAMERA_OFFLINE'::text AS flag_code,
       'camera'::text AS subject_kind,
       p.camera_id AS subject_code,
       p.area_code,
       p.started_at,
       p.ended_at,
       (CASE WHEN p.seal_codes IS NOT NULL THEN 3 ELSE 2 END)::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', CASE WHEN p.states = ARRAY['offline'] THEN 'the camera was offline'
                       WHEN p.states = ARRAY['video_lost'] THEN 'the camera answered but sent no video'
                       ELSE 'the camera was offline and sent no video' END,
           'states', p.states,
           'minutes', CASE WHEN p.ended_at IS NOT NULL THEN round(extract(epoch FROM p.ended_at - p.started_at) / 60) END,
           'seals it must watch', p.seal_codes,
           'begun by', p.opened_by,
           'ended by', p.ended_by,
           'file id', p.file_id,
           'record', p.record_no)) AS evidence
  FROM per_start p
