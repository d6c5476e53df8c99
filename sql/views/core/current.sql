-- The registry as it stands now: the open version of every item.

CREATE OR REPLACE VIEW core.mine_current AS
SELECT mine_code, mine_name, province, county, status, capacity_mtpa, valid_from, file_id
  FROM core.mine WHERE valid_to IS NULL;
COMMENT ON VIEW core.mine_current IS 'one row per mine in the current registry';

CREATE OR REPLACE VIEW core.area_current AS
SELECT mine_code, area_code, area_name, kind, is_declared_active,
       kind IN ('sealed', 'goaf') AS is_behind_seal, valid_from, file_id
  FROM core.area WHERE valid_to IS NULL;
COMMENT ON VIEW core.area_current IS 'one row per area in the current registry';

CREATE OR REPLACE VIEW core.point_placement_current AS
SELECT mine_code, point_code, area_code, valid_from, file_id
  FROM core.point_placement WHERE valid_to IS NULL;
COMMENT ON VIEW core.point_placement_current IS 'one row per safety point with a verified place in the current registry';

CREATE OR REPLACE VIEW core.seal_current AS
SELECT mine_code, seal_code, area_code, built_on, design_ref, camera_id, valid_from, file_id
  FROM core.seal WHERE valid_to IS NULL;
COMMENT ON VIEW core.seal_current IS 'one row per seal in the current registry';

CREATE OR REPLACE VIEW core.meter_current AS
SELECT mine_code, meter_id, usage_point, area_code, multiplier, valid_from, file_id
  FROM core.meter WHERE valid_to IS NULL;
COMMENT ON VIEW core.meter_current IS 'one row per meter in the current registry';
