-- PERSONNEL_BEHIND_SEAL (contract G.1): a card read in an area whose registry kind is sealed or goaf.
-- Reads core.positioning_presence (a card's unbroken presence in one area, built from RYSS snapshots
-- and REST reads) and the registry's area versions (core.area). One finding per area and episode:
-- presences of any cards there that overlap or touch make one episode, from the first card's entry
-- to the last one's leaving; still open (ended_at NULL) while a card is there.
WITH area_versions AS (
    -- every registry version of every area, in force from its start until the next version (the
    -- first version also before it: the registry may arrive after the cards), or until it was dropped
    SELECT a.mine_code, a.area_code, a.area_name, a.kind,
           CASE WHEN lag(a.valid_from) OVER w IS NULL THEN '-infinity'::timestamptz ELSE a.valid_from END AS from_at,
           coalesce(lead(a.valid_from) OVER w, a.valid_to, 'infinity'::timestamptz) AS to_at
      FROM core.area a
    WINDOW w AS (PARTITION BY a.mine_code, a.area_code ORDER BY a.valid_from)
),
behind_seal AS (
    -- the versions that say the area lies behind a seal
    SELECT * FROM area_versions WHERE kind IN ('sealed', 'goaf')
),
reads_there AS (
    -- presences with at least one read while the registry said sealed or goaf
    SELECT p.mine_code, p.area_code, p.card_code, p.entered_at, coalesce(p.left_at, 'infinity'::timestamptz) AS end_at,
           p.last_read_at, p.reads, v.kind, v.area_name, p.file_id, p.record_no
      FROM core.positioning_presence p
      JOIN behind_seal v
        ON v.mine_code = p.mine_code AND v.area_code = p.area_code
       AND p.entered_at < v.to_at AND coalesce(p.left_at, 'infinity'::timestamptz) > v.from_at
     WHERE p.reads > 0
),
episodes AS (
    -- a presence that begins after every earlier one of the area has ended opens a new episode
    SELECT r.*,
           sum(CASE WHEN r.entered_at <= r.ended_before THEN 0 ELSE 1 END)
               OVER (PARTITION BY r.mine_code, r.area_code ORDER BY r.entered_at, r.card_code) AS episode
      FROM (SELECT x.*, max(x.end_at) OVER (PARTITION BY x.mine_code, x.area_code ORDER BY x.entered_at, x.card_code
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS ended_before
              FROM reads_there x) r
),
per_episode AS (
    SELECT e.mine_code, e.area_code, min(e.entered_at) AS started_at, max(e.end_at) AS end_at,
           array_agg(DISTINCT e.card_code ORDER BY e.card_code) AS cards, sum(e.reads) AS reads,
           max(e.last_read_at) AS last_read_at, max(e.kind) AS kind, max(e.area_name) AS area_name,
           min(e.file_id) AS file_id, min(e.record_no) AS record_no
      FROM episodes e
     GROUP BY e.mine_code, e.area_code, e.episode
)
SELECT p.mine_code,
       'PERSONNEL_BEHIND_SEAL'::text AS flag_code,
       'area'::text AS subject_kind,
       p.area_code AS subject_code,
       p.area_code,
       p.started_at,
       CASE WHEN p.end_at = 'infinity'::timestamptz THEN NULL ELSE p.end_at END AS ended_at,
       3::smallint AS severity,
       jsonb_strip_nulls(jsonb_build_object(
           'why', format('cards were read in an area the registry lists as %s', p.kind),
           'area name', p.area_name,
           'cards', p.cards,
           'reads', p.reads,
           'last read', p.last_read_at,
           'first observation file id', p.file_id,
           'record', p.record_no)) AS evidence
  FROM per_episode p
