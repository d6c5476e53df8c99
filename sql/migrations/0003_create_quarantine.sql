-- Quarantine: everything held back, with the reason code of contract I.1.
-- A row with record_no NULL holds a whole file (truncated, bad_encoding, hostile_xml, …).

CREATE TABLE IF NOT EXISTS quarantine.record (
    quarantine_id  bigserial PRIMARY KEY,
    file_id        bigint      NOT NULL REFERENCES ledger.file (file_id),
    record_no      integer,                -- NULL: the whole file is held
    feed           text        NOT NULL,
    kind           text        NOT NULL,
    mine_code      text,
    reason         text        NOT NULL,
    detail         text,                   -- one line in plain words
    raw_text       text,                   -- the record as the vendor sent it
    held_at        timestamptz NOT NULL DEFAULT now(),
    status         text        NOT NULL DEFAULT 'held',
    resolved_at    timestamptz,
    CONSTRAINT record_reason_known CHECK (reason IN
        ('truncated', 'bad_encoding', 'field_count', 'bad_number', 'bad_time', 'time_outside_window',
         'unknown_point', 'duplicate_key', 'mine_mismatch', 'hostile_xml', 'unsupported_reading_type',
         'expectation_failed')),
    CONSTRAINT record_status_known CHECK (status IN ('held', 'released', 'discarded'))
);

COMMENT ON TABLE quarantine.record IS
    'one row per held record (record_no set) or held file (record_no NULL), with its reason code (contract I.1)';

-- a record is held once per reason at a time; once released or discarded it may be held again
CREATE UNIQUE INDEX IF NOT EXISTS record_file_record ON quarantine.record (file_id, coalesce(record_no, -1), reason)
    WHERE status = 'held';
CREATE INDEX IF NOT EXISTS record_held ON quarantine.record (feed, reason) WHERE status = 'held';
