-- Merge staged base stations (RYJZ, a full snapshot of one mine's stations) into the history table
-- core.positioning_station: a moved or renamed station gets a new version, one no longer listed is closed.
SELECT core.apply_snapshots_scoped(
    'core.positioning_station'::regclass,
    'stage_positioning_stations',
    ARRAY['mine_code', 'station_code'],
    ARRAY['area_code', 'station_name', 'x', 'y', 'z', 'location'],
    ARRAY['mine_code']
);
