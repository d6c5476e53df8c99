-- Safety readings without the merge: a batch whose readings are all new goes straight into
-- core.safety_reading by COPY, which is about twice as fast as staging it and merging it
-- (sql/merge/safety_readings.sql): no temporary table, no sort, no ON CONFLICT per row.
--
-- The load path (minewatch/load.py, DIRECT) asks this function first, inside the batch's
-- transaction, with the batch's (mine, point) pairs and its distinct sample times. It answers
-- true only when the merge would do nothing but insert:
--   * every point has a definition (else the merge holds its readings as unknown_point);
--   * no stored reading of these points lies between the batch's first and last sample time
--     (else "the latest delivery wins", contract J, must choose between two deliveries);
-- and then it creates the daily partitions the times fall in. Two readings of the same point
-- and time within the batch, or another loader's rows committed meanwhile, make the COPY fail
-- on the primary key: the load path then rolls back to a savepoint and merges as before.
CREATE OR REPLACE FUNCTION core.safety_readings_are_new(mines text[], points text[], times timestamptz[])
RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    first_at timestamptz;
    last_at timestamptz;
BEGIN
    IF cardinality(mines) IS DISTINCT FROM cardinality(points) THEN
        RAISE EXCEPTION 'mines and points must pair up (% and % given)', cardinality(mines), cardinality(points);
    END IF;
    SELECT min(t), max(t) INTO first_at, last_at FROM unnest(times) t;
    IF first_at IS NULL THEN
        RETURN false;
    END IF;
    -- a point without a definition: its readings are held by the merge
    IF EXISTS (SELECT 1 FROM unnest(mines, points) b (mine_code, point_code)
                WHERE NOT EXISTS (SELECT 1 FROM core.safety_point_definition d
                                   WHERE d.mine_code = b.mine_code AND d.point_code = b.point_code)) THEN
        RETURN false;
    END IF;
    -- a stored reading in the batch's time span: one index probe per point and daily partition
    IF EXISTS (SELECT 1 FROM unnest(mines, points) b (mine_code, point_code)
                 JOIN core.safety_reading r ON r.mine_code = b.mine_code AND r.point_code = b.point_code
                WHERE r.sampled_at BETWEEN first_at AND last_at) THEN
        RETURN false;
    END IF;
    -- the partitions of the China-local days the times fall in (not the days between them)
    PERFORM core.ensure_safety_reading_partitions(day_start, day_start)
       FROM (SELECT DISTINCT date_trunc('day', t AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS day_start
               FROM unnest(times) t) days;
    RETURN true;
END
$fn$;
COMMENT ON FUNCTION core.safety_readings_are_new(text[], text[], timestamptz[]) IS
    'true when a batch of readings (its mine/point pairs and sample times) may be COPYed straight into core.safety_reading: every point defined, no stored reading in its time span; creates the partitions it needs';
REVOKE ALL ON FUNCTION core.safety_readings_are_new(text[], text[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.safety_readings_are_new(text[], text[], timestamptz[]) TO minewatch_loader, minewatch_owner;
