-- Utility meters (contract E): the readings as delivered, and the energy per meter and interval
-- derived from them in SQL at merge time (contract J).
--   core.meter_espi_reading      one row per ESPI UsagePoint and interval start (E.1), the later delivery kept
--   core.meter_register_reading  one row per meter and read time of the register readings files (E.2)
--   core.meter_interval          one row per mine, meter and interval start: energy in kWh and its quality
-- Neither vendor format names the mine: a reading takes its mine and meter from registry/meters.csv
-- (ESPI by usage_point, E.2 by meter_id). A reading the registry does not know is kept here with
-- mine_code NULL and held in quarantine.record as unknown_point; when a registry meters.csv load
-- names its meter, it is bound and released and its intervals are built
-- (core.meter_registry_loaded, sql/views/core/meters.sql, called by sql/merge/registry_meter.sql).

CREATE TABLE IF NOT EXISTS core.meter_espi_reading (
    usage_point_href        text        NOT NULL,   -- the UsagePoint's Atom rel="self" href, as written
    interval_start          timestamptz NOT NULL,
    interval_end            timestamptz NOT NULL,   -- start + duration; a cumulative reading's read time
    usage_point_id          text        NOT NULL,   -- the href's last segment
    duration_s              integer     NOT NULL,
    accumulation            text        NOT NULL CHECK (accumulation IN ('interval', 'cumulative')),
    energy_kwh              numeric,                -- interval readings; NULL for cumulative ones
    reading_kwh             numeric     NOT NULL,   -- value x 10^power_of_ten / 1000 (a register when cumulative)
    raw_value               numeric     NOT NULL,
    power_of_ten            smallint    NOT NULL,
    uom                     smallint,
    accumulation_behaviour  smallint,
    interval_length_s       integer,
    quality                 smallint,               -- first ReadingQuality code, NULL when none
    meter_reading_href      text,
    reading_type_href       text,
    mine_code               text,                   -- from the registry; NULL while the usage point is unknown
    meter_id                text,
    file_id                 bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no               integer     NOT NULL,
    PRIMARY KEY (usage_point_href, interval_start),
    CHECK (interval_end > interval_start)
);
COMMENT ON TABLE core.meter_espi_reading IS
    'one row per Green Button UsagePoint and interval start (E.1), as last delivered; mine and meter from registry/meters.csv usage_point (NULL: unknown, held as unknown_point)';
CREATE INDEX IF NOT EXISTS meter_espi_reading_meter ON core.meter_espi_reading (mine_code, meter_id, interval_start);
CREATE INDEX IF NOT EXISTS meter_espi_reading_register ON core.meter_espi_reading (mine_code, meter_id, interval_end)
    WHERE accumulation = 'cumulative';
CREATE INDEX IF NOT EXISTS meter_espi_reading_unbound ON core.meter_espi_reading (usage_point_href) WHERE mine_code IS NULL;

CREATE TABLE IF NOT EXISTS core.meter_register_reading (
    meter_id             text        NOT NULL,
    read_at              timestamptz NOT NULL,
    import_kwh_register  numeric     NOT NULL,   -- the cumulative register (示值) before the registry multiplier
    mine_code            text,                   -- from the registry; NULL while the meter is unknown
    file_id              bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no            integer     NOT NULL,
    PRIMARY KEY (meter_id, read_at)
);
COMMENT ON TABLE core.meter_register_reading IS
    'one row per meter and read time of the register readings files (E.2), as last delivered; mine from registry/meters.csv (NULL: unknown, held as unknown_point)';
CREATE INDEX IF NOT EXISTS meter_register_reading_meter ON core.meter_register_reading (mine_code, meter_id, read_at);
CREATE INDEX IF NOT EXISTS meter_register_reading_unbound ON core.meter_register_reading (meter_id) WHERE mine_code IS NULL;

CREATE TABLE IF NOT EXISTS core.meter_interval (
    mine_code          text        NOT NULL,
    meter_id           text        NOT NULL,
    interval_start     timestamptz NOT NULL,
    interval_end       timestamptz NOT NULL,
    energy_kwh         numeric,                -- NULL: not known (a register reset)
    quality            text        NOT NULL CHECK (quality IN ('measured', 'gap_total', 'reset')),
    source             text        NOT NULL CHECK (source IN ('espi', 'register')),
    reading_quality    smallint,               -- the ESPI ReadingQuality code of the reading, when sent
    opening_file_id    bigint      REFERENCES ledger.file (file_id),  -- a register interval: the reading that opens it
    opening_record_no  integer,
    file_id            bigint      NOT NULL REFERENCES ledger.file (file_id),  -- the reading that gives (closes) it
    record_no          integer     NOT NULL,
    PRIMARY KEY (mine_code, meter_id, interval_start),
    CHECK (interval_end > interval_start)
);
COMMENT ON TABLE core.meter_interval IS
    'one row per mine, meter and interval start: energy in kWh; quality measured, gap_total (readings missing: the total of the whole span, not spread) or reset (register went down: energy unknown)';
COMMENT ON COLUMN core.meter_interval.source IS
    'espi: a Green Button interval reading, or the delta of two cumulative ESPI readings; register: the delta of two E.2 register readings x the registry multiplier';
