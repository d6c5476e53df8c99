-- Merge staged camera events (D.2 {mine}_video_*.csv, D.1 events pages) into core.video_event, then
-- rebuild the states of the cameras they touch (core.camera_state; rules in sql/views/core/video.sql).
-- One row per mine and event id: the latest delivery wins (contract J); a stored event is replaced only
-- by a delivery that ranks as late or later (the same delivery again, e.g. a quarantine release, re-applies it).

-- 1. the batch's latest delivery of every event id
DROP TABLE IF EXISTS video_event_batch;
CREATE TEMP TABLE video_event_batch ON COMMIT DROP AS
SELECT DISTINCT ON (s.mine_code, s.event_id) s.*
  FROM stage_video_events s JOIN ledger.file f ON f.file_id = s.file_id
 ORDER BY s.mine_code, s.event_id, ledger.delivery_rank(f) DESC, s.record_no DESC;

DROP TABLE IF EXISTS video_camera_touched;
CREATE TEMP TABLE video_camera_touched (mine_code text, camera_id text) ON COMMIT DROP;

-- 2. store them; the cameras whose events changed (a new event, or a stored one replaced: its old
--    camera too, should the later delivery name another) get their states rebuilt
WITH stored AS (
    SELECT e.mine_code, e.event_id, e.camera_id, e.event_type, e.event_at, e.file_id, e.record_no
      FROM core.video_event e
      JOIN video_event_batch b ON b.mine_code = e.mine_code AND b.event_id = e.event_id
),
applied AS (
    INSERT INTO core.video_event AS t (mine_code, event_id, camera_id, event_type, event_at, area_code, seal_code,
                                       source_kind, file_id, record_no)
    SELECT b.mine_code, b.event_id, b.camera_id, b.event_type, b.event_at, b.area_code, b.seal_code,
           b.source_kind, b.file_id, b.record_no
      FROM video_event_batch b
    ON CONFLICT (mine_code, event_id) DO UPDATE
       SET camera_id = EXCLUDED.camera_id, event_type = EXCLUDED.event_type, event_at = EXCLUDED.event_at,
           area_code = EXCLUDED.area_code, seal_code = EXCLUDED.seal_code, source_kind = EXCLUDED.source_kind,
           file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no
     WHERE (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = EXCLUDED.file_id)
        >= (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = t.file_id)
    RETURNING t.mine_code, t.event_id, t.camera_id, t.event_type, t.event_at, t.file_id, t.record_no
)
INSERT INTO video_camera_touched
SELECT a.mine_code, a.camera_id
  FROM applied a
  LEFT JOIN stored o ON o.mine_code = a.mine_code AND o.event_id = a.event_id
 WHERE (o.camera_id, o.event_type, o.event_at, o.file_id, o.record_no)
       IS DISTINCT FROM (a.camera_id, a.event_type, a.event_at, a.file_id, a.record_no)
UNION
SELECT o.mine_code, o.camera_id
  FROM applied a
  JOIN stored o ON o.mine_code = a.mine_code AND o.event_id = a.event_id
 WHERE o.camera_id <> a.camera_id;

-- 3. the states of those cameras, from all their events
SELECT core.rebuild_camera_states(array_agg(c.mine_code), array_agg(c.camera_id))
  FROM video_camera_touched c;
