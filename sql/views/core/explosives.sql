-- Explosives issues with the registry's word on their area (contract F.1, F.2): is it known, and
-- is it a declared working place (a face or heading the mine declared active)? An issue anywhere
-- else is evidence (EXPLOSIVES_UNDECLARED), an unknown area too (UNREGISTERED_AREA).
-- The area version is the one in force when the explosives were issued; the first registry
-- version also covers the time before it (the registry snapshot came later than the ledger), and
-- an area removed from the registry is unknown from its removal on.

CREATE OR REPLACE VIEW core.explosives_issue_area AS
WITH area_versions AS (
    -- every registry area version with the time it is in force
    SELECT a.mine_code, a.area_code, a.area_name, a.kind, a.is_declared_active,
           CASE WHEN lag(a.valid_from) OVER w IS NULL THEN '-infinity'::timestamptz ELSE a.valid_from END AS effective_from,
           coalesce(a.valid_to, 'infinity'::timestamptz) AS effective_to
      FROM core.area a
    WINDOW w AS (PARTITION BY a.mine_code, a.area_code ORDER BY a.valid_from)
)
SELECT e.mine_code, e.record_id, e.issued_at, e.area_code, e.explosive_kg, e.detonators, e.returned_kg,
       e.returned_detonators, e.net_kg, e.net_detonators,
       av.area_code IS NOT NULL AS is_area_known,
       av.area_name, av.kind AS area_kind, av.is_declared_active,
       coalesce(av.kind IN ('working_face', 'heading') AND av.is_declared_active, false) AS is_declared_workplace,
       e.file_id, e.record_no
  FROM core.explosives_issue e
  LEFT JOIN area_versions av
    ON av.mine_code = e.mine_code AND av.area_code = e.area_code
   AND e.issued_at >= av.effective_from AND e.issued_at < av.effective_to;
COMMENT ON VIEW core.explosives_issue_area IS
    'one row per explosives issue with its area as the registry had it then: known, kind, declared; is_declared_workplace false = issued where no declared face or heading is';
