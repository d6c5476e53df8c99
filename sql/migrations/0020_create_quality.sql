-- Data quality: every run of an expectation suite over a delivery, each expectation's result,
-- the alert incidents they open and close, and the mails sent about them.
--   quality.validation          one row per suite run over one batch (files of one feed, kind and mine)
--   quality.expectation_result  one row per expectation of that run: trends are queryable
--   quality.incident            one row per data-quality incident of a feed and mine (open until it recovers)
--   quality.mail                one row per alert mail sent over SMTP or written to the outbox
-- A batch held for a failed critical expectation has its files in quarantine.record (reason
-- expectation_failed, record_no NULL); its validation rows (outcome 'held') name the same file ids.

CREATE SCHEMA IF NOT EXISTS quality;
GRANT USAGE, CREATE ON SCHEMA quality TO minewatch_owner;
GRANT USAGE ON SCHEMA quality TO minewatch_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA quality GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO minewatch_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA quality GRANT USAGE, SELECT ON SEQUENCES TO minewatch_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA quality GRANT ALL ON TABLES TO minewatch_owner;

CREATE TABLE IF NOT EXISTS quality.validation (
    validation_id    bigserial   PRIMARY KEY,
    batch_id         uuid        NOT NULL,   -- the suite runs over one batch share it
    validated_at     timestamptz NOT NULL DEFAULT now(),
    suite            text        NOT NULL,   -- <feed>.<table> or <feed>.files.<kind> (expectations/)
    feed             text        NOT NULL,
    kind             text        NOT NULL,
    mine_code        text,                   -- empty for files without a mine (registry, meter readings)
    file_ids         bigint[]    NOT NULL,   -- ledger.file ids of the batch
    rows_checked     bigint      NOT NULL,
    expectations     integer     NOT NULL,
    failed_critical  integer     NOT NULL,
    failed_warning   integer     NOT NULL,
    success          boolean     NOT NULL,   -- no critical expectation of this suite failed
    outcome          text        NOT NULL CHECK (outcome IN ('passed', 'warning', 'held', 'accepted')),
    duration_ms      integer     NOT NULL,   -- this suite's share of the batch's validation time
    alerted_at       timestamptz             -- when the alert step took this run into account
);
COMMENT ON TABLE quality.validation IS
    'one row per run of one expectation suite over one batch; outcome is the batch''s: passed, warning (loaded, recorded), held (a critical expectation failed: its files are in quarantine), accepted (released with --accept despite failures)';

CREATE INDEX IF NOT EXISTS validation_file_ids ON quality.validation USING gin (file_ids);
CREATE INDEX IF NOT EXISTS validation_unalerted ON quality.validation (validation_id) WHERE alerted_at IS NULL;
CREATE INDEX IF NOT EXISTS validation_feed_mine_time ON quality.validation (feed, mine_code, validated_at);

CREATE TABLE IF NOT EXISTS quality.expectation_result (
    validation_id       bigint  NOT NULL REFERENCES quality.validation (validation_id) ON DELETE CASCADE,
    check_name          text    NOT NULL,   -- the expectation's stable name in its suite
    expectation_type    text    NOT NULL,   -- e.g. expect_column_values_to_be_between
    column_name         text,
    severity            text    NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    success             boolean NOT NULL,
    element_count       bigint,
    unexpected_count    bigint,
    unexpected_percent  double precision,
    observed_value      double precision,   -- for aggregate expectations (a mean, a share, a count)
    summary             text,               -- failed only: what must hold and what was seen, in plain words
    sample              jsonb,              -- failed only: a few offending records (file, record no., values)
    PRIMARY KEY (validation_id, check_name)
);
COMMENT ON TABLE quality.expectation_result IS 'one row per expectation per suite run';

CREATE TABLE IF NOT EXISTS quality.incident (
    incident_id     bigserial   PRIMARY KEY,
    feed            text        NOT NULL,
    mine_code       text,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    failing_kinds   text[]      NOT NULL,   -- file kinds whose latest batch failed; empty = recovered
    failures        integer     NOT NULL DEFAULT 0,   -- held batches over the incident's life
    unreported      integer     NOT NULL DEFAULT 0,   -- held batches no mail has told of yet
    mails_sent      integer     NOT NULL DEFAULT 0,
    last_mailed_at  timestamptz,
    first_batch_id  uuid,
    last_batch_id   uuid
);
COMMENT ON TABLE quality.incident IS
    'one row per data-quality incident of a feed and mine: opened by a held batch, closed when every failing file kind passes again';
CREATE UNIQUE INDEX IF NOT EXISTS incident_open ON quality.incident (feed, coalesce(mine_code, '')) WHERE closed_at IS NULL;

CREATE TABLE IF NOT EXISTS quality.mail (
    mail_id      bigserial   PRIMARY KEY,
    sent_at      timestamptz NOT NULL DEFAULT now(),
    kind         text        NOT NULL CHECK (kind IN ('incident_opened', 'incident_recovered', 'quality_digest',
                                                      'risk_digest')),
    incident_id  bigint      REFERENCES quality.incident (incident_id),
    digest_key   text,                   -- what a digest covers (e.g. the day of a risk digest)
    subject      text        NOT NULL,
    recipients   text[]      NOT NULL,
    transport    text        NOT NULL CHECK (transport IN ('smtp', 'outbox')),
    outbox_path  text,
    error        text                    -- why SMTP failed, when the mail went to the outbox instead
);
COMMENT ON TABLE quality.mail IS
    'one row per alert mail about the data, sent over SMTP or written to the outbox as .eml (task failure mails are not kept here: the warehouse may be what failed)';
CREATE INDEX IF NOT EXISTS mail_kind_key ON quality.mail (kind, digest_key);

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA quality TO minewatch_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA quality TO minewatch_loader;
GRANT ALL ON ALL TABLES IN SCHEMA quality TO minewatch_owner;
