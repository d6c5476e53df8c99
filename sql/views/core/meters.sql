-- Utility meters: which registry meter a reading belongs to, and the energy intervals built from
-- the readings (contract E, J). Used by sql/merge/meter_espi_intervals.sql,
-- sql/merge/meter_register_readings.sql and sql/merge/registry_meter.sql.
--
-- Rules (docs/decisions.md, "Utility meters and explosives"):
-- - A reading is bound to a meter through registry/meters.csv: ESPI by the UsagePoint's href
--   (absolute and relative forms agree) or, when no registry href matches, by its last segment;
--   E.2 by meter_id. Registry versions carry no validity of their own (they start when the
--   snapshot arrived), so a version is taken to be in force from its valid_from until the next
--   matching version starts, and the first one also before it: readings older than the registry
--   snapshot, or delivered before their meter was registered, bind to the first meter listed; a
--   meter replaced on the same usage point hands over at the new version. No meter, or several
--   starting at once, leaves the reading unbound and held as unknown_point until a registry load
--   binds it. Multiplier and area are those of the meter's version in force at the interval's
--   start by the same rule (core.meter_version; a meter dropped from the registry still feeds its
--   last area).
-- - Intervals: an ESPI interval reading is one measured interval. Between two consecutive
--   cumulative readings of one meter (E.2 registers x multiplier, or ESPI cumulative readings in
--   kWh as read, at the end of their time period) lies one interval: the register went down ->
--   `reset`, energy unknown (NULL); the readings lie 1.5 expected steps apart or more ->
--   `gap_total`, the total of the whole gap; else `measured` (the rules of
--   connectors.meter_registers.intervals_from_registers). Expected step: 15 minutes for E.2, the
--   ReadingType's interval length for ESPI.
-- - Where intervals of one meter overlap, ESPI interval readings win over ESPI cumulative ones,
--   which win over E.2 registers; within a source the later delivery wins.

CREATE OR REPLACE VIEW core.meter_version AS
SELECT m.mine_code, m.meter_id, m.usage_point, m.area_code, m.multiplier, m.valid_from, m.valid_to,
       CASE WHEN lag(m.valid_from) OVER w IS NULL THEN '-infinity'::timestamptz ELSE m.valid_from END AS effective_from,
       coalesce(lead(m.valid_from) OVER w, 'infinity'::timestamptz) AS effective_to,
       m.file_id, m.record_no
  FROM core.meter m
WINDOW w AS (PARTITION BY m.mine_code, m.meter_id ORDER BY m.valid_from);
COMMENT ON VIEW core.meter_version IS
    'one row per registry meter version with the time it is in force for readings: the first from -infinity, the last to infinity';


CREATE OR REPLACE FUNCTION core.match_usage_points(hrefs text[])
RETURNS TABLE (usage_point_href text, effective_from timestamptz, effective_to timestamptz,
               mine_code text, meter_id text, candidates integer, named text)
LANGUAGE sql STABLE AS $fn$
    WITH up AS (
        -- each usage point href: its path (scheme and host dropped, no outer slashes) and last segment
        SELECT DISTINCT h AS href,
               btrim(regexp_replace(btrim(h), '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*', ''), '/') AS path,
               regexp_replace(rtrim(btrim(h), '/'), '^.*/', '') AS segment
          FROM unnest(hrefs) AS h
    ),
    registry AS (
        -- every registry meter version that names a usage point
        SELECT m.mine_code, m.meter_id, m.valid_from, btrim(m.usage_point) AS usage_point,
               btrim(regexp_replace(btrim(m.usage_point), '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*', ''), '/') AS path
          FROM core.meter m
         WHERE btrim(coalesce(m.usage_point, '')) <> ''
    ),
    by_href AS (
        -- the registry holds the usage point's href (absolute and relative forms agree)
        SELECT u.href, r.mine_code, r.meter_id, r.valid_from
          FROM up u JOIN registry r ON r.path = u.path AND strpos(r.usage_point, '/') > 0
    ),
    by_segment AS (
        -- or its last segment, which counts only where no registry href matches
        SELECT u.href, r.mine_code, r.meter_id, r.valid_from
          FROM up u JOIN registry r ON r.usage_point = u.segment AND strpos(r.usage_point, '/') = 0
         WHERE NOT EXISTS (SELECT 1 FROM by_href b WHERE b.href = u.href)
    ),
    starts AS (
        -- the moments a matching version starts, and the meters starting then (more than one: ambiguous)
        SELECT f.href, f.valid_from, count(*)::integer AS n, min(f.mine_code) AS mine_code, min(f.meter_id) AS meter_id,
               string_agg(f.mine_code || ' ' || f.meter_id, ', ' ORDER BY f.mine_code, f.meter_id) AS named
          FROM (SELECT b.href, b.mine_code, b.meter_id, b.valid_from FROM by_href b
                UNION
                SELECT s.href, s.mine_code, s.meter_id, s.valid_from FROM by_segment s) f
         GROUP BY f.href, f.valid_from
    ),
    timeline AS (
        -- each start is in force until the next; the first one also before it
        SELECT s.href, s.n, s.mine_code, s.meter_id, s.named,
               CASE WHEN lag(s.valid_from) OVER w IS NULL THEN '-infinity'::timestamptz ELSE s.valid_from END AS effective_from,
               coalesce(lead(s.valid_from) OVER w, 'infinity'::timestamptz) AS effective_to
          FROM starts s
        WINDOW w AS (PARTITION BY s.href ORDER BY s.valid_from)
    )
    SELECT u.href,
           coalesce(t.effective_from, '-infinity'::timestamptz),
           coalesce(t.effective_to, 'infinity'::timestamptz),
           CASE WHEN t.n = 1 THEN t.mine_code END,
           CASE WHEN t.n = 1 THEN t.meter_id END,
           coalesce(t.n, 0),
           t.named
      FROM up u LEFT JOIN timeline t ON t.href = u.href
$fn$;
COMMENT ON FUNCTION core.match_usage_points(text[]) IS
    'the registry meter of each ESPI UsagePoint href (by href, else by last segment) over time; candidates <> 1: unknown or ambiguous';


CREATE OR REPLACE FUNCTION core.match_register_meters(meter_ids text[])
RETURNS TABLE (meter_id text, effective_from timestamptz, effective_to timestamptz,
               mine_code text, candidates integer, named text)
LANGUAGE sql STABLE AS $fn$
    WITH ids AS (
        SELECT DISTINCT unnest(meter_ids) AS id
    ),
    starts AS (
        -- the moments a version of a meter with this id starts, and the mines listing it then
        SELECT m.meter_id AS id, m.valid_from, count(*)::integer AS n, min(m.mine_code) AS mine_code,
               string_agg(m.mine_code, ', ' ORDER BY m.mine_code) AS named
          FROM core.meter m
         WHERE m.meter_id IN (SELECT i.id FROM ids i)
         GROUP BY m.meter_id, m.valid_from
    ),
    timeline AS (
        SELECT s.id, s.n, s.mine_code, s.named,
               CASE WHEN lag(s.valid_from) OVER w IS NULL THEN '-infinity'::timestamptz ELSE s.valid_from END AS effective_from,
               coalesce(lead(s.valid_from) OVER w, 'infinity'::timestamptz) AS effective_to
          FROM starts s
        WINDOW w AS (PARTITION BY s.id ORDER BY s.valid_from)
    )
    SELECT i.id,
           coalesce(t.effective_from, '-infinity'::timestamptz),
           coalesce(t.effective_to, 'infinity'::timestamptz),
           CASE WHEN t.n = 1 THEN t.mine_code END,
           coalesce(t.n, 0),
           t.named
      FROM ids i LEFT JOIN timeline t ON t.id = i.id
$fn$;
COMMENT ON FUNCTION core.match_register_meters(text[]) IS
    'the mine of each E.2 meter_id over time, from the registry versions; candidates <> 1: unknown or listed by several mines';


CREATE OR REPLACE FUNCTION core.rebuild_meter_intervals(mines text[], meters text[], froms timestamptz[], tos timestamptz[])
RETURNS integer
LANGUAGE plpgsql AS $fn$
-- Rebuild core.meter_interval for the given meters where their readings changed (from..to, per meter),
-- widened to the neighbouring readings and to the stored intervals that cross the change.
DECLARE
    written integer;
BEGIN
    -- one rebuild at a time: a concurrent load of the same meter waits and then sees this one's readings
    PERFORM pg_advisory_xact_lock(hashtext('core.meter_interval'));
    DROP TABLE IF EXISTS pg_temp.meter_window;
    CREATE TEMP TABLE meter_window ON COMMIT DROP AS
    WITH changed AS (
        -- one span per meter
        SELECT c.mine_code, c.meter_id, min(c.from_at) AS from_at, max(c.to_at) AS to_at
          FROM unnest(mines, meters, froms, tos) AS c (mine_code, meter_id, from_at, to_at)
         WHERE c.mine_code IS NOT NULL AND c.meter_id IS NOT NULL
         GROUP BY c.mine_code, c.meter_id
    ),
    widened AS (
        -- the cumulative readings just outside the span open or close intervals that change too
        SELECT c.mine_code, c.meter_id,
               least(c.from_at, pr.read_at, pe.read_at) AS from_at,
               greatest(c.to_at, nr.read_at, ne.read_at) AS to_at
          FROM changed c
          LEFT JOIN LATERAL (SELECT r.read_at FROM core.meter_register_reading r
                              WHERE r.mine_code = c.mine_code AND r.meter_id = c.meter_id AND r.read_at < c.from_at
                              ORDER BY r.read_at DESC LIMIT 1) pr ON true
          LEFT JOIN LATERAL (SELECT r.read_at FROM core.meter_register_reading r
                              WHERE r.mine_code = c.mine_code AND r.meter_id = c.meter_id AND r.read_at > c.to_at
                              ORDER BY r.read_at LIMIT 1) nr ON true
          LEFT JOIN LATERAL (SELECT e.interval_end AS read_at FROM core.meter_espi_reading e
                              WHERE e.mine_code = c.mine_code AND e.meter_id = c.meter_id
                                AND e.accumulation = 'cumulative' AND e.interval_end < c.from_at
                              ORDER BY e.interval_end DESC LIMIT 1) pe ON true
          LEFT JOIN LATERAL (SELECT e.interval_end AS read_at FROM core.meter_espi_reading e
                              WHERE e.mine_code = c.mine_code AND e.meter_id = c.meter_id
                                AND e.accumulation = 'cumulative' AND e.interval_end > c.to_at
                              ORDER BY e.interval_end LIMIT 1) ne ON true
    )
    -- and every stored interval that starts in the span or crosses its start is rebuilt whole
    SELECT w.mine_code, w.meter_id,
           least(w.from_at, CASE WHEN crossing.interval_end > w.from_at THEN crossing.interval_start END) AS from_at,
           greatest(w.to_at, CASE WHEN crossing.interval_end > w.from_at THEN crossing.interval_end END,
                    inside.last_end) AS to_at
      FROM widened w
      LEFT JOIN LATERAL (SELECT i.interval_start, i.interval_end FROM core.meter_interval i
                          WHERE i.mine_code = w.mine_code AND i.meter_id = w.meter_id AND i.interval_start < w.from_at
                          ORDER BY i.interval_start DESC LIMIT 1) crossing ON true
      LEFT JOIN LATERAL (SELECT max(i.interval_end) AS last_end FROM core.meter_interval i
                          WHERE i.mine_code = w.mine_code AND i.meter_id = w.meter_id
                            AND i.interval_start >= w.from_at AND i.interval_start < w.to_at) inside ON true;

    DELETE FROM core.meter_interval i
     USING meter_window w
     WHERE i.mine_code = w.mine_code AND i.meter_id = w.meter_id
       AND i.interval_start >= w.from_at AND i.interval_start < w.to_at;

    DROP TABLE IF EXISTS pg_temp.meter_candidate;
    CREATE TEMP TABLE meter_candidate ON COMMIT DROP AS
    WITH interval_readings AS (
        -- ESPI interval readings: one measured interval each
        SELECT w.mine_code, w.meter_id, e.interval_start, e.interval_end, e.energy_kwh,
               'measured'::text AS quality, 'espi'::text AS source, 3 AS precedence, e.quality AS reading_quality,
               NULL::bigint AS opening_file_id, NULL::integer AS opening_record_no, e.file_id, e.record_no
          FROM meter_window w
          JOIN core.meter_espi_reading e
            ON e.mine_code = w.mine_code AND e.meter_id = w.meter_id
           AND e.interval_start >= w.from_at AND e.interval_end <= w.to_at
         WHERE e.accumulation = 'interval'
    ),
    cumulative_readings AS (
        -- register readings: ESPI cumulative ones (kWh as read, at the end of their period) and E.2 ones
        SELECT w.mine_code, w.meter_id, 'espi'::text AS source, 2 AS precedence, e.interval_end AS read_at,
               e.reading_kwh AS register, make_interval(secs => coalesce(e.interval_length_s, e.duration_s)) AS step,
               e.quality AS reading_quality, e.file_id, e.record_no
          FROM meter_window w
          JOIN core.meter_espi_reading e
            ON e.mine_code = w.mine_code AND e.meter_id = w.meter_id
           AND e.interval_end >= w.from_at AND e.interval_end <= w.to_at
         WHERE e.accumulation = 'cumulative'
        UNION ALL
        SELECT w.mine_code, w.meter_id, 'register', 1, r.read_at, r.import_kwh_register, interval '15 minutes',
               NULL::smallint, r.file_id, r.record_no
          FROM meter_window w
          JOIN core.meter_register_reading r
            ON r.mine_code = w.mine_code AND r.meter_id = w.meter_id
           AND r.read_at >= w.from_at AND r.read_at <= w.to_at
    ),
    paired AS (
        -- each reading with the one before it from the same source
        SELECT g.*,
               lag(g.read_at) OVER seq AS prev_at, lag(g.register) OVER seq AS prev_register,
               lag(g.file_id) OVER seq AS prev_file_id, lag(g.record_no) OVER seq AS prev_record_no
          FROM cumulative_readings g
        WINDOW seq AS (PARTITION BY g.mine_code, g.meter_id, g.precedence ORDER BY g.read_at, g.file_id, g.record_no)
    ),
    register_intervals AS (
        -- the delta between them: reset when the register went down, gap_total when readings are missing
        SELECT p.mine_code, p.meter_id, p.prev_at AS interval_start, p.read_at AS interval_end,
               CASE WHEN p.register < p.prev_register THEN NULL
                    ELSE (p.register - p.prev_register) * CASE WHEN p.source = 'register' THEN v.multiplier ELSE 1 END
               END AS energy_kwh,
               CASE WHEN p.register < p.prev_register THEN 'reset'
                    WHEN p.read_at - p.prev_at >= p.step * 1.5 THEN 'gap_total'
                    ELSE 'measured' END AS quality,
               p.source, p.precedence, p.reading_quality, p.prev_file_id, p.prev_record_no, p.file_id, p.record_no
          FROM paired p
          LEFT JOIN core.meter_version v
            ON v.mine_code = p.mine_code AND v.meter_id = p.meter_id
           AND p.prev_at >= v.effective_from AND p.prev_at < v.effective_to
         WHERE p.prev_at IS NOT NULL AND p.read_at > p.prev_at
    ),
    candidates AS (
        SELECT * FROM interval_readings
        UNION ALL
        SELECT * FROM register_intervals
    )
    SELECT c.*, ledger.delivery_rank(f) AS delivery_rank,
           max(c.interval_end - c.interval_start) OVER (PARTITION BY c.mine_code, c.meter_id) AS longest
      FROM candidates c JOIN ledger.file f ON f.file_id = c.file_id;
    CREATE INDEX ON meter_candidate (mine_code, meter_id, interval_start);
    ANALYZE meter_candidate;

    -- where intervals of one meter overlap, the stronger source and then the later delivery wins
    DELETE FROM meter_candidate c
     WHERE EXISTS (SELECT 1 FROM meter_candidate o
                    WHERE o.mine_code = c.mine_code AND o.meter_id = c.meter_id
                      AND o.interval_start > c.interval_start - c.longest
                      AND o.interval_start < c.interval_end AND o.interval_end > c.interval_start
                      AND (o.precedence, o.delivery_rank) > (c.precedence, c.delivery_rank));

    INSERT INTO core.meter_interval AS t (mine_code, meter_id, interval_start, interval_end, energy_kwh, quality, source,
                                          reading_quality, opening_file_id, opening_record_no, file_id, record_no)
    SELECT DISTINCT ON (c.mine_code, c.meter_id, c.interval_start)
           c.mine_code, c.meter_id, c.interval_start, c.interval_end, c.energy_kwh, c.quality, c.source,
           c.reading_quality, c.opening_file_id, c.opening_record_no, c.file_id, c.record_no
      FROM meter_candidate c
     ORDER BY c.mine_code, c.meter_id, c.interval_start, c.precedence DESC, c.delivery_rank DESC, c.record_no DESC
    ON CONFLICT (mine_code, meter_id, interval_start) DO UPDATE
       SET interval_end = EXCLUDED.interval_end, energy_kwh = EXCLUDED.energy_kwh, quality = EXCLUDED.quality,
           source = EXCLUDED.source, reading_quality = EXCLUDED.reading_quality,
           opening_file_id = EXCLUDED.opening_file_id, opening_record_no = EXCLUDED.opening_record_no,
           file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$fn$;
COMMENT ON FUNCTION core.rebuild_meter_intervals(text[], text[], timestamptz[], timestamptz[]) IS
    'rebuild core.meter_interval of each (mine, meter) where its readings changed between from and to; returns intervals written';


CREATE OR REPLACE FUNCTION core.meter_registry_loaded(file_ids bigint[])
RETURNS integer
LANGUAGE plpgsql AS $fn$
-- After a registry meters.csv load: bind the readings held as unknown_point that the registry now
-- names (releasing them from quarantine) and rebuild the intervals of meters whose multiplier changed.
DECLARE
    written integer;
BEGIN
    DROP TABLE IF EXISTS pg_temp.meter_bound;
    CREATE TEMP TABLE meter_bound (mine_code text, meter_id text, from_at timestamptz, to_at timestamptz,
                                   file_id bigint, record_no integer) ON COMMIT DROP;

    -- E.2 readings held for an unknown meter
    WITH held AS (
        SELECT r.meter_id, r.read_at
          FROM core.meter_register_reading r
         WHERE r.mine_code IS NULL
           AND EXISTS (SELECT 1 FROM quarantine.record q
                        WHERE q.file_id = r.file_id AND q.record_no = r.record_no
                          AND q.reason = 'unknown_point' AND q.status = 'held')
    ),
    matched AS (
        SELECT m.meter_id, m.mine_code, m.effective_from, m.effective_to
          FROM core.match_register_meters(ARRAY(SELECT DISTINCT h.meter_id FROM held h)) m
         WHERE m.candidates = 1
    ),
    bound AS (
        UPDATE core.meter_register_reading r SET mine_code = m.mine_code
          FROM held h
          JOIN matched m ON m.meter_id = h.meter_id AND h.read_at >= m.effective_from AND h.read_at < m.effective_to
         WHERE r.meter_id = h.meter_id AND r.read_at = h.read_at
        RETURNING r.mine_code, r.meter_id, r.read_at, r.file_id, r.record_no
    )
    INSERT INTO meter_bound SELECT b.mine_code, b.meter_id, b.read_at, b.read_at, b.file_id, b.record_no FROM bound b;

    -- ESPI readings held for an unknown usage point
    WITH held AS (
        SELECT e.usage_point_href, e.interval_start
          FROM core.meter_espi_reading e
         WHERE e.mine_code IS NULL
           AND EXISTS (SELECT 1 FROM quarantine.record q
                        WHERE q.file_id = e.file_id AND q.record_no = e.record_no
                          AND q.reason = 'unknown_point' AND q.status = 'held')
    ),
    matched AS (
        SELECT m.usage_point_href, m.mine_code, m.meter_id, m.effective_from, m.effective_to
          FROM core.match_usage_points(ARRAY(SELECT DISTINCT h.usage_point_href FROM held h)) m
         WHERE m.candidates = 1
    ),
    bound AS (
        UPDATE core.meter_espi_reading e SET mine_code = m.mine_code, meter_id = m.meter_id
          FROM held h
          JOIN matched m ON m.usage_point_href = h.usage_point_href
           AND h.interval_start >= m.effective_from AND h.interval_start < m.effective_to
         WHERE e.usage_point_href = h.usage_point_href AND e.interval_start = h.interval_start
        RETURNING e.mine_code, e.meter_id, e.interval_start, e.interval_end, e.file_id, e.record_no
    )
    INSERT INTO meter_bound SELECT b.mine_code, b.meter_id, b.interval_start, b.interval_end, b.file_id, b.record_no FROM bound b;

    -- their quarantine rows are released and their files' ledger counts corrected
    WITH released AS (
        UPDATE quarantine.record q SET status = 'released', resolved_at = now()
          FROM meter_bound b
         WHERE q.file_id = b.file_id AND q.record_no = b.record_no AND q.reason = 'unknown_point' AND q.status = 'held'
        RETURNING q.file_id
    ),
    per_file AS (
        SELECT r.file_id, count(*) AS n FROM released r GROUP BY r.file_id
    )
    UPDATE ledger.file f SET rows_loaded = f.rows_loaded + p.n, rows_rejected = greatest(f.rows_rejected - p.n, 0)
      FROM per_file p
     WHERE f.file_id = p.file_id;

    -- a new multiplier applies from its version on: rebuild what was built with the old one
    INSERT INTO meter_bound (mine_code, meter_id, from_at, to_at)
    SELECT v.mine_code, v.meter_id, v.valid_from, 'infinity'
      FROM (SELECT m.mine_code, m.meter_id, m.valid_from, m.multiplier, m.file_id,
                   lag(m.multiplier) OVER (PARTITION BY m.mine_code, m.meter_id ORDER BY m.valid_from) AS multiplier_before
              FROM core.meter m) v
     WHERE v.file_id = ANY(file_ids) AND v.multiplier_before IS NOT NULL AND v.multiplier_before <> v.multiplier;

    SELECT core.rebuild_meter_intervals(array_agg(b.mine_code), array_agg(b.meter_id), array_agg(b.from_at), array_agg(b.to_at))
      INTO written
      FROM meter_bound b;
    RETURN coalesce(written, 0);
END
$fn$;
COMMENT ON FUNCTION core.meter_registry_loaded(bigint[]) IS
    'after a registry meters.csv load (its ledger file ids): bind and release held meter readings, rebuild intervals of changed multipliers';
