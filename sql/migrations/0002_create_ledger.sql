-- The ingestion ledger: every landing file minewatch has seen, before anything is parsed.
-- A file's bytes are archived under their sha256 (archive_key), so nothing received is lost.

CREATE TABLE IF NOT EXISTS ledger.file (
    file_id        bigserial PRIMARY KEY,
    path           text        NOT NULL,   -- where it was found, as given to minewatch
    name           text        NOT NULL,   -- base name; its pattern gives feed and kind (contract A)
    size_bytes     bigint      NOT NULL,
    sha256         text        NOT NULL,
    feed           text        NOT NULL,   -- registry, safety, positioning, video, meters, explosives, unknown
    kind           text        NOT NULL,   -- CDSS, AQMC, areas, …; 'unrecognized' when no pattern matched
    mine_code      text,                   -- from the name or the header; empty for meter files
    name_stamp     timestamp,              -- the time stamp in the file name (local mine time)
    produced_at    timestamptz,            -- the header's upload / generation time
    received_at    timestamptz NOT NULL DEFAULT now(),  -- first seen by minewatch
    pending_since  timestamptz,            -- an untrailered file: when its current content was first seen
    status         text        NOT NULL,
    duplicate_of   bigint REFERENCES ledger.file (file_id),
    rows_loaded    integer     NOT NULL DEFAULT 0,
    rows_rejected  integer     NOT NULL DEFAULT 0,
    error          text,                   -- one line: why it failed or is held
    loaded_at      timestamptz,
    CONSTRAINT file_status_known CHECK (status IN
        ('loading', 'loaded', 'duplicate', 'quarantined', 'pending', 'failed', 'unrecognized', 'discarded'))
);

COMMENT ON TABLE ledger.file IS
    'one row per delivery: a landing file (path and content) as first seen; the same content under another name is a duplicate row';
COMMENT ON COLUMN ledger.file.status IS
    'loading (in progress), loaded, duplicate (same sha256 as an earlier delivery, not loaded again), quarantined (held whole), pending (no trailer yet), failed (load error, retried next run), unrecognized (name matches no pattern), discarded';

-- the same path with the same content is one delivery: replaying it is a no-op
CREATE UNIQUE INDEX IF NOT EXISTS file_path_content ON ledger.file (path, sha256);
CREATE INDEX IF NOT EXISTS file_sha256 ON ledger.file (sha256);
CREATE INDEX IF NOT EXISTS file_feed_status ON ledger.file (feed, kind, status);
CREATE INDEX IF NOT EXISTS file_pending_path ON ledger.file (path) WHERE status = 'pending';

-- the order in which deliveries of the same key are applied (contract J: header time, then
-- file-name stamp, then ledger entry); a later delivery replaces an earlier one
CREATE OR REPLACE FUNCTION ledger.delivery_rank(f ledger.file) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(to_char(f.produced_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS'), '00000000000000')
        || coalesce(to_char(f.name_stamp, 'YYYYMMDDHH24MISS'), '00000000000000')
        || lpad(f.file_id::text, 19, '0')
$$;
