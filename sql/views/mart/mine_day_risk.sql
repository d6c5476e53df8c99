-- mart.mine_day_risk: one row per mine and local calendar day (China time) that has findings.
--
-- The score adds, per flag code present that day, 30 for a critical finding, 10 for a
-- warning and 2 for information, capped at 100. An inspector should verify by unsealing
-- (启封核查) when a concealed-works finding (power or people behind a seal, power with no
-- monitoring or no personnel, explosives to an undeclared area) falls on the same day as
-- a monitoring gap or shielding finding: work went on while the witnesses were blind.

CREATE OR REPLACE VIEW mart.mine_day_risk AS
WITH flag_days AS (
    -- every local day each finding touches
    SELECT f.mine_code, f.flag_code, f.severity,
           generate_series(
               date_trunc('day', f.started_at AT TIME ZONE 'Asia/Shanghai'),
               date_trunc('day', coalesce(f.ended_at, now()) AT TIME ZONE 'Asia/Shanghai'),
               interval '1 day')::date AS day
      FROM core.flag f
),
codes AS (
    -- one row per mine, day and code: how many findings and the worst severity
    SELECT mine_code, day, flag_code, count(*) AS n, max(severity) AS severity
      FROM flag_days GROUP BY mine_code, day, flag_code
),
concealed AS (
    SELECT unnest(ARRAY['POWER_BEHIND_SEAL', 'PERSONNEL_BEHIND_SEAL', 'POWER_WITHOUT_MONITORING',
                        'POWER_WITHOUT_PERSONNEL', 'EXPLOSIVES_UNDECLARED']) AS flag_code
),
blinding AS (
    SELECT unnest(ARRAY['SAFETY_FEED_GAP', 'POINT_SILENT', 'POSITIONING_FEED_GAP', 'STATION_SILENT',
                        'CAMERA_OFFLINE', 'METER_GAP', 'POINT_MASKED', 'POINT_FLATLINE',
                        'POINT_CALIBRATION_EXCESS', 'CAMERA_TAMPER', 'SEAL_UNWATCHED', 'CARD_UNREAD']) AS flag_code
),
per_day AS (
    -- the day's score and which kinds of evidence it holds
    SELECT c.mine_code, c.day,
           least(100, sum(CASE c.severity WHEN 3 THEN 30 WHEN 2 THEN 10 ELSE 2 END))::smallint AS risk_score,
           jsonb_object_agg(c.flag_code, c.n) AS flags_by_code,
           array_agg(c.flag_code ORDER BY c.flag_code) FILTER (WHERE c.flag_code IN (SELECT flag_code FROM concealed)) AS concealed_codes,
           array_agg(c.flag_code ORDER BY c.flag_code) FILTER (WHERE c.flag_code IN (SELECT flag_code FROM blinding)) AS blinding_codes
      FROM codes c GROUP BY c.mine_code, c.day
)
SELECT p.mine_code,
       p.day,
       p.risk_score,
       p.flags_by_code,
       (p.concealed_codes IS NOT NULL AND p.blinding_codes IS NOT NULL) AS verify_unsealing,
       array_remove(ARRAY[
           CASE WHEN p.concealed_codes IS NOT NULL
                THEN 'work evidence where none is declared: ' || array_to_string(p.concealed_codes, ', ') END,
           CASE WHEN p.blinding_codes IS NOT NULL
                THEN 'monitoring gaps or shielding: ' || array_to_string(p.blinding_codes, ', ') END,
           CASE WHEN p.concealed_codes IS NOT NULL AND p.blinding_codes IS NOT NULL
                THEN 'work went on while the witnesses were blind: open the seals and check' END
       ], NULL) AS reasons
  FROM per_day p;
COMMENT ON VIEW mart.mine_day_risk IS 'one row per mine per local calendar day with findings: score 0-100, verify_unsealing and plain reasons';
