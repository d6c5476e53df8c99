-- History for definition and reference files, which are full snapshots (contract J):
-- each delivery's items become the current versions from the file's effective time on;
-- a changed item closes its old version (valid_to) and opens a new one; an item missing
-- from a newer snapshot of the same mine is closed, and that closed row is the evidence
-- of its removal. An older snapshot arriving after a newer one changes nothing current.

CREATE OR REPLACE FUNCTION core.apply_snapshots(
    target regclass,       -- history table: <key_cols>, <value_cols>, valid_from, valid_to, file_id, record_no
    stage text,            -- staging table: file_id, record_no, <key_cols>, <value_cols> (mine_code among the keys)
    key_cols text[],
    value_cols text[]
) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    f record;
    keys_match text;
    vals_t text;
    vals_s text;
    cols text;
    scols text;
    changed integer := 0;
    n integer;
BEGIN
    SELECT string_agg(format('t.%1$I IS NOT DISTINCT FROM s.%1$I', k), ' AND ') INTO keys_match FROM unnest(key_cols) k;
    SELECT string_agg(format('t.%I', c), ', ') INTO vals_t FROM unnest(value_cols) c;
    SELECT string_agg(format('s.%I', c), ', ') INTO vals_s FROM unnest(value_cols) c;
    SELECT string_agg(format('%I', c), ', ') INTO cols FROM unnest(key_cols || value_cols) c;
    SELECT string_agg(format('s.%I', c), ', ') INTO scols FROM unnest(key_cols || value_cols) c;

    -- apply the batch's files one at a time, earliest delivery first
    FOR f IN EXECUTE format(
        'SELECT lf.file_id, coalesce(lf.produced_at, lf.received_at) AS effective_at,
                array_agg(DISTINCT s.mine_code) AS mines
           FROM %s s JOIN ledger.file lf USING (file_id)
          GROUP BY lf.file_id, lf.produced_at, lf.received_at, ledger.delivery_rank(lf)
          ORDER BY ledger.delivery_rank(lf)', stage)
    LOOP
        -- close versions whose values this snapshot changes
        EXECUTE format(
            'UPDATE %s t SET valid_to = $2 FROM %s s
              WHERE s.file_id = $1 AND %s AND t.valid_to IS NULL AND t.valid_from < $2
                AND (%s) IS DISTINCT FROM (%s)',
            target, stage, keys_match, vals_t, vals_s) USING f.file_id, f.effective_at;
        GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
        -- close items of the same mines that this snapshot no longer lists
        EXECUTE format(
            'UPDATE %s t SET valid_to = $2
              WHERE t.valid_to IS NULL AND t.valid_from < $2 AND t.mine_code = ANY($3)
                AND NOT EXISTS (SELECT 1 FROM %s s WHERE s.file_id = $1 AND %s)',
            target, stage, keys_match) USING f.file_id, f.effective_at, f.mines;
        GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
        -- open versions for new and changed items
        EXECUTE format(
            'INSERT INTO %s (%s, valid_from, valid_to, file_id, record_no)
             SELECT %s, $2, NULL, s.file_id, s.record_no FROM %s s
              WHERE s.file_id = $1
                AND NOT EXISTS (SELECT 1 FROM %s t WHERE %s AND t.valid_to IS NULL)',
            target, cols, scols, stage, target, keys_match) USING f.file_id, f.effective_at;
        GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
    END LOOP;
    RETURN changed;
END
$fn$;

COMMENT ON FUNCTION core.apply_snapshots(regclass, text, text[], text[]) IS
    'merge staged snapshot files into a valid_from/valid_to history table, one file at a time in delivery order';
