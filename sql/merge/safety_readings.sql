-- Merge staged readings (CDSS, AQSS, CSV) into core.safety_reading, partitioned by China-local day.
-- A batch whose readings are all new and defined does not come here: the load path COPYs it
-- straight into the table (core.safety_readings_are_new, migration 0013). This merge takes the
-- rest: readings of unknown points, re-sent cycles, and a point and time twice in one batch.

-- the sort of step 3 (a batch holds a few hundred thousand readings) in memory, not in temp files
SET LOCAL work_mem = '64MB';

-- 1. a reading of a point its mine has never defined is held in quarantine (unknown_point, contract
--    B.3 and I.1) with its values, and loaded once a definition arrives (core.release_safety_unknown_points)
WITH unknown AS (
    SELECT s.*
      FROM stage_safety_readings s
     WHERE NOT EXISTS (SELECT 1 FROM core.safety_point_definition d
                        WHERE d.mine_code = s.mine_code AND d.point_code = s.point_code)
),
held AS (
    INSERT INTO quarantine.record (file_id, record_no, feed, kind, mine_code, reason, detail, raw_text)
    SELECT u.file_id, u.record_no, 'safety', f.kind, u.mine_code, 'unknown_point',
           format('point %s of mine %s has no definition (CDDY, AQMC or AQKC) yet; loaded when one arrives',
                  u.point_code, u.mine_code),
           concat_ws(';', u.point_code, to_char(u.sampled_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'),
                     u.value, u.raw_status)
      FROM unknown u JOIN ledger.file f ON f.file_id = u.file_id
    ON CONFLICT DO NOTHING
    RETURNING quarantine_id, file_id, record_no
)
INSERT INTO quarantine.safety_reading_held
       (quarantine_id, file_id, record_no, mine_code, point_code, sampled_at, value, raw_status, conditions, dialect)
SELECT h.quarantine_id, u.file_id, u.record_no, u.mine_code, u.point_code, u.sampled_at, u.value, u.raw_status,
       u.conditions, u.dialect
  FROM held h JOIN unknown u ON u.file_id = h.file_id AND u.record_no = h.record_no;

DELETE FROM stage_safety_readings s
 WHERE NOT EXISTS (SELECT 1 FROM core.safety_point_definition d
                    WHERE d.mine_code = s.mine_code AND d.point_code = s.point_code);

-- 2. the daily partitions the batch's sample times fall in
SELECT count(*) AS partitions_created
  FROM (SELECT core.ensure_safety_reading_partitions(min(sampled_at), max(sampled_at)) AS created
          FROM stage_safety_readings
         GROUP BY (sampled_at AT TIME ZONE 'Asia/Shanghai')::date) AS days
 WHERE created > 0;

-- 3. one row per point and sample time: the latest delivery wins (contract J), so a file delivered
--    twice or a cycle split over two files loads each reading once
SELECT core.upsert_latest_delivery(
    'core.safety_reading'::regclass,
    'stage_safety_readings'::regclass,
    ARRAY['mine_code', 'point_code', 'sampled_at'],
    ARRAY['value', 'raw_status', 'conditions']
);
