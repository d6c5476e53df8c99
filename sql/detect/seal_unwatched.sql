-- SEAL_UNWATCHED (contract G.1): a seal with no camera to watch it.
-- Reads the registry's seal versions: each version that names no camera is a finding from the
-- moment the registry said so until a later version names one (or the seal is removed).
-- (Seals whose camera is offline or tampered are added by the video rules.)
WITH seal_versions AS (
    -- every registry version of every seal, with what it says of its camera
    SELECT s.mine_code, s.seal_code, s.area_code, s.camera_id, s.valid_from, s.valid_to, s.file_id, s.record_no
      FROM core.seal s
),
no_camera AS (
    -- the versions that leave the seal unwatched
    SELECT * FROM seal_versions WHERE camera_id IS NULL
)
SELECT n.mine_code,
       'SEAL_UNWATCHED'::text AS flag_code,
       'seal'::text AS subject_kind,
       n.seal_code AS subject_code,
       n.area_code,
       n.valid_from AS started_at,
       n.valid_to AS ended_at,
       3::smallint AS severity,
       jsonb_build_object(
           'why', 'the registry names no camera for this seal',
           'area behind the seal', n.area_code,
           'registry file id', n.file_id,
           'registry record', n.record_no) AS evidence
  FROM no_camera n
