-- Merge staged card observations (RYSS snapshots, REST reads) into core.positioning_observation, one
-- row per mine, card and observed_at (the latest delivery of the same key wins, contract J); decide
-- which RYSS rows are reads; then rebuild the shaft stays and presences the delivery touches
-- (core.rebuild_positioning_stays, rules in sql/views/core/positioning.sql).

-- 1. the batch's latest delivery of every key; a key stored from a later delivery keeps it
DROP TABLE IF EXISTS positioning_batch;
CREATE TEMP TABLE positioning_batch ON COMMIT DROP AS
WITH delivery AS (
    SELECT f.file_id, ledger.delivery_rank(f) AS delivery_rank
      FROM ledger.file f WHERE f.file_id IN (SELECT DISTINCT s.file_id FROM stage_positioning_observations s)
)
SELECT DISTINCT ON (s.mine_code, s.card_code, s.observed_at) s.*, d.delivery_rank
  FROM stage_positioning_observations s JOIN delivery d ON d.file_id = s.file_id
 ORDER BY s.mine_code, s.card_code, s.observed_at, d.delivery_rank DESC, s.record_no DESC;

WITH stored AS (
    -- the stored rows among the batch's times, one index range scan per card (OFFSET 0: never the whole table)
    SELECT k.mine_code, k.card_code, k.observed_at, k.file_id
      FROM (SELECT b.mine_code, b.card_code, min(b.observed_at) AS lo, max(b.observed_at) AS hi
              FROM positioning_batch b GROUP BY b.mine_code, b.card_code) c
      CROSS JOIN LATERAL (
          SELECT o.mine_code, o.card_code, o.observed_at, o.file_id FROM core.positioning_observation o
           WHERE o.mine_code = c.mine_code AND o.card_code = c.card_code AND o.observed_at BETWEEN c.lo AND c.hi
          OFFSET 0) k
)
DELETE FROM positioning_batch b
 USING stored o JOIN ledger.file f ON f.file_id = o.file_id
 WHERE o.mine_code = b.mine_code AND o.card_code = b.card_code AND o.observed_at = b.observed_at
   AND ledger.delivery_rank(f) > b.delivery_rank;

-- 2. reads (contract J): a RYSS row is a read when the card's station, station time, distance or
--    latest track item differs from its previous RYSS row; its first row is a read. The sequence
--    per card: the stored row before the batch's first, the batch's rows, stored rows among them
--    and the stored row after the batch's last (whose predecessor may now be a batch row).
DROP TABLE IF EXISTS positioning_read_seq;
CREATE TEMP TABLE positioning_read_seq ON COMMIT DROP AS
WITH span AS (
    SELECT b.mine_code, b.card_code, min(b.observed_at) AS lo, max(b.observed_at) AS hi
      FROM positioning_batch b WHERE b.source_kind = 'RYSS'
     GROUP BY b.mine_code, b.card_code
),
bounds AS (
    SELECT s.*,
           (SELECT max(o.observed_at) FROM core.positioning_observation o
             WHERE o.mine_code = s.mine_code AND o.card_code = s.card_code AND o.source_kind = 'RYSS'
               AND o.observed_at < s.lo) AS before_lo,
           (SELECT min(o.observed_at) FROM core.positioning_observation o
             WHERE o.mine_code = s.mine_code AND o.card_code = s.card_code AND o.source_kind = 'RYSS'
               AND o.observed_at > s.hi) AS after_hi
      FROM span s
),
sequence AS (
    SELECT b.mine_code, b.card_code, b.observed_at, b.station_code, b.entered_station_at, b.distance_m,
           b.last_track_station, b.last_track_at, true AS in_batch, x.lo
      FROM positioning_batch b JOIN bounds x ON x.mine_code = b.mine_code AND x.card_code = b.card_code
     WHERE b.source_kind = 'RYSS'
    UNION ALL
    SELECT o.mine_code, o.card_code, o.observed_at, o.station_code, o.entered_station_at, o.distance_m,
           o.last_track_station, o.last_track_at, false, x.lo
      FROM bounds x
      CROSS JOIN LATERAL (  -- one index range scan per card (OFFSET 0: never a scan of the whole table)
          SELECT * FROM core.positioning_observation k
           WHERE k.mine_code = x.mine_code AND k.card_code = x.card_code
             AND k.observed_at BETWEEN coalesce(x.before_lo, x.lo) AND coalesce(x.after_hi, x.hi)
          OFFSET 0) o
     WHERE o.source_kind = 'RYSS'
       AND NOT EXISTS (SELECT 1 FROM positioning_batch b
                        WHERE b.mine_code = o.mine_code AND b.card_code = o.card_code AND b.observed_at = o.observed_at)
)
SELECT q.mine_code, q.card_code, q.observed_at, q.in_batch, q.lo,
       lag(q.observed_at) OVER w IS NULL
       OR (q.station_code, q.entered_station_at, q.distance_m, q.last_track_station, q.last_track_at)
          IS DISTINCT FROM (lag(q.station_code) OVER w, lag(q.entered_station_at) OVER w, lag(q.distance_m) OVER w,
                            lag(q.last_track_station) OVER w, lag(q.last_track_at) OVER w) AS is_read
  FROM sequence q
WINDOW w AS (PARTITION BY q.mine_code, q.card_code ORDER BY q.observed_at);

-- stored rows that now follow a batch row (a late, earlier snapshot) are decided again
UPDATE core.positioning_observation o SET is_read = q.is_read
  FROM positioning_read_seq q
 WHERE NOT q.in_batch AND q.observed_at > q.lo
   AND o.mine_code = q.mine_code AND o.card_code = q.card_code AND o.observed_at = q.observed_at
   AND o.is_read IS DISTINCT FROM q.is_read;

-- 3. store the observations
INSERT INTO core.positioning_observation AS t
       (mine_code, card_code, observed_at, source_kind, person_name, in_mine_flag, entered_mine_at, left_mine_at,
        area_code, entered_area_at, station_code, entered_station_at, labour_org, distance_m, work_status,
        is_leader, is_special, track_items, last_track_station, last_track_at, is_read, file_id, record_no)
SELECT b.mine_code, b.card_code, b.observed_at, b.source_kind, b.person_name, b.in_mine_flag, b.entered_mine_at,
       b.left_mine_at, b.area_code, b.entered_area_at, b.station_code, b.entered_station_at, b.labour_org,
       b.distance_m, b.work_status, b.is_leader, b.is_special, b.track_items, b.last_track_station,
       b.last_track_at, coalesce(q.is_read, b.is_read, true), b.file_id, b.record_no
  FROM positioning_batch b
  LEFT JOIN positioning_read_seq q
    ON q.in_batch AND q.mine_code = b.mine_code AND q.card_code = b.card_code AND q.observed_at = b.observed_at
ON CONFLICT (mine_code, card_code, observed_at) DO UPDATE
   SET source_kind = EXCLUDED.source_kind, person_name = EXCLUDED.person_name, in_mine_flag = EXCLUDED.in_mine_flag,
       entered_mine_at = EXCLUDED.entered_mine_at, left_mine_at = EXCLUDED.left_mine_at,
       area_code = EXCLUDED.area_code, entered_area_at = EXCLUDED.entered_area_at,
       station_code = EXCLUDED.station_code, entered_station_at = EXCLUDED.entered_station_at,
       labour_org = EXCLUDED.labour_org, distance_m = EXCLUDED.distance_m, work_status = EXCLUDED.work_status,
       is_leader = EXCLUDED.is_leader, is_special = EXCLUDED.is_special, track_items = EXCLUDED.track_items,
       last_track_station = EXCLUDED.last_track_station, last_track_at = EXCLUDED.last_track_at,
       is_read = EXCLUDED.is_read, file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no
 WHERE (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = EXCLUDED.file_id)
    >= (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = t.file_id);

-- 4. stays and presences: the cards delivered from their earliest observation, and every snapshot
--    file of the batch (an empty one too: it ends the stays of every card it does not list). A
--    snapshot with a gap in its record numbers lost a record to quarantine: it shows no card absent.
SELECT core.rebuild_positioning_stays(
           array_agg(c.mine_code), array_agg(c.card_code), array_agg(c.from_at),
           ARRAY(SELECT s.file_id FROM stage_positioning_observations s WHERE s.source_kind = 'RYSS'
                  GROUP BY s.file_id HAVING count(DISTINCT s.record_no) < max(s.record_no)))
  FROM (SELECT b.mine_code, b.card_code, min(b.observed_at) AS from_at
          FROM positioning_batch b
         GROUP BY b.mine_code, b.card_code
        UNION ALL
        SELECT f.mine_code, NULL, f.produced_at
          FROM ledger.file f
         WHERE f.feed = 'positioning' AND f.kind = 'RYSS' AND f.status = 'loading' AND f.produced_at IS NOT NULL
           AND f.mine_code IN (SELECT s.mine_code FROM stage_positioning_observations s)) c;
