-- Merge staged point definitions (CDDY, AQMC, AQKC) into the history table core.safety_point_definition.
-- Each file is a full snapshot of one mine's points of its kind (scope: mine and source_kind):
-- a changed definition (area, range, thresholds, relations, location, …) closes its version and
-- opens a new one; a point no longer listed is closed; a late, older snapshot changes nothing.
SELECT core.apply_snapshots_scoped(
    'core.safety_point_definition'::regclass,
    'stage_safety_point_definitions',
    ARRAY['mine_code', 'source_kind', 'point_code'],
    ARRAY['dialect', 'system_code', 'value_type', 'sensor_type', 'sensor_known', 'vendor_point_code',
          'outstation_code', 'unit', 'range_low', 'range_high', 'alarm_high', 'alarm_high_clear', 'alarm_low',
          'alarm_low_clear', 'cutoff_high', 'restore_high', 'cutoff_low', 'restore_low', 'label_0', 'label_1',
          'location', 'area_code', 'x', 'y', 'z', 'relations', 'defined_at'],
    ARRAY['mine_code', 'source_kind']
);

-- unknown_point records are retried after every definition load (contract I.1): readings and
-- abnormal events of these mines held for want of a definition load now if their point has one
SELECT core.release_safety_unknown_points(ARRAY(SELECT DISTINCT mine_code FROM stage_safety_point_definitions));
