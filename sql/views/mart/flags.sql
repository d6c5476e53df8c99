-- mart.flags: the findings, one row per flag (contract G). Stable interface for BI tools.

CREATE OR REPLACE VIEW mart.flags AS
SELECT f.flag_id,
       f.mine_code,
       f.flag_code,
       f.subject_kind,
       f.subject_code,
       f.area_code,
       f.started_at,
       f.ended_at,
       f.severity,
       f.evidence
  FROM core.flag f;
COMMENT ON VIEW mart.flags IS 'one row per finding (contract G.1 codes); ended_at NULL while it goes on';
