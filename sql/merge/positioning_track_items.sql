-- Merge staged track items (RYSS field 15) into core.positioning_track_item. The same item repeats in
-- every snapshot of a stay: only an item not yet stored, or listed by an earlier snapshot than the
-- one stored (a late file), is written; the row names the earliest snapshot that listed it.
WITH earliest AS (
    SELECT DISTINCT ON (s.mine_code, s.card_code, s.passed_at, s.station_code)
           s.mine_code, s.card_code, s.passed_at, s.station_code, s.area_code, s.observed_at, s.file_id, s.record_no
      FROM stage_positioning_track_items s
     ORDER BY s.mine_code, s.card_code, s.passed_at, s.station_code, s.observed_at, s.file_id, s.record_no
)
INSERT INTO core.positioning_track_item AS t
       (mine_code, card_code, passed_at, station_code, area_code, observed_at, file_id, record_no)
SELECT e.mine_code, e.card_code, e.passed_at, e.station_code, e.area_code, e.observed_at, e.file_id, e.record_no
  FROM earliest e
 WHERE NOT EXISTS (SELECT 1 FROM core.positioning_track_item k
                    WHERE k.mine_code = e.mine_code AND k.card_code = e.card_code AND k.passed_at = e.passed_at
                      AND k.station_code = e.station_code AND k.observed_at <= e.observed_at)
ON CONFLICT (mine_code, card_code, passed_at, station_code) DO UPDATE
   SET area_code = EXCLUDED.area_code, observed_at = EXCLUDED.observed_at,
       file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no
 WHERE EXCLUDED.observed_at < t.observed_at;
