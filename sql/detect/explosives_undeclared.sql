-- EXPLOSIVES_UNDECLARED (contract G.1): explosives issued to an area that is not a declared
-- working face or heading, as the registry stood when they were issued.
-- One finding per issue (the ledger record), critical when the area is behind a seal or
-- unknown to the registry, a warning for any other undeclared place (a roadway, a shaft).
WITH issues AS (
    -- every issue with the registry's word on its area at the time
    SELECT * FROM core.explosives_issue_area
),
undeclared AS (
    -- the issues that went where no declared work is
    SELECT * FROM issues WHERE NOT is_declared_workplace
)
SELECT u.mine_code,
       'EXPLOSIVES_UNDECLARED'::text AS flag_code,
       'area'::text AS subject_kind,
       u.area_code AS subject_code,
       u.area_code,
       u.issued_at AS started_at,
       u.issued_at AS ended_at,
       (CASE WHEN NOT u.is_area_known OR u.area_kind IN ('sealed', 'goaf') THEN 3 ELSE 2 END)::smallint AS severity,
       jsonb_build_object(
           'why', CASE WHEN NOT u.is_area_known THEN 'the registry does not know this area'
                       ELSE 'the area is a ' || u.area_kind || ', not a declared working face or heading' END,
           'ledger record', u.record_id,
           'net explosive kg', u.net_kg,
           'net detonators', u.net_detonators,
           'registry area name', u.area_name,
           'file id', u.file_id,
           'record', u.record_no) AS evidence
  FROM undeclared u
