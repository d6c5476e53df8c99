-- Personnel positioning (contract C): the current reference lists, the snapshots a mine sent, and
-- the derivations the merges call (sql/merge/positioning_*.sql). Tables: migration 0040.
--
-- Rules (docs/decisions.md, "Personnel positioning"):
-- - Snapshots. A RYSS file is a full snapshot of the cards in or around its mine at its header
--   time. The snapshots a mine sent are the RYSS files in the ledger that loaded (empty ones too).
--   A card missing from a snapshot that exists has gone; a snapshot never received (no file, or a
--   file held whole in quarantine) ends nothing, and neither does one that lost a record to
--   quarantine (the card of that record may be listed in it): only a complete snapshot shows a card
--   absent. A stay ended at a snapshot later found incomplete is rebuilt by the next merge of its mine.
-- - Reads. A RYSS row is a read when the card's station, station time, distance or latest track
--   item differs from its previous RYSS row (its first row is a read); every REST item is a read.
-- - Shaft stay: the card's observations with in_mine_flag 0 (shaft mouth) or 1 (underground), or
--   empty, one after the other. It ends at the first of: an existing RYSS snapshot without the card
--   ('stopped_appearing'), an observation with flag 2 ('out_of_mine'), or, for a card last seen by
--   REST (which has no snapshots), no read while the mine's REST reads ran on for
--   core.positioning_setting 'rest_absent_after' ('no_reads', left_at = last read + that time).
--   left_at is the data time at which the end became known.
-- - Presence: the part of a stay in one area; it also ends at the first observation in another
--   area ('area_change', left_at = that observation). Rows without an area belong to no presence.
-- - Unread while underground: for every observation with flag 1, the time since the last read
--   before it in the stay (or the stay's start). longest_unread_s is the greatest such time;
--   unread_since is the last read (or the start) when the card was underground at its last
--   observation and the stay is open (or ended for want of REST reads), so the time unread so far
--   is the mine's clock minus unread_since (core.positioning_card_unread).
-- - Rebuilds touch only the cards a delivery names and the cards whose stay was not settled
--   before the earliest time it touches; a stay whose observations all precede that time is
--   carried on from its last observation instead of being recomputed from its start.

-- --- current reference lists -------------------------------------------------------------------

CREATE OR REPLACE VIEW core.positioning_area_current AS
SELECT mine_code, area_code, area_type, area_type_text, rated_persons, area_name, valid_from, file_id
  FROM core.positioning_area WHERE valid_to IS NULL;
COMMENT ON VIEW core.positioning_area_current IS 'one row per area in the latest RYQY snapshot of its mine';

CREATE OR REPLACE VIEW core.positioning_station_current AS
SELECT mine_code, station_code, area_code, station_name, x, y, z, location, valid_from, file_id
  FROM core.positioning_station WHERE valid_to IS NULL;
COMMENT ON VIEW core.positioning_station_current IS 'one row per base station in the latest RYJZ snapshot of its mine';

CREATE OR REPLACE VIEW core.positioning_person_current AS
SELECT mine_code, card_code, person_name, job, title, team, birth_date, education, is_leader, is_special,
       valid_from, file_id
  FROM core.positioning_person WHERE valid_to IS NULL;
COMMENT ON VIEW core.positioning_person_current IS
    'one row per card in the latest RYXX snapshot of its mine; person_name and birth_date are personal data (core only)';

-- --- snapshots and the mine's clock -----------------------------------------------------------

CREATE OR REPLACE VIEW core.positioning_snapshot AS
WITH snapshots AS (
    SELECT f.mine_code,
           f.produced_at AS observed_at,
           (array_agg(f.file_id ORDER BY ledger.delivery_rank(f) DESC))[1] AS file_id,
           count(*)::integer AS deliveries,
           bool_or(f.rows_rejected = 0) AS is_complete
      FROM ledger.file f
     WHERE f.kind = 'RYSS' AND f.status IN ('loaded', 'loading') AND f.produced_at IS NOT NULL
     GROUP BY f.mine_code, f.produced_at
)
SELECT s.mine_code, s.observed_at, s.file_id, s.deliveries,
       (SELECT count(*)::integer FROM core.positioning_observation o
         WHERE o.mine_code = s.mine_code AND o.observed_at = s.observed_at AND o.source_kind = 'RYSS') AS cards,
       s.is_complete
  FROM snapshots s;
COMMENT ON VIEW core.positioning_snapshot IS
    'one row per mine and RYSS snapshot time that was received and loaded (empty snapshots too): the latest delivery''s file, how many deliveries, whether one of them lost no record to quarantine (only a complete snapshot shows a card absent), how many cards it lists';

CREATE OR REPLACE VIEW core.positioning_mine_clock AS
WITH snapshots AS (
    SELECT f.mine_code, max(f.produced_at) AS at
      FROM ledger.file f
     WHERE f.kind = 'RYSS' AND f.status IN ('loaded', 'loading') AND f.produced_at IS NOT NULL
     GROUP BY f.mine_code
),
rest AS (
    SELECT o.mine_code, max(o.observed_at) AS at
      FROM core.positioning_observation o WHERE o.source_kind = 'REST'
     GROUP BY o.mine_code
)
SELECT coalesce(s.mine_code, r.mine_code) AS mine_code,
       s.at AS latest_snapshot_at,
       r.at AS latest_rest_read_at,
       greatest(s.at, r.at) AS clock_at
  FROM snapshots s FULL JOIN rest r ON r.mine_code = s.mine_code;
COMMENT ON VIEW core.positioning_mine_clock IS
    'one row per mine with positioning data: its latest RYSS snapshot, its latest REST read, and the later of the two (the data''s own "now")';

CREATE OR REPLACE VIEW core.positioning_card_unread AS
SELECT s.mine_code, s.card_code, s.entered_at, s.last_area_code AS area_code, s.last_seen_at, s.last_read_at,
       s.unread_since,
       greatest(s.last_seen_at, c.clock_at) AS as_of,
       extract(epoch FROM greatest(s.last_seen_at, c.clock_at) - s.unread_since)::double precision AS unread_s,
       s.longest_unread_s
  FROM core.positioning_shaft_stay s
  JOIN core.positioning_mine_clock c ON c.mine_code = s.mine_code
 WHERE s.left_at IS NULL AND s.unread_since IS NOT NULL;
COMMENT ON VIEW core.positioning_card_unread IS
    'one row per card still in the mine and underground at its last observation: how long it has gone unread, up to the mine''s clock';

-- --- names of the base-station codes ----------------------------------------------------------

CREATE OR REPLACE FUNCTION core.positioning_run_state(code smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE code WHEN 0 THEN 'communicating' WHEN 1 THEN 'interrupted' WHEN 2 THEN 'fault' ELSE 'unknown' END
$$;
COMMENT ON FUNCTION core.positioning_run_state(smallint) IS 'JZSS/FZSS run_status as a word: 0 communicating, 1 interrupted, 2 fault, else unknown';

CREATE OR REPLACE FUNCTION core.positioning_power_state(code smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE code WHEN 0 THEN 'battery' WHEN 1 THEN 'mains' WHEN 2 THEN 'power_fault' ELSE 'unknown' END
$$;
COMMENT ON FUNCTION core.positioning_power_state(smallint) IS 'JZSS/FZSS power_status as a word: 0 battery (DC), 1 mains (AC), 2 power fault, else unknown';

-- --- base-station state intervals ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION core.rebuild_positioning_station_intervals(mines text[], stations text[], froms timestamptz[])
RETURNS integer
LANGUAGE plpgsql AS $fn$
-- Rebuild core.positioning_station_interval for the given stations from the earliest report each
-- delivery changed (froms). A run of reports with the same run and power status is one interval.
DECLARE
    written integer;
BEGIN
    IF mines IS NULL THEN
        RETURN 0;
    END IF;
    -- one rebuild at a time: a concurrent load of the same station waits and then sees this one's reports
    PERFORM pg_advisory_xact_lock(hashtext('core.positioning_station_interval'));
    DROP TABLE IF EXISTS pg_temp.station_touched, pg_temp.station_seed;

    CREATE TEMP TABLE station_touched ON COMMIT DROP AS
    WITH changed AS (
        -- the earliest report of each station that the delivery changed
        SELECT c.mine_code, c.station_code, min(c.from_at) AS from_at
          FROM unnest(mines, stations, froms) AS c (mine_code, station_code, from_at)
         WHERE c.mine_code IS NOT NULL AND c.station_code IS NOT NULL
         GROUP BY c.mine_code, c.station_code
    ),
    unsettled AS (
        -- the stored intervals a report at that time can alter: those not ended before it
        SELECT c.mine_code, c.station_code, c.from_at, count(i.started_at)::integer AS runs,
               min(i.started_at) AS first_start, max(i.last_report_at) AS last_report_at
          FROM changed c
          LEFT JOIN core.positioning_station_interval i
            ON i.mine_code = c.mine_code AND i.station_code = c.station_code
           AND coalesce(i.ended_at, 'infinity'::timestamptz) >= c.from_at
         GROUP BY c.mine_code, c.station_code, c.from_at
    )
    SELECT u.mine_code, u.station_code, u.first_start,
           -- the open interval whose reports all precede the change goes on from its last report
           (u.runs = 1 AND u.last_report_at < u.from_at) AS continues,
           CASE WHEN u.runs = 1 AND u.last_report_at < u.from_at THEN u.last_report_at
                ELSE least(u.from_at, u.first_start) END AS rebuild_from
      FROM unsettled u;

    CREATE TEMP TABLE station_seed ON COMMIT DROP AS
    SELECT i.*
      FROM core.positioning_station_interval i
      JOIN station_touched t
        ON t.mine_code = i.mine_code AND t.station_code = i.station_code AND t.continues AND i.started_at = t.first_start;

    DELETE FROM core.positioning_station_interval i USING station_touched t
     WHERE i.mine_code = t.mine_code AND i.station_code = t.station_code
       AND i.started_at >= least(t.rebuild_from, t.first_start);

    WITH reports AS (
        -- the reports from the rebuild point on; the first one of a carried-on interval is its anchor
        SELECT r.mine_code, r.station_code, r.data_at, r.area_code, r.run_status, r.power_status, r.file_id, r.record_no,
               t.continues AND r.data_at = t.rebuild_from AS is_anchor,
               lag(r.data_at) OVER w IS NULL AS is_first,
               (r.run_status, r.power_status) IS DISTINCT FROM (lag(r.run_status) OVER w, lag(r.power_status) OVER w) AS changes
          FROM station_touched t
          CROSS JOIN LATERAL (
              SELECT * FROM core.positioning_station_state k
               WHERE k.mine_code = t.mine_code AND k.station_code = t.station_code AND k.data_at >= t.rebuild_from
              OFFSET 0) r
        WINDOW w AS (PARTITION BY r.mine_code, r.station_code ORDER BY r.data_at)
    ),
    numbered AS (
        -- a new interval at every change of state (interval 0: the one carried on)
        SELECT r.*,
               sum(CASE WHEN r.is_anchor THEN 0 WHEN r.is_first OR r.changes THEN 1 ELSE 0 END)
                   OVER (PARTITION BY r.mine_code, r.station_code ORDER BY r.data_at) AS run_no
          FROM reports r
    ),
    runs AS (
        SELECT n.mine_code, n.station_code, n.run_no,
               min(n.data_at) AS first_at, max(n.data_at) AS last_at,
               (count(*) FILTER (WHERE NOT n.is_anchor))::integer AS new_reports,
               (array_agg(n.run_status ORDER BY n.data_at))[1] AS run_status,
               (array_agg(n.power_status ORDER BY n.data_at))[1] AS power_status,
               (array_agg(n.area_code ORDER BY n.data_at))[1] AS area_code,
               (array_agg(n.file_id ORDER BY n.data_at))[1] AS file_id,
               (array_agg(n.record_no ORDER BY n.data_at))[1] AS record_no
          FROM numbered n
         GROUP BY n.mine_code, n.station_code, n.run_no
    ),
    ended AS (
        -- an interval ends at the first report of the next one
        SELECT r.*, lead(r.first_at) OVER (PARTITION BY r.mine_code, r.station_code ORDER BY r.run_no) AS ended_at
          FROM runs r
    )
    INSERT INTO core.positioning_station_interval
           (mine_code, station_code, started_at, area_code, run_status, power_status, run_state, power_state,
            last_report_at, ended_at, reports, file_id, record_no)
    SELECT e.mine_code, e.station_code, coalesce(s.started_at, e.first_at), e.area_code, e.run_status, e.power_status,
           core.positioning_run_state(e.run_status), core.positioning_power_state(e.power_status),
           e.last_at, e.ended_at, coalesce(s.reports, 0) + e.new_reports,
           coalesce(s.file_id, e.file_id), coalesce(s.record_no, e.record_no)
      FROM ended e
      LEFT JOIN station_seed s ON e.run_no = 0 AND s.mine_code = e.mine_code AND s.station_code = e.station_code;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$fn$;
COMMENT ON FUNCTION core.rebuild_positioning_station_intervals(text[], text[], timestamptz[]) IS
    'rebuild the state intervals of these base stations from the earliest report each delivery changed; returns the intervals written';

-- --- shaft stays and presence -------------------------------------------------------------------

CREATE OR REPLACE FUNCTION core.positioning_is_snapshot(mine text, at timestamptz, incomplete bigint[] DEFAULT '{}')
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM ledger.file f
                    WHERE f.kind = 'RYSS' AND f.status IN ('loaded', 'loading') AND f.mine_code = mine
                      AND f.produced_at = at AND f.rows_rejected = 0 AND NOT f.file_id = ANY(incomplete))
$$;
COMMENT ON FUNCTION core.positioning_is_snapshot(text, timestamptz, bigint[]) IS
    'whether the mine sent a complete RYSS snapshot at that time (a delivery that loaded with no record held), the files `incomplete` aside';

CREATE OR REPLACE FUNCTION core.rebuild_positioning_stays(mines text[], cards text[], froms timestamptz[],
                                                          incomplete bigint[] DEFAULT '{}')
RETURNS integer
LANGUAGE plpgsql AS $fn$
-- Rebuild core.positioning_shaft_stay and core.positioning_presence after a delivery. Each element
-- is (mine, card, earliest observation time it delivered) or (mine, NULL, snapshot time) for a
-- snapshot file; per mine the earliest of these times is the time the delivery touched.
-- `incomplete`: RYSS files of the delivery known to have lost records to quarantine (committed
-- files say so in ledger.file.rows_rejected).
DECLARE
    absent_after interval;
    written integer;
    n integer;
BEGIN
    IF mines IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('core.positioning_shaft_stay'));
    SELECT s.value INTO absent_after FROM core.positioning_setting s WHERE s.name = 'rest_absent_after';
    absent_after := coalesce(absent_after, interval '12 hours');
    DROP TABLE IF EXISTS pg_temp.stay_mine, pg_temp.stay_card, pg_temp.stay_seed, pg_temp.presence_seed,
                         pg_temp.stay_rows;

    -- 1. per mine: the earliest time the delivery touched (or, earlier, an incomplete snapshot at which
    --    stays were ended), and how far the mine's REST reads go
    CREATE TEMP TABLE stay_mine ON COMMIT DROP AS
    WITH touched AS (
        SELECT c.mine_code, min(c.from_at) AS touched_from
          FROM unnest(mines, froms) AS c (mine_code, from_at)
         WHERE c.mine_code IS NOT NULL AND c.from_at IS NOT NULL
         GROUP BY c.mine_code
    ),
    wrongly_ended AS (
        SELECT f.mine_code, min(f.produced_at) AS at
          FROM ledger.file f
         WHERE f.kind = 'RYSS' AND f.rows_rejected > 0 AND f.status IN ('loaded', 'loading')
           AND f.mine_code IN (SELECT t.mine_code FROM touched t)
           AND NOT core.positioning_is_snapshot(f.mine_code, f.produced_at, incomplete)
           AND EXISTS (SELECT 1 FROM core.positioning_shaft_stay s
                        WHERE s.mine_code = f.mine_code AND s.end_reason = 'stopped_appearing'
                          AND coalesce(s.left_at, 'infinity'::timestamptz) = f.produced_at)
         GROUP BY f.mine_code
    )
    SELECT t.mine_code, least(t.touched_from, w.at) AS touched_from,
           (SELECT max(o.observed_at) FROM core.positioning_observation o
             WHERE o.mine_code = t.mine_code AND o.source_kind = 'REST') AS rest_clock
      FROM touched t LEFT JOIN wrongly_ended w ON w.mine_code = t.mine_code;

    -- 2. the cards to rebuild: those delivered, and those whose stay was not settled before that time;
    --    where the one unsettled stay's observations all precede it, the stay is carried on from its
    --    last observation (the anchor), else everything from the earliest unsettled stay is rebuilt
    CREATE TEMP TABLE stay_card ON COMMIT DROP AS
    WITH named AS (
        SELECT DISTINCT c.mine_code, c.card_code
          FROM unnest(mines, cards) AS c (mine_code, card_code)
         WHERE c.mine_code IS NOT NULL AND c.card_code IS NOT NULL
        UNION
        SELECT s.mine_code, s.card_code
          FROM core.positioning_shaft_stay s JOIN stay_mine m ON m.mine_code = s.mine_code
         WHERE coalesce(s.left_at, 'infinity'::timestamptz) >= m.touched_from
    ),
    unsettled AS (
        SELECT c.mine_code, c.card_code, m.touched_from, m.rest_clock,
               count(s.entered_at)::integer AS stays, min(s.entered_at) AS first_entered, max(s.last_seen_at) AS last_seen
          FROM named c
          JOIN stay_mine m ON m.mine_code = c.mine_code
          LEFT JOIN core.positioning_shaft_stay s
            ON s.mine_code = c.mine_code AND s.card_code = c.card_code
           AND coalesce(s.left_at, 'infinity'::timestamptz) >= m.touched_from
         GROUP BY c.mine_code, c.card_code, m.touched_from, m.rest_clock
    )
    SELECT u.*,
           (u.stays = 1 AND u.last_seen < u.touched_from) AS continues,
           CASE WHEN u.stays = 1 AND u.last_seen < u.touched_from THEN u.last_seen
                ELSE least(u.touched_from, u.first_entered) END AS rebuild_from,
           NULL::timestamptz AS presence_from   -- the start of the presence carried on, if any
      FROM unsettled u;
    ANALYZE stay_card;

    CREATE TEMP TABLE stay_seed ON COMMIT DROP AS
    SELECT s.*
      FROM core.positioning_shaft_stay s
      JOIN stay_card c
        ON c.mine_code = s.mine_code AND c.card_code = s.card_code AND c.continues AND s.entered_at = c.first_entered;
    CREATE TEMP TABLE presence_seed ON COMMIT DROP AS
    SELECT p.*
      FROM core.positioning_presence p
      JOIN stay_card c
        ON c.mine_code = p.mine_code AND c.card_code = p.card_code AND c.continues
       AND p.entered_at >= c.first_entered AND p.last_seen_at = c.last_seen;
    UPDATE stay_card c SET presence_from = ps.entered_at
      FROM presence_seed ps WHERE ps.mine_code = c.mine_code AND ps.card_code = c.card_code;

    -- what is rebuilt goes; a stay or presence carried on stays and is updated in place below
    DELETE FROM core.positioning_shaft_stay s USING stay_card c
     WHERE s.mine_code = c.mine_code AND s.card_code = c.card_code
       AND CASE WHEN c.continues THEN s.entered_at > c.first_entered
                ELSE s.entered_at >= least(c.rebuild_from, c.first_entered) END;
    DELETE FROM core.positioning_presence p USING stay_card c
     WHERE p.mine_code = c.mine_code AND p.card_code = c.card_code
       AND CASE WHEN c.presence_from IS NOT NULL THEN p.entered_at > c.presence_from
                ELSE p.entered_at >= c.rebuild_from END;

    -- 3. the observations from the rebuild point on, each with what ends its stay and presence
    CREATE TEMP TABLE stay_rows ON COMMIT DROP AS
    WITH observations AS (
        -- (OFFSET 0 keeps each card's lookup an index range scan, however small the table looks)
        SELECT o.mine_code, o.card_code, o.observed_at AS t, o.source_kind, o.in_mine_flag AS flag, o.area_code,
               o.is_read, o.entered_area_at, o.entered_mine_at, o.left_mine_at, o.file_id, o.record_no,
               c.continues AND o.observed_at = c.rebuild_from AS is_anchor,
               c.presence_from IS NOT NULL AS presence_goes_on,
               c.rest_clock
          FROM stay_card c
          CROSS JOIN LATERAL (
              SELECT * FROM core.positioning_observation k
               WHERE k.mine_code = c.mine_code AND k.card_code = c.card_code AND k.observed_at >= c.rebuild_from
              OFFSET 0) o
    ),
    snapshots AS (
        -- the mine's complete RYSS snapshots from the earliest rebuild point, each with the next one
        SELECT m.mine_code, x.t, lead(x.t) OVER (PARTITION BY m.mine_code ORDER BY x.t) AS next_t
          FROM (SELECT c.mine_code, min(c.rebuild_from) AS lo FROM stay_card c GROUP BY c.mine_code) m
          CROSS JOIN LATERAL (
              SELECT DISTINCT f.produced_at AS t
                FROM ledger.file f
               WHERE f.kind = 'RYSS' AND f.status IN ('loaded', 'loading') AND f.mine_code = m.mine_code
                 AND f.produced_at >= m.lo AND f.rows_rejected = 0 AND NOT f.file_id = ANY(incomplete)
              OFFSET 0) x
    ),
    ordered AS (
        -- each observation with the card's next one and the mine's next snapshot
        SELECT r.*,
               lead(r.t) OVER w AS next_t,
               lead(r.flag) OVER w AS next_flag,
               lead(r.area_code) OVER w AS next_area,
               lead(r.left_mine_at) OVER w AS next_left_mine_at,
               coalesce(sn.next_t,
                        (SELECT min(f.produced_at) FROM ledger.file f
                          WHERE f.kind = 'RYSS' AND f.status IN ('loaded', 'loading')
                            AND f.mine_code = r.mine_code AND f.produced_at > r.t
                            AND f.rows_rejected = 0 AND NOT f.file_id = ANY(incomplete))) AS next_snapshot_at
          FROM observations r
          LEFT JOIN snapshots sn ON sn.mine_code = r.mine_code AND sn.t = r.t
        WINDOW w AS (PARTITION BY r.mine_code, r.card_code ORDER BY r.t)
    ),
    gone AS (
        -- absent_at: a complete snapshot after this observation that does not list the card;
        -- timed_out: a REST card not read again while the mine's REST reads ran on for rest_absent_after
        SELECT o.*,
               o.flag IS DISTINCT FROM 2 AS in_stay,
               o.flag IS DISTINCT FROM 2 AND o.area_code IS NOT NULL AS in_presence,
               CASE WHEN o.next_snapshot_at < coalesce(o.next_t, 'infinity'::timestamptz) THEN o.next_snapshot_at END AS absent_at,
               o.source_kind = 'REST'
                 AND coalesce(o.next_t - o.t > absent_after, o.rest_clock - o.t > absent_after, false) AS timed_out
          FROM ordered o
    ),
    ends AS (
        -- how the stay and the presence end after this observation (NULL: they go on)
        SELECT g.*,
               CASE WHEN NOT g.in_stay THEN NULL
                    WHEN g.absent_at IS NOT NULL THEN 'stopped_appearing'
                    WHEN g.timed_out THEN 'no_reads'
                    WHEN g.next_flag = 2 THEN 'out_of_mine' END AS stay_end,
               CASE WHEN NOT g.in_stay THEN NULL
                    WHEN g.absent_at IS NOT NULL THEN g.absent_at
                    WHEN g.timed_out THEN g.t + absent_after
                    WHEN g.next_flag = 2 THEN g.next_t END AS stay_left
          FROM gone g
    ),
    presence_ends AS (
        SELECT e.*,
               CASE WHEN NOT e.in_presence THEN NULL
                    WHEN e.stay_end IS NOT NULL THEN e.stay_end
                    WHEN e.next_t IS NOT NULL AND e.next_area IS DISTINCT FROM e.area_code THEN 'area_change' END AS presence_end,
               CASE WHEN NOT e.in_presence THEN NULL
                    WHEN e.stay_end IS NOT NULL THEN e.stay_left
                    WHEN e.next_t IS NOT NULL AND e.next_area IS DISTINCT FROM e.area_code THEN e.next_t END AS presence_left
          FROM ends e
    ),
    opens AS (
        -- an observation opens a stay (presence) when the previous one ended it or was outside one;
        -- the anchor carries the stored stay (and presence) on
        SELECT p.*,
               p.in_stay AND CASE WHEN lag(p.t) OVER w IS NULL THEN NOT p.is_anchor
                                  ELSE NOT lag(p.in_stay) OVER w OR lag(p.stay_end) OVER w IS NOT NULL END AS opens_stay,
               p.in_presence AND CASE WHEN lag(p.t) OVER w IS NULL THEN NOT (p.is_anchor AND p.presence_goes_on)
                                      ELSE NOT lag(p.in_presence) OVER w OR lag(p.presence_end) OVER w IS NOT NULL END
                   AS opens_presence
          FROM presence_ends p
        WINDOW w AS (PARTITION BY p.mine_code, p.card_code ORDER BY p.t)
    )
    -- stay_no / presence_no 0: the stored stay / presence carried on
    SELECT o.*,
           sum(o.opens_stay::integer) OVER w AS stay_no,
           sum(o.opens_presence::integer) OVER w AS presence_no
      FROM opens o
    WINDOW w AS (PARTITION BY o.mine_code, o.card_code ORDER BY o.t);
    ANALYZE stay_rows;

    -- 4. the stays, with the time unread while underground
    WITH rows AS (
        SELECT r.*,
               max(CASE WHEN r.is_read THEN r.t END)
                   OVER (PARTITION BY r.mine_code, r.card_code, r.stay_no ORDER BY r.t
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS read_before,
               min(r.t) OVER (PARTITION BY r.mine_code, r.card_code, r.stay_no) AS first_t
          FROM stay_rows r WHERE r.in_stay
    ),
    unread AS (
        -- for every underground observation: how long since the last read before it (or the stay's start)
        SELECT r.*,
               coalesce(r.read_before, s.last_read_at, s.entered_at, r.first_t) AS unread_from,
               CASE WHEN r.flag = 1 AND NOT r.is_anchor
                    THEN extract(epoch FROM r.t - coalesce(r.read_before, s.last_read_at, s.entered_at, r.first_t))
               END AS unread_s
          FROM rows r
          LEFT JOIN stay_seed s ON r.stay_no = 0 AND s.mine_code = r.mine_code AND s.card_code = r.card_code
    ),
    ranked AS (
        -- the stay's last observation (how it ends), and the one that closed its longest unread time
        SELECT u.*,
               u.t = max(u.t) OVER p AS is_last,
               row_number() OVER (PARTITION BY u.mine_code, u.card_code, u.stay_no
                                  ORDER BY u.unread_s DESC NULLS LAST, u.t) = 1 AS is_longest
          FROM unread u
        WINDOW p AS (PARTITION BY u.mine_code, u.card_code, u.stay_no)
    ),
    stays AS (
        SELECT u.mine_code, u.card_code, u.stay_no,
               min(u.t) AS first_t, max(u.t) AS last_t,
               min(u.t) FILTER (WHERE u.flag = 1) AS first_under,
               max(u.t) FILTER (WHERE u.flag = 1) AS last_under,
               max(u.t) FILTER (WHERE u.is_read) AS last_read,
               (count(*) FILTER (WHERE NOT u.is_anchor))::integer AS observations,
               (count(*) FILTER (WHERE u.is_read AND NOT u.is_anchor))::integer AS reads,
               max(u.unread_s) AS longest,
               max(u.unread_from) FILTER (WHERE u.is_longest) AS longest_from,
               max(u.t) FILTER (WHERE u.is_longest) AS longest_until,
               max(u.flag) FILTER (WHERE u.is_last) AS last_flag,
               max(u.area_code) FILTER (WHERE u.is_last) AS last_area,
               max(u.stay_end) FILTER (WHERE u.is_last) AS end_reason,
               max(u.stay_left) FILTER (WHERE u.is_last) AS left_at,
               max(u.next_left_mine_at) FILTER (WHERE u.is_last) AS next_left_mine_at,
               min(u.entered_mine_at) AS entered_mine_at,   -- the earliest reported 入井时刻
               max(u.file_id) FILTER (WHERE u.t = u.first_t) AS file_id,
               max(u.record_no) FILTER (WHERE u.t = u.first_t) AS record_no
          FROM ranked u
         GROUP BY u.mine_code, u.card_code, u.stay_no
    ),
    merged AS (
        -- a carried-on stay adds its new observations to what the stored one held
        SELECT a.*, s.entered_at AS seed_entered, s.first_underground_at AS seed_first_under,
               s.last_underground_at AS seed_last_under,
               s.last_read_at AS seed_last_read, s.observations AS seed_observations, s.reads AS seed_reads,
               s.longest_unread_s AS seed_longest, s.longest_unread_from AS seed_longest_from,
               s.longest_unread_until AS seed_longest_until, s.entered_mine_at_reported AS seed_entered_mine_at,
               s.file_id AS seed_file_id, s.record_no AS seed_record_no,
               coalesce(s.longest_unread_s, -1) >= coalesce(a.longest, -1) AND s.entered_at IS NOT NULL AS seed_longest_wins
          FROM stays a
          LEFT JOIN stay_seed s ON a.stay_no = 0 AND s.mine_code = a.mine_code AND s.card_code = a.card_code
    )
    INSERT INTO core.positioning_shaft_stay
           (mine_code, card_code, entered_at, first_underground_at, last_underground_at, last_seen_at, last_flag,
            last_area_code, last_read_at, left_at, end_reason, observations, reads, longest_unread_s,
            longest_unread_from, longest_unread_until, unread_since, entered_mine_at_reported,
            left_mine_at_reported, file_id, record_no)
    SELECT m.mine_code, m.card_code,
           coalesce(m.seed_entered, m.first_t),
           coalesce(m.seed_first_under, m.first_under),
           greatest(m.seed_last_under, m.last_under),
           m.last_t, m.last_flag, m.last_area,
           greatest(m.seed_last_read, m.last_read),
           m.left_at, m.end_reason,
           coalesce(m.seed_observations, 0) + m.observations,
           coalesce(m.seed_reads, 0) + m.reads,
           CASE WHEN m.seed_longest_wins THEN m.seed_longest ELSE m.longest END,
           CASE WHEN m.seed_longest_wins THEN m.seed_longest_from
                WHEN m.longest IS NOT NULL THEN m.longest_from END,
           CASE WHEN m.seed_longest_wins THEN m.seed_longest_until
                WHEN m.longest IS NOT NULL THEN m.longest_until END,
           CASE WHEN m.last_flag = 1 AND (m.end_reason IS NULL OR m.end_reason = 'no_reads')
                THEN coalesce(greatest(m.seed_last_read, m.last_read), m.seed_entered, m.first_t) END,
           coalesce(m.seed_entered_mine_at, m.entered_mine_at),
           CASE WHEN m.end_reason = 'out_of_mine' THEN m.next_left_mine_at END,
           coalesce(m.seed_file_id, m.file_id), coalesce(m.seed_record_no, m.record_no)
      FROM merged m
    ON CONFLICT (mine_code, card_code, entered_at) DO UPDATE
       SET first_underground_at = EXCLUDED.first_underground_at, last_underground_at = EXCLUDED.last_underground_at,
           last_seen_at = EXCLUDED.last_seen_at, last_flag = EXCLUDED.last_flag,
           last_area_code = EXCLUDED.last_area_code, last_read_at = EXCLUDED.last_read_at,
           left_at = EXCLUDED.left_at, end_reason = EXCLUDED.end_reason, observations = EXCLUDED.observations,
           reads = EXCLUDED.reads, longest_unread_s = EXCLUDED.longest_unread_s,
           longest_unread_from = EXCLUDED.longest_unread_from, longest_unread_until = EXCLUDED.longest_unread_until,
           unread_since = EXCLUDED.unread_since, entered_mine_at_reported = EXCLUDED.entered_mine_at_reported,
           left_mine_at_reported = EXCLUDED.left_mine_at_reported, file_id = EXCLUDED.file_id,
           record_no = EXCLUDED.record_no;
    GET DIAGNOSTICS written = ROW_COUNT;

    -- 5. the presences
    WITH rows AS (
        SELECT r.*, r.t = min(r.t) OVER p AS is_first, r.t = max(r.t) OVER p AS is_last
          FROM stay_rows r WHERE r.in_presence
        WINDOW p AS (PARTITION BY r.mine_code, r.card_code, r.presence_no)
    ),
    presences AS (
        SELECT r.mine_code, r.card_code, r.presence_no,
               min(r.t) AS first_t, max(r.t) AS last_t,
               max(r.area_code) FILTER (WHERE r.is_first) AS area_code,
               max(r.entered_area_at) FILTER (WHERE r.is_first) AS area_entered_at,
               max(r.t) FILTER (WHERE r.is_read) AS last_read,
               (count(*) FILTER (WHERE NOT r.is_anchor))::integer AS observations,
               (count(*) FILTER (WHERE r.is_read AND NOT r.is_anchor))::integer AS reads,
               max(r.presence_end) FILTER (WHERE r.is_last) AS end_reason,
               max(r.presence_left) FILTER (WHERE r.is_last) AS left_at,
               max(r.file_id) FILTER (WHERE r.is_first) AS file_id,
               max(r.record_no) FILTER (WHERE r.is_first) AS record_no
          FROM rows r
         GROUP BY r.mine_code, r.card_code, r.presence_no
    )
    INSERT INTO core.positioning_presence
           (mine_code, card_code, entered_at, area_code, area_entered_at_reported, last_seen_at, last_read_at,
            left_at, end_reason, observations, reads, file_id, record_no)
    SELECT p.mine_code, p.card_code, coalesce(s.entered_at, p.first_t), p.area_code,
           CASE WHEN s.entered_at IS NOT NULL THEN s.area_entered_at_reported ELSE p.area_entered_at END,
           p.last_t, greatest(s.last_read_at, p.last_read), p.left_at, p.end_reason,
           coalesce(s.observations, 0) + p.observations, coalesce(s.reads, 0) + p.reads,
           coalesce(s.file_id, p.file_id), coalesce(s.record_no, p.record_no)
      FROM presences p
      LEFT JOIN presence_seed s ON p.presence_no = 0 AND s.mine_code = p.mine_code AND s.card_code = p.card_code
    ON CONFLICT (mine_code, card_code, entered_at) DO UPDATE
       SET area_code = EXCLUDED.area_code, area_entered_at_reported = EXCLUDED.area_entered_at_reported,
           last_seen_at = EXCLUDED.last_seen_at, last_read_at = EXCLUDED.last_read_at, left_at = EXCLUDED.left_at,
           end_reason = EXCLUDED.end_reason, observations = EXCLUDED.observations, reads = EXCLUDED.reads,
           file_id = EXCLUDED.file_id, record_no = EXCLUDED.record_no;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN written + n;
END
$fn$;
COMMENT ON FUNCTION core.rebuild_positioning_stays(text[], text[], timestamptz[], bigint[]) IS
    'rebuild the shaft stays and presences of the cards a delivery touched (and those it may end); returns the rows written';
