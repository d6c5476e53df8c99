-- Merge staged base-station reports (JZSS) into core.positioning_station_state, one row per station
-- and data time (the latest delivery of the same report wins, contract J), then rebuild the state
-- intervals of the stations they touch from the earliest report delivered
-- (core.rebuild_positioning_station_intervals, sql/views/core/positioning.sql).
SELECT core.upsert_latest_delivery(
    'core.positioning_station_state'::regclass,
    'stage_positioning_station_states'::regclass,
    ARRAY['mine_code', 'station_code', 'data_at'],
    ARRAY['area_code', 'run_status', 'power_status']
);

SELECT core.rebuild_positioning_station_intervals(array_agg(c.mine_code), array_agg(c.station_code), array_agg(c.from_at))
  FROM (SELECT s.mine_code, s.station_code, min(s.data_at) AS from_at
          FROM stage_positioning_station_states s
         GROUP BY s.mine_code, s.station_code) c;
