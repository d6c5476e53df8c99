-- Merge staged area rows (registry/areas.csv, a full snapshot of the mines it lists)
-- into the history table core.area: changed items get a new version, items no longer listed are closed.
SELECT core.apply_snapshots(
    'core.area'::regclass,
    'stage_registry_area',
    ARRAY['mine_code','area_code'],
    ARRAY['area_name','kind','is_declared_active']
);
