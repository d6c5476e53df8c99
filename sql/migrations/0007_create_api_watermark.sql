-- Where each vendor API pull stands (contract C.2, D.1): one row per feed, endpoint and mine.
-- `watermark` is the greatest receive time among the items of the pages already committed; the
-- next pull asks for `since=watermark` (inclusive) and the merge de-duplicates by natural key, so a
-- pull that dies half-way neither loses nor duplicates anything. It is written in the same
-- transaction as the page's rows (minewatch.pull), never ahead of them.

CREATE TABLE IF NOT EXISTS ledger.api_watermark (
    feed        text        NOT NULL,   -- positioning or video
    endpoint    text        NOT NULL,   -- positions, video_events
    mine_code   text        NOT NULL,
    watermark   timestamptz NOT NULL,   -- greatest receive time committed so far
    file_id     bigint      REFERENCES ledger.file (file_id),  -- the page that set it (NULL: a page already held)
    pages       bigint      NOT NULL DEFAULT 0,  -- pages committed under this watermark row, all pulls together
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feed, endpoint, mine_code)
);

COMMENT ON TABLE ledger.api_watermark IS
    'per vendor API endpoint and mine: the greatest item receive time whose page is committed; the next pull starts there (since is inclusive)';
