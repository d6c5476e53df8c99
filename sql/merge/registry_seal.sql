-- Merge staged seal rows (registry/seals.csv, a full snapshot of the mines it lists)
-- into the history table core.seal: changed items get a new version, items no longer listed are closed.
SELECT core.apply_snapshots(
    'core.seal'::regclass,
    'stage_registry_seal',
    ARRAY['mine_code','seal_code'],
    ARRAY['area_code','built_on','design_ref','camera_id']
);
