-- Merge staged meter rows (registry/meters.csv, a full snapshot of the mines it lists)
-- into the history table core.meter: changed items get a new version, items no longer listed are closed.
SELECT core.apply_snapshots(
    'core.meter'::regclass,
    'stage_registry_meter',
    ARRAY['mine_code','meter_id'],
    ARRAY['usage_point','area_code','multiplier']
);
