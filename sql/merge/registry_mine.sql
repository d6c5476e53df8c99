-- Merge staged mine rows (registry/mines.csv, a full snapshot of the mines it lists)
-- into the history table core.mine: changed items get a new version, items no longer listed are closed.
SELECT core.apply_snapshots(
    'core.mine'::regclass,
    'stage_registry_mine',
    ARRAY['mine_code'],
    ARRAY['mine_name','province','county','status','capacity_mtpa']
);
