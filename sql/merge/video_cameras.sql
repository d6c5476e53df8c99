-- Merge staged camera inventories (D.1 GET cameras, one pull = a full snapshot of one mine's cameras)
-- into the history table core.video_camera: a change of name, area, seal, online flag or preset closes
-- the camera's version and opens a new one; a camera no longer listed is closed (the closed row is the
-- evidence); a late, older pull changes nothing. An empty inventory stages nothing and closes nothing.
SELECT core.apply_snapshots_scoped(
    'core.video_camera'::regclass,
    'stage_video_cameras',
    ARRAY['mine_code', 'camera_id'],
    ARRAY['camera_name', 'area_code', 'seal_code', 'is_online', 'preset'],
    ARRAY['mine_code']
);

-- The inventory's online flag takes part in the camera states (sql/views/core/video.sql): rebuild the
-- cameras whose version starts or ends at a pull of this batch, and those whose states a pull of the
-- same time opened or closed before (a corrected re-send of that pull).
WITH pulls AS (
    SELECT l.scope[1] AS mine_code, l.effective_at
      FROM core.snapshot_log l
     WHERE l.target = 'core.video_camera'::regclass::text
       AND l.file_id IN (SELECT DISTINCT s.file_id FROM stage_video_cameras s)
       AND l.outcome <> 'late'
),
touched AS (
    SELECT v.mine_code, v.camera_id
      FROM core.video_camera v JOIN pulls p ON p.mine_code = v.mine_code
     WHERE v.valid_from = p.effective_at OR v.valid_to = p.effective_at
    UNION
    SELECT s.mine_code, s.camera_id
      FROM core.camera_state s JOIN pulls p ON p.mine_code = s.mine_code
     WHERE (s.opened_by = 'inventory' AND s.started_at = p.effective_at)
        OR (s.closed_by = 'inventory' AND s.ended_at = p.effective_at)
)
SELECT core.rebuild_camera_states(array_agg(t.mine_code), array_agg(t.camera_id))
  FROM touched t;
