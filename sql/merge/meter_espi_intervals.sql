-- Merge staged Green Button readings (E.1 *.xml) into core.meter_espi_reading, then rebuild the
-- energy intervals of the meters they touch (core.meter_interval; rules in sql/views/core/meters.sql).
-- One row per UsagePoint and interval start: the latest delivery wins (contract J), so an interval
-- sent again in a later file is stored once, with the later value.

-- 1. the batch's latest delivery of every usage point and interval start, and the registry meter it belongs to
DROP TABLE IF EXISTS meter_espi_batch;
CREATE TEMP TABLE meter_espi_batch ON COMMIT DROP AS
SELECT DISTINCT ON (s.usage_point_href, s.interval_start)
       s.*, s.interval_start + make_interval(secs => s.duration_s) AS interval_end, ledger.delivery_rank(f) AS delivery_rank
  FROM stage_meter_espi_intervals s JOIN ledger.file f ON f.file_id = s.file_id
 ORDER BY s.usage_point_href, s.interval_start, ledger.delivery_rank(f) DESC, s.record_no DESC;

DROP TABLE IF EXISTS meter_espi_match;
CREATE TEMP TABLE meter_espi_match ON COMMIT DROP AS
SELECT m.usage_point_href, m.effective_from, m.effective_to, m.mine_code, m.meter_id, m.candidates, m.named
  FROM core.match_usage_points(ARRAY(SELECT DISTINCT b.usage_point_href FROM meter_espi_batch b)) m;

DROP TABLE IF EXISTS meter_changed;
CREATE TEMP TABLE meter_changed (mine_code text, meter_id text, from_at timestamptz, to_at timestamptz) ON COMMIT DROP;

-- 2. readings this batch replaces: the intervals of the meter they were bound to change too, and one
--    that was held as unknown_point is no longer held (the later delivery stands for it)
INSERT INTO meter_changed
SELECT e.mine_code, e.meter_id, min(e.interval_start), max(e.interval_end)
  FROM core.meter_espi_reading e
  JOIN meter_espi_batch b ON b.usage_point_href = e.usage_point_href AND b.interval_start = e.interval_start
 WHERE e.mine_code IS NOT NULL
   AND b.delivery_rank >= (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = e.file_id)
 GROUP BY e.mine_code, e.meter_id;

UPDATE quarantine.record q
   SET status = 'released', resolved_at = now(),
       detail = q.detail || format('; replaced by a later delivery (file %s, record %s)', b.file_id, b.record_no)
  FROM core.meter_espi_reading e
  JOIN meter_espi_batch b ON b.usage_point_href = e.usage_point_href AND b.interval_start = e.interval_start
 WHERE e.mine_code IS NULL
   AND q.file_id = e.file_id AND q.record_no = e.record_no AND q.reason = 'unknown_point' AND q.status = 'held'
   AND b.delivery_rank > (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = e.file_id);

-- 3. store the readings; a stored one is replaced only by a delivery that ranks as late or later
--    (the same delivery again, e.g. a quarantine release, re-applies it)
WITH applied AS (
    INSERT INTO core.meter_espi_reading AS t (
        usage_point_href, interval_start, interval_end, usage_point_id, duration_s, accumulation, energy_kwh,
        reading_kwh, raw_value, power_of_ten, uom, accumulation_behaviour, interval_length_s, quality,
        meter_reading_href, reading_type_href, mine_code, meter_id, file_id, record_no)
    SELECT b.usage_point_href, b.interval_start, b.interval_end, b.usage_point_id, b.duration_s, b.accumulation,
           b.energy_kwh, b.reading_kwh, b.raw_value, b.power_of_ten, b.uom, b.accumulation_behaviour,
           b.interval_length_s, b.quality, b.meter_reading_href, b.reading_type_href, m.mine_code, m.meter_id,
           b.file_id, b.record_no
      FROM meter_espi_batch b
      LEFT JOIN meter_espi_match m
        ON m.usage_point_href = b.usage_point_href
       AND b.interval_start >= m.effective_from AND b.interval_start < m.effective_to
    ON CONFLICT (usage_point_href, interval_start) DO UPDATE
       SET interval_end = EXCLUDED.interval_end, usage_point_id = EXCLUDED.usage_point_id,
           duration_s = EXCLUDED.duration_s, accumulation = EXCLUDED.accumulation, energy_kwh = EXCLUDED.energy_kwh,
           reading_kwh = EXCLUDED.reading_kwh, raw_value = EXCLUDED.raw_value, power_of_ten = EXCLUDED.power_of_ten,
           uom = EXCLUDED.uom, accumulation_behaviour = EXCLUDED.accumulation_behaviour,
           interval_length_s = EXCLUDED.interval_length_s, quality = EXCLUDED.quality,
           meter_reading_href = EXCLUDED.meter_reading_href, reading_type_href = EXCLUDED.reading_type_href,
           mine_code = EXCLUDED.mine_code, meter_id = EXCLUDED.meter_id,
           file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no
     WHERE (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = EXCLUDED.file_id)
        >= (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = t.file_id)
    RETURNING t.mine_code, t.meter_id, t.interval_start, t.interval_end
)
INSERT INTO meter_changed
SELECT a.mine_code, a.meter_id, min(a.interval_start), max(a.interval_end)
  FROM applied a WHERE a.mine_code IS NOT NULL
 GROUP BY a.mine_code, a.meter_id;

-- 4. a reading of a usage point the registry does not name (or names for several meters) is kept
--    unbound and held as unknown_point; a registry meters.csv load binds and releases it
INSERT INTO quarantine.record (file_id, record_no, feed, kind, mine_code, reason, detail, raw_text)
SELECT b.file_id, b.record_no, f.feed, f.kind, NULL, 'unknown_point',
       CASE WHEN m.candidates = 0
            THEN format('UsagePoint %s is in no usage_point of registry/meters.csv (neither its href nor its last '
                        'segment %s): its meter, mine and area are unknown; kept and bound when the registry lists it',
                        b.usage_point_href, b.usage_point_id)
            ELSE format('UsagePoint %s is the usage_point of %s meters in registry/meters.csv (%s); kept and bound '
                        'when only one lists it', b.usage_point_href, m.candidates, m.named) END,
       format('<IntervalReading><timePeriod><duration>%s</duration><start>%s</start></timePeriod><value>%s</value></IntervalReading>',
              b.duration_s, extract(epoch FROM b.interval_start)::bigint, b.raw_value)
  FROM meter_espi_batch b
  JOIN meter_espi_match m
    ON m.usage_point_href = b.usage_point_href
   AND b.interval_start >= m.effective_from AND b.interval_start < m.effective_to
  JOIN ledger.file f ON f.file_id = b.file_id
 WHERE m.candidates <> 1
   AND EXISTS (SELECT 1 FROM core.meter_espi_reading e
                WHERE e.usage_point_href = b.usage_point_href AND e.interval_start = b.interval_start
                  AND e.file_id = b.file_id AND e.record_no = b.record_no)
ON CONFLICT DO NOTHING;

-- 5. the intervals of the meters whose readings changed
SELECT core.rebuild_meter_intervals(array_agg(c.mine_code), array_agg(c.meter_id), array_agg(c.from_at), array_agg(c.to_at))
  FROM meter_changed c;
