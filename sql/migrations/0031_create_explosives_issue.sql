-- The explosives ledger (contract F.1): one row per issue, the later delivery of a record id kept.
-- The area is as the ledger names it; whether it is a declared working place is read through
-- core.explosives_issue_area (sql/views/core/explosives.sql).

CREATE TABLE IF NOT EXISTS core.explosives_issue (
    mine_code            text        NOT NULL,
    record_id            text        NOT NULL,
    issued_at            timestamptz NOT NULL,
    area_code            text        NOT NULL,
    explosive_kg         numeric,                -- NULL: not given (detonators only)
    detonators           integer,
    returned_kg          numeric,                -- NULL: nothing returned (yet)
    returned_detonators  integer,
    net_kg               numeric,                -- issued - returned
    net_detonators       integer,
    file_id              bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no            integer     NOT NULL,
    PRIMARY KEY (mine_code, record_id)
);
COMMENT ON TABLE core.explosives_issue IS
    'one row per explosives issue (火工品领用) of a mine''s ledger and record id, as last delivered: issued, returned and net quantities';
CREATE INDEX IF NOT EXISTS explosives_issue_area_time ON core.explosives_issue (mine_code, area_code, issued_at);
