-- The set-based merges the safety feed's sql/merge/*.sql files call.
--   core.upsert_latest_delivery       facts with a natural key: the latest delivery per key wins (contract J)
--   core.apply_snapshots_scoped       snapshot history where one file covers a scope (mine and file kind)
--   core.release_safety_unknown_points  unknown_point records re-loaded once their point is defined (contract I.1)

-- Facts with a natural key (contract J): a delivery of the same key replaces the earlier one, "later"
-- meaning the greater ledger.delivery_rank (header time, then file-name stamp, then ledger entry).
-- Within the staged batch the latest delivery per key is taken; a stored row is replaced only by a
-- delivery that ranks later than the one it came from, so a late, older file changes nothing.
-- One INSERT … SELECT … ON CONFLICT per call; no row-by-row work.
CREATE OR REPLACE FUNCTION core.upsert_latest_delivery(
    target regclass,       -- table: <key_cols>, <value_cols>, file_id, record_no; primary key = key_cols
    stage regclass,        -- staging table: file_id, record_no, <key_cols>, <value_cols> (others ignored)
    key_cols text[],
    value_cols text[]
) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    keys_s text;
    keys text;
    cols text;
    scols text;
    sets text;
    n bigint;
BEGIN
    SELECT string_agg(format('s.%I', c), ', ') INTO keys_s FROM unnest(key_cols) c;
    SELECT string_agg(format('%I', c), ', ') INTO keys FROM unnest(key_cols) c;
    SELECT string_agg(format('%I', c), ', ') INTO cols FROM unnest(key_cols || value_cols) c;
    SELECT string_agg(format('s.%I', c), ', ') INTO scols FROM unnest(key_cols || value_cols) c;
    SELECT string_agg(format('%1$I = EXCLUDED.%1$I', c), ', ') INTO sets FROM unnest(value_cols || ARRAY['file_id', 'record_no']) c;
    EXECUTE format(
        'WITH delivery AS (
             SELECT f.file_id, ledger.delivery_rank(f) AS rank
               FROM ledger.file f WHERE f.file_id IN (SELECT DISTINCT file_id FROM %2$s))
         INSERT INTO %1$s AS t (%3$s, file_id, record_no)
         SELECT DISTINCT ON (%5$s) %4$s, s.file_id, s.record_no
           FROM %2$s s JOIN delivery d ON d.file_id = s.file_id
          ORDER BY %5$s, d.rank DESC, s.record_no DESC
         ON CONFLICT (%6$s) DO UPDATE SET %7$s
          WHERE (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = EXCLUDED.file_id)
              > (SELECT ledger.delivery_rank(f) FROM ledger.file f WHERE f.file_id = t.file_id)',
        target, stage, cols, scols, keys_s, keys, sets);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION core.upsert_latest_delivery(regclass, regclass, text[], text[]) IS
    'merge staged facts into a table keyed by their natural key: the latest delivery per key wins (contract J); returns rows inserted or replaced';

-- Snapshot history like core.apply_snapshots (0004), for files that are a full snapshot of a scope
-- narrower than a mine: CDDY, AQMC and AQKC each list all points of one kind of one mine, so an
-- AQKC file must not close the points of the AQMC file. Per file and scope, in delivery order:
--   * older than (ranks before) a snapshot of the same scope already applied: late, changes nothing;
--   * the same header time as the last applied one (a corrected re-send, or the same file
--     re-parsed after a quarantine release): that snapshot is undone, then this one applied;
--   * otherwise: changed items close their version and open a new one, items no longer listed
--     are closed (the closed row is the evidence of their removal), new items open a version.
-- Every file and scope is recorded in core.snapshot_log with its outcome.
CREATE OR REPLACE FUNCTION core.apply_snapshots_scoped(
    target regclass,       -- history table: <key_cols>, <value_cols>, valid_from, valid_to, file_id, record_no
    stage text,            -- staging table: file_id, record_no, <key_cols>, <value_cols>
    key_cols text[],       -- not null; includes the scope columns
    value_cols text[],
    scope_cols text[]      -- what one file is a full snapshot of, e.g. {mine_code, source_kind}
) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    f record;
    last record;
    keys_match text;
    vals_t text;
    vals_s text;
    cols text;
    scols text;
    scope_of_s text;
    in_scope_t text;
    in_scope_s text;
    target_name text := target::text;
    changed integer := 0;
    n integer;
BEGIN
    IF NOT scope_cols <@ key_cols THEN
        RAISE EXCEPTION 'scope columns % must be among the key columns %', scope_cols, key_cols;
    END IF;
    SELECT string_agg(format('t.%1$I = s.%1$I', k), ' AND ') INTO keys_match FROM unnest(key_cols) k;
    SELECT string_agg(format('t.%I', c), ', ') INTO vals_t FROM unnest(value_cols) c;
    SELECT string_agg(format('s.%I', c), ', ') INTO vals_s FROM unnest(value_cols) c;
    SELECT string_agg(format('%I', c), ', ') INTO cols FROM unnest(key_cols || value_cols) c;
    SELECT string_agg(format('s.%I', c), ', ') INTO scols FROM unnest(key_cols || value_cols) c;
    SELECT 'ARRAY[' || string_agg(format('s.%I::text', c), ', ' ORDER BY o) || ']',
           string_agg(format('t.%I::text = $3[%s]', c, o), ' AND ' ORDER BY o),
           string_agg(format('s.%I::text = $3[%s]', c, o), ' AND ' ORDER BY o)
      INTO scope_of_s, in_scope_t, in_scope_s
      FROM unnest(scope_cols) WITH ORDINALITY u (c, o);

    FOR f IN EXECUTE format(
        'SELECT s.file_id, %s AS scope, coalesce(lf.produced_at, lf.received_at) AS effective_at,
                ledger.delivery_rank(lf) AS rank, count(*)::integer AS items
           FROM %s s JOIN ledger.file lf ON lf.file_id = s.file_id
          GROUP BY 1, 2, 3, 4
          ORDER BY 4, 2', scope_of_s, stage)
    LOOP
        SELECT l.effective_at, l.delivery_rank INTO last
          FROM core.snapshot_log l
         WHERE l.target = target_name AND l.scope = f.scope AND l.outcome = 'applied'
         ORDER BY l.delivery_rank DESC LIMIT 1;
        IF FOUND AND last.delivery_rank > f.rank THEN
            INSERT INTO core.snapshot_log (target, scope, file_id, effective_at, delivery_rank, items, outcome)
            VALUES (target_name, f.scope, f.file_id, f.effective_at, f.rank, f.items, 'late')
            ON CONFLICT ON CONSTRAINT snapshot_log_pkey DO UPDATE SET outcome = 'late', logged_at = now();
            CONTINUE;
        END IF;
        IF FOUND AND (last.delivery_rank = f.rank OR last.effective_at = f.effective_at) THEN
            -- undo the snapshot of the same time: drop the versions it opened, reopen those it closed
            EXECUTE format('DELETE FROM %s t WHERE %s AND t.valid_from = $2', target, in_scope_t)
                USING f.file_id, f.effective_at, f.scope;
            EXECUTE format('UPDATE %s t SET valid_to = NULL WHERE %s AND t.valid_to = $2', target, in_scope_t)
                USING f.file_id, f.effective_at, f.scope;
            UPDATE core.snapshot_log l SET outcome = 'replaced', logged_at = now()
             WHERE l.target = target_name AND l.scope = f.scope AND l.outcome = 'applied'
               AND l.effective_at = f.effective_at;
        END IF;
        -- close versions whose values this snapshot changes
        EXECUTE format(
            'UPDATE %s t SET valid_to = $2 FROM %s s
              WHERE s.file_id = $1 AND %s AND %s AND t.valid_to IS NULL AND t.valid_from < $2
                AND (%s) IS DISTINCT FROM (%s)',
            target, stage, in_scope_s, keys_match, vals_t, vals_s) USING f.file_id, f.effective_at, f.scope;
        GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
        -- close items of the scope that this snapshot no longer lists
        EXECUTE format(
            'UPDATE %s t SET valid_to = $2
              WHERE %s AND t.valid_to IS NULL AND t.valid_from < $2
                AND NOT EXISTS (SELECT 1 FROM %s s WHERE s.file_id = $1 AND %s)',
            target, in_scope_t, stage, keys_match) USING f.file_id, f.effective_at, f.scope;
        GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
        -- open versions for new and changed items
        EXECUTE format(
            'INSERT INTO %s (%s, valid_from, valid_to, file_id, record_no)
             SELECT %s, $2, NULL, s.file_id, s.record_no FROM %s s
              WHERE s.file_id = $1 AND %s
                AND NOT EXISTS (SELECT 1 FROM %s t WHERE %s AND t.valid_to IS NULL)',
            target, cols, scols, stage, in_scope_s, target, keys_match) USING f.file_id, f.effective_at, f.scope;
        GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
        INSERT INTO core.snapshot_log (target, scope, file_id, effective_at, delivery_rank, items, outcome)
        VALUES (target_name, f.scope, f.file_id, f.effective_at, f.rank, f.items, 'applied')
        ON CONFLICT ON CONSTRAINT snapshot_log_pkey DO UPDATE SET outcome = 'applied', logged_at = now();
    END LOOP;
    RETURN changed;
END
$fn$;
COMMENT ON FUNCTION core.apply_snapshots_scoped(regclass, text, text[], text[], text[]) IS
    'merge staged snapshot files into a valid_from/valid_to history table, one file and scope at a time in delivery order; late snapshots change nothing';

-- unknown_point records are retried after every definition load (contract I.1): the held readings
-- and abnormal events of the given mines whose point now has a definition are loaded like any
-- delivery (the latest per key wins), their quarantine rows marked released and their files'
-- ledger counts corrected. Held values whose quarantine row an operator released or discarded
-- are forgotten (a release re-parses the file from the archive).
CREATE OR REPLACE FUNCTION core.release_safety_unknown_points(mines text[]) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    n_readings integer;
    n_events integer;
BEGIN
    DELETE FROM quarantine.safety_reading_held h USING quarantine.record q
     WHERE q.quarantine_id = h.quarantine_id AND q.status <> 'held' AND h.mine_code = ANY(mines);
    DELETE FROM quarantine.safety_abnormal_event_held h USING quarantine.record q
     WHERE q.quarantine_id = h.quarantine_id AND q.status <> 'held' AND h.mine_code = ANY(mines);

    DROP TABLE IF EXISTS released_safety_readings, released_safety_abnormal_events;
    CREATE TEMP TABLE released_safety_readings ON COMMIT DROP AS
        SELECT h.* FROM quarantine.safety_reading_held h
         WHERE h.mine_code = ANY(mines)
           AND EXISTS (SELECT 1 FROM core.safety_point_definition d
                        WHERE d.mine_code = h.mine_code AND d.point_code = h.point_code);
    GET DIAGNOSTICS n_readings = ROW_COUNT;
    CREATE TEMP TABLE released_safety_abnormal_events ON COMMIT DROP AS
        SELECT h.* FROM quarantine.safety_abnormal_event_held h
         WHERE h.mine_code = ANY(mines)
           AND EXISTS (SELECT 1 FROM core.safety_point_definition d
                        WHERE d.mine_code = h.mine_code AND d.point_code = h.point_code);
    GET DIAGNOSTICS n_events = ROW_COUNT;
    IF n_readings + n_events = 0 THEN
        RETURN 0;
    END IF;

    IF n_readings > 0 THEN
        EXECUTE 'SELECT count(*) FROM (
                     SELECT core.ensure_safety_reading_partitions(min(sampled_at), max(sampled_at))
                       FROM released_safety_readings GROUP BY (sampled_at AT TIME ZONE ''Asia/Shanghai'')::date) days';
        PERFORM core.upsert_latest_delivery('core.safety_reading', 'released_safety_readings',
            ARRAY['mine_code', 'point_code', 'sampled_at'], ARRAY['value', 'raw_status', 'conditions']);
    END IF;
    IF n_events > 0 THEN
        PERFORM core.upsert_latest_delivery('core.safety_abnormal_event', 'released_safety_abnormal_events',
            ARRAY['mine_code', 'point_code', 'abnormal_type', 'started_at'],
            ARRAY['ended_at', 'conditions', 'sensor_type_name', 'location', 'unit', 'value', 'alarm_threshold',
                  'clear_threshold', 'max_value', 'max_at', 'min_value', 'min_at', 'avg_value', 'cause',
                  'measures', 'entered_at', 'entered_by', 'reported_at']);
    END IF;

    EXECUTE $q$
        WITH ids AS (
            SELECT quarantine_id FROM released_safety_readings
            UNION ALL SELECT quarantine_id FROM released_safety_abnormal_events
        ), released AS (
            UPDATE quarantine.record q SET status = 'released', resolved_at = now()
              FROM ids WHERE q.quarantine_id = ids.quarantine_id AND q.status = 'held'
            RETURNING q.file_id
        ), per_file AS (
            SELECT file_id, count(*) AS n FROM released GROUP BY file_id
        )
        UPDATE ledger.file f SET rows_loaded = f.rows_loaded + p.n, rows_rejected = greatest(f.rows_rejected - p.n, 0)
          FROM per_file p WHERE f.file_id = p.file_id
    $q$;
    EXECUTE 'DELETE FROM quarantine.safety_reading_held h USING released_safety_readings r
              WHERE h.quarantine_id = r.quarantine_id';
    EXECUTE 'DELETE FROM quarantine.safety_abnormal_event_held h USING released_safety_abnormal_events r
              WHERE h.quarantine_id = r.quarantine_id';
    RETURN n_readings + n_events;
END
$fn$;
COMMENT ON FUNCTION core.release_safety_unknown_points(text[]) IS
    'load the held unknown_point readings and abnormal events of these mines whose point is now defined; returns how many were released';
