-- CAMERA_TAMPER (contract G.1): a camera's lens covered (occlusion), its picture no longer its
-- reference view (scene change), its PTZ preset changed, or its installation place changed in the
-- platform (relocation). Reads core.camera_tamper: the occluded and scene_changed intervals of
-- core.camera_state and the preset-change and relocation events, at any length.
-- One finding per camera and start; critical when the registry gives the camera a seal to watch,
-- a warning otherwise.
WITH tampers AS (
    -- every tampering, with where the camera hangs and the seals it must watch
    SELECT * FROM core.camera_tamper
),
per_start AS (
    -- tamperings that begin together (a scene change reported with a relocation) are one finding
    SELECT t.mine_code, t.camera_id, t.started_at,
           CASE WHEN bool_or(t.ended_at IS NULL) THEN NULL ELSE max(t.ended_at) END AS ended_at,
           max(t.area_code) AS area_code,
           max(t.seal_codes) AS seal_codes,
           array_agg(t.tamper ORDER BY t.tamper) AS tampers,
           array_agg(t.event_id ORDER BY t.tamper) AS event_ids,
           min(t.file_id) AS file_id, min(t.record_no) AS record_no
      FROM tampers t
     GROUP BY t.mine_code, t.camera_id, t.started_at
)
SELECT p.mine_code,
       'CAMERA_TAMPER'::text AS flag_code,
       'camera'::text AS subject_kind,
       p.camera_id AS subject_code,
       p.area_code,
       p.started_at,
       p.ended_at,
       (CASE WHEN p.seal_codes IS NOT NULL THEN 3 ELSE 2 END)::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', array_to_string(ARRAY(
               SELECT CASE x WHEN 'occluded' THEN 'the lens was covered'
                             WHEN 'scene_changed' THEN 'the picture no longer matched the camera''s reference view'
                             WHEN 'preset_changed' THEN 'the camera''s PTZ preset was changed'
                             ELSE 'the camera''s installation place was changed in the platform' END
                 FROM unnest(p.tampers) x), '; '),
           'tampering', p.tampers,
           'events', p.event_ids,
           'seals it must watch', p.seal_codes,
           'file id', p.file_id,
           'record', p.record_no)) AS evidence
  FROM per_start p
