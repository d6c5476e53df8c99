-- Merge staged explosives issues (F.1 {mine}_explosives_*.csv) into core.explosives_issue.
-- One row per mine and record id: the latest delivery wins (contract J); a stored issue is replaced
-- only by a delivery that ranks as late or later (the same delivery again re-applies it).
WITH batch AS (
    SELECT DISTINCT ON (s.mine_code, s.record_id) s.*
      FROM stage_explosives_issues s JOIN ledger.file f ON f.file_id = s.file_id
     ORDER BY s.mine_code, s.record_id, ledger.delivery_rank(f) DESC, s.record_no DESC
)
INSERT INTO core.explosives_issue AS t (
    mine_code, record_id, issued_at, area_code, explosive_kg, detonators, returned_kg, returned_detonators,
    net_kg, net_detonators, file_id, record_no)
SELECT b.mine_code, b.record_id, b.issued_at, b.area_code, b.explosive_kg, b.detonators, b.returned_kg,
       b.returned_detonators, b.net_kg, b.net_detonators, b.file_id, b.record_no
  FROM batch b
ON CONFLICT (mine_code, record_id) DO UPDATE
   SET issued_at = EXCLUDED.issued_at, area_code = EXCLUDED.area_code, explosive_kg = EXCLUDED.explosive_kg,
       detonators = EXCLUDED.detonators, returned_kg = EXCLUDED.returned_kg,
       returned_detonators = EXCLUDED.returned_detonators, net_kg = EXCLUDED.net_kg,
       net_detonators = EXCLUDED.net_detonators, file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no
 WHERE (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = EXCLUDED.file_id)
    >= (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = t.file_id);
