-- mart.mine_day_risk: one row per mine and local calendar day (China time) that has findings.
--
-- The score adds, per flag code present that day, 30 for a critical finding, 10 for a
-- warning and 2 for information, capped at 100. An inspector should verify by unsealing
-- (启封核查) when a concealed-works finding (power or people behind a seal, power with no
-- monitoring or no personnel, explosives to an undeclared area) falls on the same day as
-- a monitoring gap or shielding finding (a warning or critical one): work went on while the
-- witnesses were blind. The concealed-works evidence must be strong: power or people behind a
-- seal, or two kinds of it on one area that day (docs/decisions.md, Detection). The day the
-- witnesses were blinded is marked too when that was at most core.blinding_lead() before such
-- evidence began on the next day and lasted into it (the camera turned at 23:25 for a night shift).

CREATE OR REPLACE VIEW mart.mine_day_risk AS
WITH flag_days AS (
    -- every local day each finding touches
    SELECT f.mine_code, f.flag_code, f.severity, f.area_code,
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
           -- information (a single missing meter reading, a withdrawn finding) blinds no witness
           array_agg(c.flag_code ORDER BY c.flag_code)
               FILTER (WHERE c.flag_code IN (SELECT flag_code FROM blinding) AND c.severity >= 2) AS blinding_codes
      FROM codes c GROUP BY c.mine_code, c.day
),
strong AS (
    -- concealed-works evidence to open seals for: work behind a seal itself (power drawn or cards
    -- read there), or two kinds of concealed-works evidence on one area the same day. Power drawn at
    -- a declared face while its sensor is masked, alone, is a shielded face to stop, not a hidden one.
    SELECT f.mine_code, f.day
      FROM flag_days f
     WHERE f.flag_code IN ('POWER_BEHIND_SEAL', 'PERSONNEL_BEHIND_SEAL')
    UNION
    SELECT f.mine_code, f.day
      FROM flag_days f
     WHERE f.flag_code IN (SELECT flag_code FROM concealed) AND f.area_code IS NOT NULL
     GROUP BY f.mine_code, f.day, f.area_code
    HAVING count(DISTINCT f.flag_code) >= 2
),
lead_in AS (
    -- a day on which the witnesses were blinded shortly (core.blinding_lead()) before such evidence
    -- began on a later day, and stayed blind into it: the concealment began that day
    SELECT DISTINCT b.mine_code, (b.started_at AT TIME ZONE 'Asia/Shanghai')::date AS day
      FROM core.flag b
      JOIN core.flag c ON c.mine_code = b.mine_code
      JOIN strong s ON s.mine_code = c.mine_code AND s.day = (c.started_at AT TIME ZONE 'Asia/Shanghai')::date
     WHERE b.flag_code IN (SELECT flag_code FROM blinding) AND b.severity >= 2
       AND c.flag_code IN (SELECT flag_code FROM concealed)
       AND b.started_at BETWEEN c.started_at - core.blinding_lead() AND c.started_at
       AND coalesce(b.ended_at, 'infinity'::timestamptz) > c.started_at
       AND (b.started_at AT TIME ZONE 'Asia/Shanghai')::date < (c.started_at AT TIME ZONE 'Asia/Shanghai')::date
),
verdict AS (
    SELECT p.*,
           p.blinding_codes IS NOT NULL
               AND EXISTS (SELECT 1 FROM strong s WHERE s.mine_code = p.mine_code AND s.day = p.day) AS blind_work,
           EXISTS (SELECT 1 FROM lead_in l WHERE l.mine_code = p.mine_code AND l.day = p.day) AS blinded_before
      FROM per_day p
)
SELECT p.mine_code,
       p.day,
       p.risk_score,
       p.flags_by_code,
       p.blind_work OR p.blinded_before AS verify_unsealing,
       array_remove(ARRAY[
           CASE WHEN p.concealed_codes IS NOT NULL
                THEN 'work evidence where none is declared: ' || array_to_string(p.concealed_codes, ', ') END,
           CASE WHEN p.blinding_codes IS NOT NULL
                THEN 'monitoring gaps or shielding: ' || array_to_string(p.blinding_codes, ', ') END,
           CASE WHEN p.blind_work
                THEN 'work went on while the witnesses were blind: open the seals and check' END,
           CASE WHEN p.blinded_before AND NOT p.blind_work
                THEN 'the witnesses were blinded this day just before concealed work began: open the seals and check' END
       ], NULL) AS reasons
  FROM verdict p;
COMMENT ON VIEW mart.mine_day_risk IS 'one row per mine per local calendar day with findings: score 0-100, verify_unsealing and plain reasons';
