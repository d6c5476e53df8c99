-- Merge staged register readings (E.2 meter_readings_*.csv) into core.meter_register_reading, then
-- rebuild the energy intervals of the meters they touch (core.meter_interval; rules in
-- sql/views/core/meters.sql). One row per meter and read time: the latest delivery wins (contract J).

-- 1. the batch's latest delivery of every meter and read time, and the registry meter it belongs to
DROP TABLE IF EXISTS meter_register_batch;
CREATE TEMP TABLE meter_register_batch ON COMMIT DROP AS
SELECT DISTINCT ON (s.meter_id, s.read_at)
       s.file_id, s.record_no, s.meter_id, s.read_at, s.import_kwh_register, ledger.delivery_rank(f) AS delivery_rank
  FROM stage_meter_register_readings s JOIN ledger.file f ON f.file_id = s.file_id
 ORDER BY s.meter_id, s.read_at, ledger.delivery_rank(f) DESC, s.record_no DESC;

DROP TABLE IF EXISTS meter_register_match;
CREATE TEMP TABLE meter_register_match ON COMMIT DROP AS
SELECT m.meter_id, m.effective_from, m.effective_to, m.mine_code, m.candidates, m.named
  FROM core.match_register_meters(ARRAY(SELECT DISTINCT b.meter_id FROM meter_register_batch b)) m;

DROP TABLE IF EXISTS meter_changed;
CREATE TEMP TABLE meter_changed (mine_code text, meter_id text, from_at timestamptz, to_at timestamptz) ON COMMIT DROP;

-- 2. readings this batch replaces: the intervals of the meter they were bound to change too, and one
--    that was held as unknown_point is no longer held (the later delivery stands for it)
INSERT INTO meter_changed
SELECT r.mine_code, r.meter_id, min(r.read_at), max(r.read_at)
  FROM core.meter_register_reading r
  JOIN meter_register_batch b ON b.meter_id = r.meter_id AND b.read_at = r.read_at
 WHERE r.mine_code IS NOT NULL
   AND b.delivery_rank >= (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = r.file_id)
 GROUP BY r.mine_code, r.meter_id;

UPDATE quarantine.record q
   SET status = 'released', resolved_at = now(),
       detail = q.detail || format('; replaced by a later delivery (file %s, record %s)', b.file_id, b.record_no)
  FROM core.meter_register_reading r
  JOIN meter_register_batch b ON b.meter_id = r.meter_id AND b.read_at = r.read_at
 WHERE r.mine_code IS NULL
   AND q.file_id = r.file_id AND q.record_no = r.record_no AND q.reason = 'unknown_point' AND q.status = 'held'
   AND b.delivery_rank > (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = r.file_id);

-- 3. store the readings; a stored one is replaced only by a delivery that ranks as late or later
--    (the same delivery again, e.g. a quarantine release, re-applies it)
WITH applied AS (
    INSERT INTO core.meter_register_reading AS t (meter_id, read_at, import_kwh_register, mine_code, file_id, record_no)
    SELECT b.meter_id, b.read_at, b.import_kwh_register, m.mine_code, b.file_id, b.record_no
      FROM meter_register_batch b
      LEFT JOIN meter_register_match m
        ON m.meter_id = b.meter_id AND b.read_at >= m.effective_from AND b.read_at < m.effective_to
    ON CONFLICT (meter_id, read_at) DO UPDATE
       SET import_kwh_register = EXCLUDED.import_kwh_register, mine_code = EXCLUDED.mine_code,
           file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no
     WHERE (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = EXCLUDED.file_id)
        >= (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = t.file_id)
    RETURNING t.mine_code, t.meter_id, t.read_at
)
INSERT INTO meter_changed
SELECT a.mine_code, a.meter_id, min(a.read_at), max(a.read_at)
  FROM applied a WHERE a.mine_code IS NOT NULL
 GROUP BY a.mine_code, a.meter_id;

-- 4. a reading of a meter the registry does not name (or names in several mines) is kept unbound
--    and held as unknown_point; a registry meters.csv load binds and releases it
INSERT INTO quarantine.record (file_id, record_no, feed, kind, mine_code, reason, detail, raw_text)
SELECT b.file_id, b.record_no, f.feed, f.kind, NULL, 'unknown_point',
       CASE WHEN m.candidates = 0
            THEN format('meter %s is not in registry/meters.csv: its mine and area are unknown; kept and bound when the registry lists it',
                        b.meter_id)
            ELSE format('meter %s is listed by %s mines in registry/meters.csv (%s); kept and bound when only one lists it',
                        b.meter_id, m.candidates, m.named) END,
       concat_ws(',', b.meter_id, to_char(b.read_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
                 b.import_kwh_register)
  FROM meter_register_batch b
  JOIN meter_register_match m
    ON m.meter_id = b.meter_id AND b.read_at >= m.effective_from AND b.read_at < m.effective_to
  JOIN ledger.file f ON f.file_id = b.file_id
 WHERE m.candidates <> 1
   AND EXISTS (SELECT 1 FROM core.meter_register_reading r
                WHERE r.meter_id = b.meter_id AND r.read_at = b.read_at AND r.file_id = b.file_id AND r.record_no = b.record_no)
ON CONFLICT DO NOTHING;

-- 5. the intervals of the meters whose readings changed
SELECT core.rebuild_meter_intervals(array_agg(c.mine_code), array_agg(c.meter_id), array_agg(c.from_at), array_agg(c.to_at))
  FROM meter_changed c;
