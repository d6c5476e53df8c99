-- Merge staged meter rows (registry/meters.csv, a full snapshot of the mines it lists)
-- into the history table core.meter: changed items get a new version, items no longer listed are closed.
SELECT core.apply_snapshots(
    'core.meter'::regclass,
    'stage_registry_meter',
    ARRAY['mine_code','meter_id'],
    ARRAY['usage_point','area_code','multiplier']
);

-- Then the meter readings held as unknown_point that this registry now names are bound to their
-- meter and released, and intervals built with a multiplier this load changed are rebuilt
-- (core.meter_registry_loaded, sql/views/core/meters.sql).
SELECT core.meter_registry_loaded(ARRAY(SELECT DISTINCT file_id FROM stage_registry_meter));
