-- Merge staged abnormal events (YCBJ) into core.safety_abnormal_event.

-- 1. an event of a point its mine has never defined is held in quarantine (unknown_point) with its
--    values, and loaded once a definition arrives (core.release_safety_unknown_points)
WITH unknown AS (
    SELECT s.*
      FROM stage_safety_abnormal_events s
     WHERE NOT EXISTS (SELECT 1 FROM core.safety_point_definition d
                        WHERE d.mine_code = s.mine_code AND d.point_code = s.point_code)
),
held AS (
    INSERT INTO quarantine.record (file_id, record_no, feed, kind, mine_code, reason, detail, raw_text)
    SELECT u.file_id, u.record_no, 'safety', f.kind, u.mine_code, 'unknown_point',
           format('point %s of mine %s has no definition (CDDY, AQMC or AQKC) yet; loaded when one arrives',
                  u.point_code, u.mine_code),
           concat_ws(';', u.point_code, u.sensor_type_name, u.location, u.unit, u.abnormal_type, u.value,
                     to_char(u.started_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'),
                     to_char(u.ended_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'))
      FROM unknown u JOIN ledger.file f ON f.file_id = u.file_id
    ON CONFLICT DO NOTHING
    RETURNING quarantine_id, file_id, record_no
)
INSERT INTO quarantine.safety_abnormal_event_held
       (quarantine_id, file_id, record_no, mine_code, point_code, abnormal_type, started_at, ended_at, conditions,
        sensor_type_name, location, unit, value, alarm_threshold, clear_threshold, max_value, max_at, min_value,
        min_at, avg_value, cause, measures, entered_at, entered_by, reported_at)
SELECT h.quarantine_id, u.file_id, u.record_no, u.mine_code, u.point_code, u.abnormal_type, u.started_at,
       u.ended_at, u.conditions, u.sensor_type_name, u.location, u.unit, u.value, u.alarm_threshold,
       u.clear_threshold, u.max_value, u.max_at, u.min_value, u.min_at, u.avg_value, u.cause, u.measures,
       u.entered_at, u.entered_by, u.reported_at
  FROM held h JOIN unknown u ON u.file_id = h.file_id AND u.record_no = h.record_no;

DELETE FROM stage_safety_abnormal_events s
 WHERE NOT EXISTS (SELECT 1 FROM core.safety_point_definition d
                    WHERE d.mine_code = s.mine_code AND d.point_code = s.point_code);

-- 2. one row per point, abnormal type and start: the latest delivery wins (contract J), so an
--    event delivered open and later with its end is closed by the later delivery
SELECT core.upsert_latest_delivery(
    'core.safety_abnormal_event'::regclass,
    'stage_safety_abnormal_events'::regclass,
    ARRAY['mine_code', 'point_code', 'abnormal_type', 'started_at'],
    ARRAY['ended_at', 'conditions', 'sensor_type_name', 'location', 'unit', 'value', 'alarm_threshold',
          'clear_threshold', 'max_value', 'max_at', 'min_value', 'min_at', 'avg_value', 'cause', 'measures',
          'entered_at', 'entered_by', 'reported_at']
);
