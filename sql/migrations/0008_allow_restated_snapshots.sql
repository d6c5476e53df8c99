-- A snapshot whose bytes carry no time of its own (a registry CSV overwritten in place, a pulled
-- camera inventory) may come back to earlier content: areas.csv says A, then B, then A again.
-- The third delivery is news (the registry went back), but it has the path and bytes of the
-- first. `restatement` counts such returns of one path and content (0 for the first delivery),
-- so each is a ledger row of its own and the history follows what was received.

ALTER TABLE ledger.file ADD COLUMN IF NOT EXISTS restatement integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN ledger.file.restatement IS
    '0 for the first delivery of a path and content; n for the n-th time a snapshot kind (registry CSV, camera inventory) came back to this content after other content at the same path';

-- the same path with the same content is one delivery (replaying it is a no-op), unless it restates
DROP INDEX IF EXISTS ledger.file_path_content;
CREATE UNIQUE INDEX IF NOT EXISTS file_path_content ON ledger.file (path, sha256, restatement);
