-- Merge staged switch state changes (AQKD) into core.safety_switch_change: one row per point and
-- change time, the latest delivery of the same change wins (contract J).
SELECT core.upsert_latest_delivery(
    'core.safety_switch_change'::regclass,
    'stage_safety_switch_changes'::regclass,
    ARRAY['mine_code', 'point_code', 'changed_at'],
    ARRAY['state', 'raw_status', 'conditions', 'sensor_type']
);
