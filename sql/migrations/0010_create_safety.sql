-- Safety monitoring (contract B): point and outstation definitions with their history, outstation
-- state, switch changes, five-minute statistics, abnormal events and the CSV dialect's area evidence.
-- Readings, the hot path, are in 0011 (partitioned by day). Every row keeps the ledger file and
-- record it came from (file_id, record_no), so a finding walks back to the vendor's bytes.
-- Facts with a natural key (contract J) hold one row per key: a later delivery replaces an
-- earlier one (sql/merge/*.sql via core.upsert_latest_delivery, migration 0012).

-- --- definitions: full snapshots, kept as valid_from / valid_to history ------------------------

CREATE TABLE IF NOT EXISTS core.snapshot_log (
    target         text        NOT NULL,   -- the history table, e.g. core.safety_point_definition
    scope          text[]      NOT NULL,   -- what one snapshot covers, e.g. {mine_code, source_kind}
    file_id        bigint      NOT NULL REFERENCES ledger.file (file_id),
    effective_at   timestamptz NOT NULL,   -- header time (else received_at): versions start here
    delivery_rank  text        NOT NULL,   -- ledger.delivery_rank of the file (contract J order)
    items          integer     NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('applied', 'replaced', 'late')),
    logged_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, scope, file_id)
);
COMMENT ON TABLE core.snapshot_log IS
    'one row per snapshot file per scope merged by core.apply_snapshots_scoped: applied, replaced (by a later delivery of the same snapshot time) or late (older than one already applied: changes nothing)';

CREATE TABLE IF NOT EXISTS core.safety_point_definition (
    mine_code          text        NOT NULL,
    source_kind        text        NOT NULL,   -- CDDY, AQMC or AQKC: each is a full snapshot of its own points
    point_code         text        NOT NULL,
    dialect            text        NOT NULL,   -- national or provincial
    system_code        text,                   -- 01 safety monitoring, 02 gas drainage (national)
    value_type         text,                   -- MN analog, KG switch, LJ cumulative, DT multi-state
    sensor_type        text,                   -- B.4 code
    sensor_known       boolean,                -- false for a code outside B.4 (kept, reported)
    vendor_point_code  text,
    outstation_code    text,
    unit               text,
    range_low          double precision,
    range_high         double precision,
    alarm_high         double precision,
    alarm_high_clear   double precision,
    alarm_low          double precision,
    alarm_low_clear    double precision,
    cutoff_high        double precision,
    restore_high       double precision,
    cutoff_low         double precision,
    restore_low        double precision,
    label_0            text,
    label_1            text,
    location           text,
    area_code          text,                   -- provincial files only; national points take the registry's
    x                  double precision,
    y                  double precision,
    z                  double precision,
    relations          text,                   -- B.1 field 23 as sent
    defined_at         timestamptz,
    valid_from         timestamptz NOT NULL,   -- the snapshot's header time
    valid_to           timestamptz,            -- NULL while current; set when changed or no longer listed
    file_id            bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no          integer     NOT NULL,
    -- the header time of the snapshot that opened this version (= valid_from), under the name the
    -- staging schema uses (read by the safety expectation suite)
    snapshot_at        timestamptz GENERATED ALWAYS AS (valid_from) STORED,
    PRIMARY KEY (mine_code, source_kind, point_code, valid_from)
);
COMMENT ON TABLE core.safety_point_definition IS
    'one row per safety point per definition version (CDDY, AQMC, AQKC): a change of area, range, thresholds, relations or any other field opens a new version; a point missing from a newer snapshot is closed';
CREATE UNIQUE INDEX IF NOT EXISTS safety_point_definition_current_key
    ON core.safety_point_definition (mine_code, source_kind, point_code) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS safety_point_definition_point ON core.safety_point_definition (mine_code, point_code);

CREATE TABLE IF NOT EXISTS core.safety_outstation (
    mine_code        text        NOT NULL,
    outstation_code  text        NOT NULL,
    location         text,
    x                double precision,
    y                double precision,
    z                double precision,
    defined_at       timestamptz,
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    file_id          bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no        integer     NOT NULL,
    PRIMARY KEY (mine_code, outstation_code, valid_from)
);
COMMENT ON TABLE core.safety_outstation IS
    'one row per outstation (分站) per definition version (FZDY, a full snapshot of the mine''s outstations)';
CREATE UNIQUE INDEX IF NOT EXISTS safety_outstation_current_key
    ON core.safety_outstation (mine_code, outstation_code) WHERE valid_to IS NULL;

-- --- facts keyed per contract J: one row per key, the latest delivery wins --------------------

CREATE TABLE IF NOT EXISTS core.safety_outstation_state (
    mine_code        text        NOT NULL,
    outstation_code  text        NOT NULL,
    observed_at      timestamptz NOT NULL,
    run_status       smallint,               -- 0 communicating, 1 interrupted, 2 fault, 9 unknown
    power_status     smallint,               -- 0 DC battery, 1 AC mains, 2 power fault, 9 unknown
    file_id          bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no        integer     NOT NULL,
    PRIMARY KEY (mine_code, outstation_code, observed_at)
);
COMMENT ON TABLE core.safety_outstation_state IS 'one row per outstation per report time (FZSS)';

CREATE TABLE IF NOT EXISTS core.safety_switch_change (
    mine_code    text        NOT NULL,
    point_code   text        NOT NULL,
    changed_at   timestamptz NOT NULL,
    state        smallint,                   -- 0 or 1 (label_0 / label_1 of the definition)
    raw_status   integer,                    -- provincial bits (B.6) as sent
    conditions   smallint,                   -- canonical mask: alarm 1, power_cut 2, feed_abnormal 4, fault 8, calibrating 16, over_range 32, switched_off 64
    sensor_type  text,
    file_id      bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no    integer     NOT NULL,
    PRIMARY KEY (mine_code, point_code, changed_at)
);
COMMENT ON TABLE core.safety_switch_change IS 'one row per switch point per state change time (AQKD)';

CREATE TABLE IF NOT EXISTS core.safety_statistic (
    mine_code     text        NOT NULL,
    point_code    text        NOT NULL,
    period_end    timestamptz NOT NULL,
    period_start  timestamptz NOT NULL,
    sensor_type   text,
    unit          text,
    avg_value     double precision,
    max_value     double precision,
    max_at        timestamptz,
    min_value     double precision,
    min_at        timestamptz,
    file_id       bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no     integer     NOT NULL,
    PRIMARY KEY (mine_code, point_code, period_end)
);
COMMENT ON TABLE core.safety_statistic IS 'one row per analog point per five-minute period (TJSJ, AQMT), keyed by the period''s end';

CREATE TABLE IF NOT EXISTS core.safety_abnormal_event (
    mine_code         text        NOT NULL,
    point_code        text        NOT NULL,
    abnormal_type     text        NOT NULL,   -- 001 over-limit alarm … 010 lower early warning (B.1), as sent
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,            -- NULL while the event goes on
    is_open           boolean     GENERATED ALWAYS AS (ended_at IS NULL) STORED,
    conditions        smallint,               -- the canonical condition the type stands for; NULL for an unknown type
    sensor_type_name  text,
    location          text,
    unit              text,
    value             double precision,
    alarm_threshold   double precision,
    clear_threshold   double precision,
    max_value         double precision,
    max_at            timestamptz,
    min_value         double precision,
    min_at            timestamptz,
    avg_value         double precision,
    cause             text,
    measures          text,
    entered_at        timestamptz,
    entered_by        text,
    reported_at       timestamptz,            -- the record's data_time
    file_id           bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no         integer     NOT NULL,
    PRIMARY KEY (mine_code, point_code, abnormal_type, started_at)
);
COMMENT ON TABLE core.safety_abnormal_event IS
    'one row per abnormal event (YCBJ) of a point, type and start: open while ended_at is NULL; the latest delivery of the same event (e.g. with ended_at) replaces the earlier';
CREATE INDEX IF NOT EXISTS safety_abnormal_event_open ON core.safety_abnormal_event (mine_code, started_at) WHERE ended_at IS NULL;

CREATE TABLE IF NOT EXISTS core.safety_point_area (
    mine_code         text        NOT NULL,
    point_code        text        NOT NULL,
    first_sampled_at  timestamptz NOT NULL,
    area_code         text,                   -- as the CSV row gave it; NULL when it had none
    sensor_type       text,
    last_sampled_at   timestamptz NOT NULL,
    file_id           bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no         integer     NOT NULL,   -- the first row of the file that showed this point, area and type
    PRIMARY KEY (mine_code, point_code, first_sampled_at)
);
COMMENT ON TABLE core.safety_point_area IS
    'one row per point, area and sensor type seen together in one CSV file (B.3), with the first and last sample time: the CSV dialect''s area evidence';
