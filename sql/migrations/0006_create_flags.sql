-- Findings of detection (contract G.1), read by BI through mart.flags.
-- A finding's identity is (mine, code, subject, start): re-running detection over the same
-- data updates the same row (same flag_id); new data extends or closes an open finding.

CREATE TABLE IF NOT EXISTS core.flag (
    flag_id       bigserial   PRIMARY KEY,
    mine_code     text        NOT NULL,
    flag_code     text        NOT NULL,
    subject_kind  text        NOT NULL CHECK (subject_kind IN ('mine', 'point', 'station', 'card', 'camera', 'meter', 'area', 'seal')),
    subject_code  text        NOT NULL,
    area_code     text,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    severity      smallint    NOT NULL CHECK (severity BETWEEN 1 AND 3),
    evidence      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    detected_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (mine_code, flag_code, subject_kind, subject_code, started_at)
);
COMMENT ON TABLE core.flag IS 'one row per finding: a flag code on one subject from its start (contract G)';
CREATE INDEX IF NOT EXISTS flag_mine_time ON core.flag (mine_code, started_at);
