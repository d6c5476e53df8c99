-- Merge staged five-minute statistics (TJSJ, AQMT) into core.safety_statistic: one row per point
-- and period end, the latest delivery of the same period wins (contract J).
SELECT core.upsert_latest_delivery(
    'core.safety_statistic'::regclass,
    'stage_safety_statistics'::regclass,
    ARRAY['mine_code', 'point_code', 'period_end'],
    ARRAY['period_start', 'sensor_type', 'unit', 'avg_value', 'max_value', 'max_at', 'min_value', 'min_at']
);
