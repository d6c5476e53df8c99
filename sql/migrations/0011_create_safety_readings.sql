-- Safety readings (CDSS, AQSS, CSV): the hot path, about 4 million rows per mine and day at
-- 500 points every 10 s. The table is partitioned by range of sampled_at, one partition per
-- China-local day (00:00+08 to 00:00+08), created on demand by the merge
-- (core.ensure_safety_reading_partitions). Daily because
--   * detection reads recent hours or days: the planner prunes to one or two partitions;
--   * the loader's index inserts touch only the current day's B-tree, which stays in memory;
--   * retention drops whole days at once (core.drop_safety_reading_partitions_before), no DELETE, no bloat;
--   * a month of a province (hundreds of mines) in one partition would be billions of rows.
-- The primary key (mine, point, sample time) is the contract's natural key (J) and the index
-- detection needs (by mine, point and time). The row stays lean: no dialect column (the file's
-- kind in ledger.file says it, and thus which bits raw_status uses), conditions as a smallint
-- mask, and no foreign key to ledger.file (a per-row check on the hot path; file_id is always
-- written by the merge from ledger rows of the same transaction).
--
-- Retention: nothing is dropped by itself. An operator (or a scheduled job) runs, as the owner,
--     SELECT core.drop_safety_reading_partitions_before(now() - interval '400 days');
-- which drops every daily partition that ends on or before the cutoff and returns their names.
-- (A setting MINEWATCH_RETENTION_DAYS can call it after each load; not wired yet.)

CREATE TABLE IF NOT EXISTS core.safety_reading (
    mine_code   text             NOT NULL,
    point_code  text             NOT NULL,
    sampled_at  timestamptz      NOT NULL,
    value       double precision,            -- NULL for empty or -9999; kept as sent even when faulty
    file_id     bigint           NOT NULL,   -- ledger.file (no foreign key: hot path)
    record_no   integer          NOT NULL,
    raw_status  integer,                     -- vendor's status as sent: national bits (B.5) or provincial (B.6)
    conditions  smallint,                    -- canonical mask: alarm 1, power_cut 2, feed_abnormal 4, fault 8, calibrating 16, over_range 32, switched_off 64
    PRIMARY KEY (mine_code, point_code, sampled_at)
) PARTITION BY RANGE (sampled_at);
COMMENT ON TABLE core.safety_reading IS
    'one row per safety point per sample time (CDSS, AQSS, CSV), whichever dialect delivered it; partitioned by China-local day';

-- the daily partitions covering [from_at, to_at] (China-local days); creates the missing ones
CREATE OR REPLACE FUNCTION core.ensure_safety_reading_partitions(from_at timestamptz, to_at timestamptz)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER                      -- the loader may add a day without the right to create tables
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    day date;
    last_day date;
    part text;
    created integer := 0;
BEGIN
    IF from_at IS NULL OR to_at IS NULL THEN
        RETURN 0;
    END IF;
    day := (from_at AT TIME ZONE 'Asia/Shanghai')::date;
    last_day := (to_at AT TIME ZONE 'Asia/Shanghai')::date;
    IF last_day - day > 370 THEN
        RAISE EXCEPTION 'refusing to create more than a year of safety reading partitions at once (% to %)', day, last_day;
    END IF;
    WHILE day <= last_day LOOP
        part := 'safety_reading_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass('core.' || part) IS NULL THEN
            -- two loaders adding the same day: the second waits for the first, then finds it
            PERFORM pg_advisory_xact_lock(hashtext('core.' || part));
            IF to_regclass('core.' || part) IS NULL THEN
                -- created apart, then attached: ATTACH takes only a SHARE UPDATE EXCLUSIVE lock on the
                -- parent (CREATE … PARTITION OF would block every reader until the loader commits)
                EXECUTE format('CREATE TABLE core.%I (LIKE core.safety_reading INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                               part);
                EXECUTE format('ALTER TABLE core.safety_reading ATTACH PARTITION core.%I FOR VALUES FROM (%L) TO (%L)',
                               part, day::text || ' 00:00:00+08', (day + 1)::text || ' 00:00:00+08');
                EXECUTE format('COMMENT ON TABLE core.%I IS %L', part,
                               'one row per safety point per sample time on ' || day::text || ' (China time)');
                created := created + 1;
            END IF;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END
$fn$;
COMMENT ON FUNCTION core.ensure_safety_reading_partitions(timestamptz, timestamptz) IS
    'create the missing daily partitions of core.safety_reading between two times (China-local days); returns how many';
REVOKE ALL ON FUNCTION core.ensure_safety_reading_partitions(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.ensure_safety_reading_partitions(timestamptz, timestamptz) TO minewatch_loader, minewatch_owner;

-- retention: drop the daily partitions that end on or before the cutoff
CREATE OR REPLACE FUNCTION core.drop_safety_reading_partitions_before(cutoff timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT c.oid::regclass::text AS name,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz AS ends_at
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'core.safety_reading'::regclass
         ORDER BY 2
    LOOP
        IF p.ends_at IS NOT NULL AND p.ends_at <= cutoff THEN
            EXECUTE format('DROP TABLE %s', p.name);
            RETURN NEXT p.name;
        END IF;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION core.drop_safety_reading_partitions_before(timestamptz) IS
    'retention: drop every daily partition of core.safety_reading that ends on or before the cutoff; returns the dropped names';

-- Records held for unknown_point keep their staged values here, so they can be loaded as soon as
-- a definition of their point arrives (core.release_safety_unknown_points, migration 0012). A row
-- lives as long as its quarantine.record is held.
CREATE TABLE IF NOT EXISTS quarantine.safety_reading_held (
    quarantine_id  bigint      PRIMARY KEY REFERENCES quarantine.record (quarantine_id) ON DELETE CASCADE,
    file_id        bigint      NOT NULL,
    record_no      integer     NOT NULL,
    mine_code      text        NOT NULL,
    point_code     text        NOT NULL,
    sampled_at     timestamptz NOT NULL,
    value          double precision,
    raw_status     integer,
    conditions     smallint,
    dialect        text
);
COMMENT ON TABLE quarantine.safety_reading_held IS
    'one row per reading held in quarantine for unknown_point: its staged values, re-loaded when the point is defined';
CREATE INDEX IF NOT EXISTS safety_reading_held_point ON quarantine.safety_reading_held (mine_code, point_code);

CREATE TABLE IF NOT EXISTS quarantine.safety_abnormal_event_held (
    quarantine_id     bigint      PRIMARY KEY REFERENCES quarantine.record (quarantine_id) ON DELETE CASCADE,
    file_id           bigint      NOT NULL,
    record_no         integer     NOT NULL,
    mine_code         text        NOT NULL,
    point_code        text        NOT NULL,
    abnormal_type     text        NOT NULL,
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    conditions        smallint,
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
    reported_at       timestamptz
);
COMMENT ON TABLE quarantine.safety_abnormal_event_held IS
    'one row per abnormal event held in quarantine for unknown_point: its staged values, re-loaded when the point is defined';
CREATE INDEX IF NOT EXISTS safety_abnormal_event_held_point ON quarantine.safety_abnormal_event_held (mine_code, point_code);
