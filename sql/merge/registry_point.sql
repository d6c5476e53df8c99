-- Merge staged point rows (registry/points.csv, a full snapshot of the mines it lists)
-- into the history table core.point_placement: changed items get a new version, items no longer listed are closed.
SELECT core.apply_snapshots(
    'core.point_placement'::regclass,
    'stage_registry_point',
    ARRAY['mine_code','point_code'],
    ARRAY['area_code']
);
