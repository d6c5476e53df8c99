-- The regulator's registry (contract F.2), with history: one row per item version.
-- Current state is valid_to IS NULL; see the core.*_current views.

CREATE TABLE IF NOT EXISTS core.mine (
    mine_code      text        NOT NULL,
    mine_name      text        NOT NULL,
    province       text,
    county         text,
    status         text        NOT NULL CHECK (status IN ('producing', 'construction', 'rectification', 'suspended')),
    capacity_mtpa  numeric,
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz,
    file_id        bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no      integer     NOT NULL,
    PRIMARY KEY (mine_code, valid_from)
);
COMMENT ON TABLE core.mine IS 'one row per mine per registry version (registry/mines.csv)';

CREATE TABLE IF NOT EXISTS core.area (
    mine_code        text        NOT NULL,
    area_code        text        NOT NULL,
    area_name        text,
    kind             text        NOT NULL CHECK (kind IN ('working_face', 'heading', 'roadway', 'shaft', 'sealed', 'goaf')),
    is_declared_active boolean   NOT NULL,
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    file_id          bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no        integer     NOT NULL,
    PRIMARY KEY (mine_code, area_code, valid_from)
);
COMMENT ON TABLE core.area IS 'one row per area per registry version (registry/areas.csv); kind sealed or goaf = behind a seal';

CREATE TABLE IF NOT EXISTS core.point_placement (
    mine_code      text        NOT NULL,
    point_code     text        NOT NULL,
    area_code      text        NOT NULL,
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz,
    file_id        bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no      integer     NOT NULL,
    PRIMARY KEY (mine_code, point_code, valid_from)
);
COMMENT ON TABLE core.point_placement IS
    'one row per safety point per registry version: the area where the regulator last verified it hangs (registry/points.csv)';

CREATE TABLE IF NOT EXISTS core.seal (
    mine_code      text        NOT NULL,
    seal_code      text        NOT NULL,
    area_code      text        NOT NULL,   -- the area behind the seal
    built_on       date,
    design_ref     text,
    camera_id      text,                   -- the camera that must watch it; NULL is a finding
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz,
    file_id        bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no      integer     NOT NULL,
    PRIMARY KEY (mine_code, seal_code, valid_from)
);
COMMENT ON TABLE core.seal IS 'one row per seal (密闭) per registry version (registry/seals.csv)';

CREATE TABLE IF NOT EXISTS core.meter (
    mine_code      text        NOT NULL,
    meter_id       text        NOT NULL,
    usage_point    text,                   -- Green Button UsagePoint href or its last segment
    area_code      text        NOT NULL,   -- the area fed through the meter
    multiplier     numeric     NOT NULL,   -- 倍率, applied to register readings (E.2) only
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz,
    file_id        bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no      integer     NOT NULL,
    PRIMARY KEY (mine_code, meter_id, valid_from)
);
COMMENT ON TABLE core.meter IS 'one row per electricity meter per registry version (registry/meters.csv)';

CREATE UNIQUE INDEX IF NOT EXISTS mine_current_key ON core.mine (mine_code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS area_current_key ON core.area (mine_code, area_code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS point_placement_current_key ON core.point_placement (mine_code, point_code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS seal_current_key ON core.seal (mine_code, seal_code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS meter_current_key ON core.meter (mine_code, meter_id) WHERE valid_to IS NULL;
