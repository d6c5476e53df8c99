-- Video for BI tools (contract D, F.2, H): the registry's seals reconciled with the video platform,
-- and the camera states with the seals their camera must watch. Camera codes are not personal data.
--
-- "Was the camera at seal M-07 watching at 02:00?" in one query over mart:
--   SELECT s.seal_code, s.camera_id, c.state, c.started_at, c.ended_at
--     FROM mart.seal_camera s
--     LEFT JOIN mart.camera_state c
--       ON c.mine_code = s.mine_code AND c.camera_id = s.camera_id
--      AND c.started_at <= '2026-03-18 02:00+08' AND coalesce(c.ended_at, 'infinity') > '2026-03-18 02:00+08'
--    WHERE s.mine_code = '410403004688' AND s.seal_code = 'M-07';
-- (no state row: it was watching, if the status says the platform knows the camera). In core, with the
-- registry and the inventory as they stood then: SELECT * FROM core.seal_watch('410403004688', 'M-07', '2026-03-18 02:00+08').

CREATE OR REPLACE VIEW mart.seal_camera AS
SELECT c.mine_code, c.seal_code, c.area_code, c.camera_id, c.registry_camera_id, c.status,
       c.is_on_platform, c.has_reported, c.platform_seal_code, c.is_platform_watching_seal,
       c.platform_cameras_on_seal, c.current_states, c.current_states_since, c.last_reported_at, c.last_event_at
  FROM core.seal_camera c;
COMMENT ON VIEW mart.seal_camera IS
    'one row per seal of the current registry, and one per camera the platform ties to a seal the registry does not list; status no_camera_in_registry, camera_never_reported, camera_not_on_platform, platform_names_no_seal, camera_on_other_seal, watched or seal_not_in_registry';

CREATE OR REPLACE VIEW mart.camera_state AS
SELECT s.mine_code, s.camera_id, s.state, s.started_at, s.ended_at,
       (SELECT array_agg(r.seal_code ORDER BY r.seal_code) FROM core.seal r
         WHERE r.mine_code = s.mine_code AND r.camera_id = s.camera_id AND r.valid_to IS NULL) AS seal_codes,
       s.opened_by, s.opening_event_id, s.closed_by, s.closing_event_id, s.repeats
  FROM core.camera_state s;
COMMENT ON VIEW mart.camera_state IS
    'one row per camera, state (offline, video_lost, occluded, scene_changed) and start; ended_at NULL while it goes on; seal_codes: the current registry seals the camera must watch';
