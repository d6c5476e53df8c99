-- Personnel positioning (contract C): the reference snapshots with their history, the base-station
-- reports, every card observation as delivered, and what is derived from them at merge time
-- (contract J): base-station state intervals, presence per card and area, and shaft stays per card
-- with how long the card went unread while underground. The rules of the derivation are in
-- sql/views/core/positioning.sql; the merges in sql/merge/positioning_*.sql.
-- Personal data (contract H): person_name and birth_date live only in core, which minewatch_bi
-- cannot read; the mart views over these tables leave them out.

-- --- reference snapshots (RYQY, RYJZ, RYXX), kept as valid_from / valid_to history ------------

CREATE TABLE IF NOT EXISTS core.positioning_area (
    mine_code       text        NOT NULL,
    area_code       text        NOT NULL,   -- the mine code + 4 digits, the registry's code space (F.2)
    area_type       text,                   -- shaft_mouth, key, restricted, other; NULL for a word outside C.1
    area_type_text  text,                   -- the vendor's word as sent (井口区域, 重点区域, 限制区域, 其它区域)
    rated_persons   integer,
    area_name       text,
    valid_from      timestamptz NOT NULL,   -- the RYQY header time that opened this version
    valid_to        timestamptz,            -- NULL while current; set when changed or no longer listed
    file_id         bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no       integer     NOT NULL,
    PRIMARY KEY (mine_code, area_code, valid_from)
);
COMMENT ON TABLE core.positioning_area IS
    'one row per positioning area (区域) per version of the RYQY snapshots: the positioning system''s own area list; whether an area is sealed is the registry''s word (core.area)';
CREATE UNIQUE INDEX IF NOT EXISTS positioning_area_current_key
    ON core.positioning_area (mine_code, area_code) WHERE valid_to IS NULL;

CREATE TABLE IF NOT EXISTS core.positioning_station (
    mine_code     text        NOT NULL,
    station_code  text        NOT NULL,   -- the area code + 6 digits
    area_code     text        NOT NULL,   -- the station code's first len(mine_code) + 4 digits
    station_name  text,
    x             double precision,
    y             double precision,
    z             double precision,
    location      text,
    valid_from    timestamptz NOT NULL,
    valid_to      timestamptz,
    file_id       bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no     integer     NOT NULL,
    PRIMARY KEY (mine_code, station_code, valid_from)
);
COMMENT ON TABLE core.positioning_station IS 'one row per positioning base station (基站) per version of the RYJZ snapshots';
CREATE UNIQUE INDEX IF NOT EXISTS positioning_station_current_key
    ON core.positioning_station (mine_code, station_code) WHERE valid_to IS NULL;

CREATE TABLE IF NOT EXISTS core.positioning_person (
    mine_code    text        NOT NULL,
    card_code    text        NOT NULL,   -- the mine code + 5 digits
    person_name  text,                   -- personal data (contract H): core only
    job          text,
    title        text,
    team         text,
    birth_date   date,                   -- personal data (contract H): core only
    education    text,
    is_leader    boolean,                -- a mine leader (矿领导)
    is_special   boolean,                -- a special-operations worker (特种作业人员)
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    file_id      bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no    integer     NOT NULL,
    PRIMARY KEY (mine_code, card_code, valid_from)
);
COMMENT ON TABLE core.positioning_person IS
    'one row per card per version of the RYXX snapshots; person_name and birth_date are personal data, never exposed in mart';
CREATE UNIQUE INDEX IF NOT EXISTS positioning_person_current_key
    ON core.positioning_person (mine_code, card_code) WHERE valid_to IS NULL;

-- --- base-station state (JZSS) ---------------------------------------------------------------

CREATE TABLE IF NOT EXISTS core.positioning_station_state (
    mine_code     text        NOT NULL,
    station_code  text        NOT NULL,
    data_at       timestamptz NOT NULL,
    area_code     text        NOT NULL,
    run_status    smallint,               -- 0 communicating, 1 interrupted, 2 fault, 9 unknown (FZSS codes)
    power_status  smallint,               -- 0 DC battery, 1 AC mains, 2 power fault, 9 unknown
    file_id       bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no     integer     NOT NULL,
    PRIMARY KEY (mine_code, station_code, data_at)
);
COMMENT ON TABLE core.positioning_station_state IS
    'one row per base station per JZSS data time, the latest delivery of that report kept';

CREATE TABLE IF NOT EXISTS core.positioning_station_interval (
    mine_code       text        NOT NULL,
    station_code    text        NOT NULL,
    started_at      timestamptz NOT NULL,   -- the first report of the run
    area_code       text        NOT NULL,
    run_status      smallint,
    power_status    smallint,
    run_state       text        NOT NULL CHECK (run_state IN ('communicating', 'interrupted', 'fault', 'unknown')),
    power_state     text        NOT NULL CHECK (power_state IN ('battery', 'mains', 'power_fault', 'unknown')),
    last_report_at  timestamptz NOT NULL,   -- the last report of the run
    ended_at        timestamptz,            -- the first report in another state; NULL while the run goes on
    reports         integer     NOT NULL,
    file_id         bigint      NOT NULL REFERENCES ledger.file (file_id),  -- the run's first report
    record_no       integer     NOT NULL,
    PRIMARY KEY (mine_code, station_code, started_at),
    CHECK (last_report_at >= started_at AND (ended_at IS NULL OR ended_at > last_report_at))
);
COMMENT ON TABLE core.positioning_station_interval IS
    'one row per base station per run of reports with the same run and power status (JZSS): started at its first report, ended at the first report in another state (NULL while current); rebuilt at merge time';
CREATE INDEX IF NOT EXISTS positioning_station_interval_unsettled
    ON core.positioning_station_interval (mine_code, station_code, (coalesce(ended_at, 'infinity'::timestamptz)));

-- --- observations (RYSS snapshots and REST reads) --------------------------------------------

CREATE TABLE IF NOT EXISTS core.positioning_observation (
    mine_code           text        NOT NULL,
    card_code           text        NOT NULL,
    observed_at         timestamptz NOT NULL,   -- RYSS header upload time, or REST read_at
    source_kind         text        NOT NULL CHECK (source_kind IN ('RYSS', 'REST')),
    person_name         text,                   -- personal data (contract H), as the RYSS row gave it
    in_mine_flag        smallint,               -- 0 shaft mouth, 1 underground, 2 out of the mine
    entered_mine_at     timestamptz,            -- as reported (入井时刻)
    left_mine_at        timestamptz,            -- as reported (出井时刻)
    area_code           text,
    entered_area_at     timestamptz,            -- as reported
    station_code        text,
    entered_station_at  timestamptz,            -- as reported: input to is_read
    labour_org          text,
    distance_m          double precision,       -- input to is_read
    work_status         smallint,               -- 0 normal, 1 distress (求救)
    is_leader           boolean,
    is_special          boolean,
    track_items         integer,                -- how many items the RYSS track listed
    last_track_station  text,                   -- the latest track item: input to is_read
    last_track_at       timestamptz,
    is_read             boolean     NOT NULL,   -- REST: always; RYSS: station, station time, distance or last track item changed since the card's previous RYSS row (its first row counts as read)
    file_id             bigint      NOT NULL,   -- ledger.file (no foreign key: hot path, as core.safety_reading)
    record_no           integer     NOT NULL,
    PRIMARY KEY (mine_code, card_code, observed_at)
);
COMMENT ON TABLE core.positioning_observation IS
    'one row per mine, card and observation time: a card listed in a RYSS snapshot (observed_at = header upload time) or a REST read (observed_at = read_at); the later delivery of the same key wins';
CREATE INDEX IF NOT EXISTS positioning_observation_time ON core.positioning_observation (mine_code, observed_at);
CREATE INDEX IF NOT EXISTS positioning_observation_rest_time
    ON core.positioning_observation (mine_code, observed_at) WHERE source_kind = 'REST';

CREATE TABLE IF NOT EXISTS core.positioning_track_item (
    mine_code     text        NOT NULL,
    card_code     text        NOT NULL,
    passed_at     timestamptz NOT NULL,
    station_code  text        NOT NULL,
    area_code     text        NOT NULL,
    observed_at   timestamptz NOT NULL,   -- the earliest snapshot that listed the item
    file_id       bigint      NOT NULL,   -- that snapshot's file (ledger.file; no foreign key: hot path) and record
    record_no     integer     NOT NULL,
    PRIMARY KEY (mine_code, card_code, passed_at, station_code)
);
COMMENT ON TABLE core.positioning_track_item IS
    'one row per station a card passed (RYSS field 15 track), from the earliest snapshot that listed it';

-- The snapshots a RYSS mine sent: a card listed in one snapshot and missing from a later one that
-- exists has left; a snapshot never received (no file, or a file held whole in quarantine) ends
-- nothing. The ledger knows them, empty snapshots included.
CREATE INDEX IF NOT EXISTS file_positioning_snapshot
    ON ledger.file (mine_code, produced_at) WHERE kind = 'RYSS' AND status IN ('loaded', 'loading');
-- (a snapshot that lost a record to quarantine may still list the card of that record: it shows no card absent)
CREATE INDEX IF NOT EXISTS file_positioning_incomplete_snapshot
    ON ledger.file (mine_code, produced_at) WHERE kind = 'RYSS' AND rows_rejected > 0;

-- --- derived: presence per card and area, shaft stays per card --------------------------------

CREATE TABLE IF NOT EXISTS core.positioning_presence (
    mine_code                 text        NOT NULL,
    card_code                 text        NOT NULL,
    entered_at                timestamptz NOT NULL,   -- the first observation in the area
    area_code                 text        NOT NULL,
    area_entered_at_reported  timestamptz,            -- entered_area_at of that first observation, as reported
    last_seen_at              timestamptz NOT NULL,   -- the last observation in the area
    last_read_at              timestamptz,            -- the last observation that was a read
    left_at                   timestamptz,            -- when it was known gone (the data time that settled it); NULL while present
    end_reason                text CHECK (end_reason IN ('area_change', 'out_of_mine', 'stopped_appearing', 'no_reads')),
    observations              integer     NOT NULL,
    reads                     integer     NOT NULL,
    file_id                   bigint      NOT NULL REFERENCES ledger.file (file_id),  -- the first observation's
    record_no                 integer     NOT NULL,
    PRIMARY KEY (mine_code, card_code, entered_at),
    CHECK ((left_at IS NULL) = (end_reason IS NULL)),
    CHECK (last_seen_at >= entered_at AND (left_at IS NULL OR left_at >= last_seen_at))
);
COMMENT ON TABLE core.positioning_presence IS
    'one row per card per unbroken presence in one area (in_mine_flag 0 or 1): entered at its first observation there, left at the first observation elsewhere, out of the mine (flag 2), the first existing RYSS snapshot without the card, or (REST) no read for core.positioning_setting rest_absent_after; NULL left_at while present';
CREATE INDEX IF NOT EXISTS positioning_presence_area ON core.positioning_presence (mine_code, area_code, entered_at);
CREATE INDEX IF NOT EXISTS positioning_presence_open ON core.positioning_presence (mine_code, card_code) WHERE left_at IS NULL;

CREATE TABLE IF NOT EXISTS core.positioning_shaft_stay (
    mine_code                 text        NOT NULL,
    card_code                 text        NOT NULL,
    entered_at                timestamptz NOT NULL,   -- the first observation in or at the mine (flag 0 or 1)
    first_underground_at      timestamptz,            -- the first observation with flag 1
    last_underground_at       timestamptz,            -- the last observation with flag 1
    last_seen_at              timestamptz NOT NULL,
    last_flag                 smallint,               -- in_mine_flag of the last observation
    last_area_code            text,
    last_read_at              timestamptz,
    left_at                   timestamptz,            -- when it was known gone; NULL while in the mine
    end_reason                text CHECK (end_reason IN ('out_of_mine', 'stopped_appearing', 'no_reads')),
    observations              integer     NOT NULL,
    reads                     integer     NOT NULL,
    longest_unread_s          double precision,       -- the longest time between reads while underground
    longest_unread_from       timestamptz,            -- the read that began it (or the stay's start)
    longest_unread_until      timestamptz,            -- the underground observation that ended it
    unread_since              timestamptz,            -- open (or ended by no_reads) and underground at its last observation: the last read (or the start)
    entered_mine_at_reported  timestamptz,            -- 入井时刻 as reported
    left_mine_at_reported     timestamptz,            -- 出井时刻 as reported by the row that ended the stay
    file_id                   bigint      NOT NULL REFERENCES ledger.file (file_id),  -- the first observation's
    record_no                 integer     NOT NULL,
    PRIMARY KEY (mine_code, card_code, entered_at),
    CHECK ((left_at IS NULL) = (end_reason IS NULL)),
    CHECK (last_seen_at >= entered_at AND (left_at IS NULL OR left_at >= last_seen_at))
);
COMMENT ON TABLE core.positioning_shaft_stay IS
    'one row per card per stay in or at the mine (in_mine_flag 0 or 1): from its first observation until flag 2, absence from an existing RYSS snapshot, or (REST) no read for rest_absent_after; with the reads and the longest time unread while underground';
-- a merge rebuilds the stays not settled before the earliest time it touches (open ones included)
CREATE INDEX IF NOT EXISTS positioning_shaft_stay_unsettled
    ON core.positioning_shaft_stay (mine_code, (coalesce(left_at, 'infinity'::timestamptz)));
CREATE INDEX IF NOT EXISTS positioning_shaft_stay_open ON core.positioning_shaft_stay (mine_code, card_code) WHERE left_at IS NULL;
CREATE INDEX IF NOT EXISTS positioning_shaft_stay_time ON core.positioning_shaft_stay (mine_code, entered_at);

-- --- settings of the derivation ---------------------------------------------------------------

CREATE TABLE IF NOT EXISTS core.positioning_setting (
    name     text     PRIMARY KEY,
    value    interval NOT NULL,
    meaning  text     NOT NULL
);
COMMENT ON TABLE core.positioning_setting IS
    'thresholds of the positioning derivation; an operator may change them (UPDATE as the owner), later merges use the new value';
INSERT INTO core.positioning_setting (name, value, meaning) VALUES
    ('rest_absent_after', interval '12 hours',
     'a REST-only card (no snapshots say it is gone) counts as gone when the mine''s REST reads have run this far past its last read; longer than any shift, so an unread card underground stays open (CARD_UNREAD) for that long'),
    ('card_unread_after', interval '30 minutes',
     'CARD_UNREAD: a card underground in the books and read by no station for at least this long'),
    ('feed_gap_at_least', interval '15 minutes',
     'POSITIONING_FEED_GAP: no positioning data for at least this long, and at least four times the mine''s usual cadence (a missed snapshot or two is an upload hiccup)')
ON CONFLICT (name) DO NOTHING;
