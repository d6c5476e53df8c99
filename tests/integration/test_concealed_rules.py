"""POINT_FLATLINE: a methane point stuck on one value far longer than the mine's methane points ever are."""

from minewatch.detect import run_detection
from tests.conftest import query
from tests.integration.test_detection_rules import MINE, registry

POINTS = [MINE + "01MN0001001A0" + str(n) for n in range(1, 4)]


def methane_points(db, file_id: int) -> None:
    """POINTS defined as methane points from 2026-03-18, and that day's readings partition."""
    query(db, """INSERT INTO core.safety_point_definition (mine_code, source_kind, point_code, dialect, value_type,
                                                            sensor_type, range_low, valid_from, file_id, record_no)
                 SELECT %(m)s, 'CDDY', p, 'national', 'MN', '0001', 0, '2026-03-18 00:00+08', %(f)s, n
                   FROM unnest(%(ps)s::text[]) WITH ORDINALITY AS t(p, n) RETURNING 1""",
          {"m": MINE, "f": file_id, "ps": POINTS})
    query(db, "SELECT core.ensure_safety_reading_partitions('2026-03-18 00:00+08', '2026-03-18 23:59+08')")


def test_a_point_stuck_on_one_value_is_flagged_and_the_others_are_not(db, tmp_path):
    file_id = registry(db, tmp_path)
    methane_points(db, file_id)
    # six hours of one reading a minute: points 1 and 2 wander; point 3 sits on 0.31 from 10:00 to 13:00
    query(db, """INSERT INTO core.safety_reading (mine_code, point_code, sampled_at, value, file_id, record_no,
                                                   raw_status, conditions)
                 SELECT %(m)s, p, '2026-03-18 08:00+08'::timestamptz + m * interval '1 minute',
                        CASE WHEN p LIKE '%%3' AND m BETWEEN 120 AND 300 THEN 0.31 ELSE 0.2 + (m %% 7) / 100.0 END,
                        %(f)s, m, 0, 0
                   FROM unnest(%(ps)s::text[]) p, generate_series(0, 359) m RETURNING 1""",
          {"m": MINE, "f": file_id, "ps": POINTS})
    run_detection(db)
    found = query(db, """SELECT subject_code, to_char(started_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'),
                                to_char(ended_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'), evidence->>'value',
                                (evidence->>'run length (minutes)')::numeric, flag_id
                           FROM mart.flags WHERE flag_code = 'POINT_FLATLINE'""")
    assert [f[:5] for f in found] == [(POINTS[2], "10:00", "13:00", "0.31", 180)]
    run_detection(db)
    assert query(db, "SELECT flag_id FROM mart.flags WHERE flag_code = 'POINT_FLATLINE'") == [(found[0][5],)]


REFERENCE_RUNS = """
    -- every run of one value, the straightforward way (three window passes over all readings): what
    -- core.safety_point_run computed before it learned to read each point once
    WITH readings AS (
        SELECT r.mine_code, r.point_code, r.sampled_at, r.value,
               CASE WHEN r.value = lag(r.value) OVER w
                         AND r.sampled_at - lag(r.sampled_at) OVER w <= interval '15 minutes'
                    THEN 0 ELSE 1 END AS is_change
          FROM core.safety_reading r
         WHERE r.value IS NOT NULL AND coalesce(r.conditions, 0) & (8 | 16 | 64) = 0
        WINDOW w AS (PARTITION BY r.mine_code, r.point_code ORDER BY r.sampled_at)
    ),
    numbered AS (
        SELECT rd.*, sum(rd.is_change) OVER (PARTITION BY rd.mine_code, rd.point_code ORDER BY rd.sampled_at) AS run_no,
               max(rd.sampled_at) OVER (PARTITION BY rd.mine_code, rd.point_code) AS latest_at
          FROM readings rd
    )
    SELECT n.mine_code, n.point_code, n.run_no, min(n.value) AS value, min(n.sampled_at) AS started_at,
           max(n.sampled_at) AS last_at, max(n.sampled_at) - min(n.sampled_at) AS lasted, count(*) AS readings,
           max(n.sampled_at) = max(n.latest_at) AS is_latest
      FROM numbered n
     GROUP BY n.mine_code, n.point_code, n.run_no
"""


def test_the_screened_long_runs_and_the_sampled_normal_are_those_of_all_readings(db, tmp_path):
    """Long runs found by the bucket screen, and the normal learned from the sample, equal the plain formulation's.

    Eight hours across midnight, a reading a minute, six points of two sensor types (all of them learners).
    """
    file_id = registry(db, tmp_path)
    ch4 = [MINE + "01MN0001001A0" + str(n) for n in range(1, 4)]
    co = [MINE + "01MN0004001A0" + str(n) for n in range(1, 4)]
    query(db, """INSERT INTO core.safety_point_definition (mine_code, source_kind, point_code, dialect, value_type,
                                                            sensor_type, range_low, valid_from, file_id, record_no)
                 SELECT %(m)s, 'CDDY', p, 'national', 'MN', substr(p, 17, 4), 0, '2026-03-17 00:00+08', %(f)s, n
                   FROM unnest(%(ps)s::text[]) WITH ORDINALITY AS t(p, n) RETURNING 1""",
          {"m": MINE, "f": file_id, "ps": ch4 + co})
    query(db, "SELECT core.ensure_safety_reading_partitions('2026-03-17 00:00+08', '2026-03-18 23:59+08')")
    # values that repeat in runs of all lengths, readings flagged fault, calibrating, switched off or empty, and:
    # ch4 1 on 0.5 from 23:20 to 02:40 (through midnight, a calibrating and a faulty reading inside);
    # ch4 2 on 0.5 from 21:40 to 01:00 but silent 23:00-23:20 (two runs, neither long);
    # ch4 3 on 0.42 from 01:00 to its latest reading; co 1 on 0 all along (the bottom of its range);
    # co 2 on 7 from 21:40 to 02:40 but once 8 at 01:50 (two long runs)
    query(db, """INSERT INTO core.safety_reading (mine_code, point_code, sampled_at, value, file_id, record_no,
                                                   raw_status, conditions)
                 SELECT %(m)s, p, '2026-03-17 20:00+08'::timestamptz + m * interval '1 minute',
                        CASE WHEN n = 1 AND m BETWEEN 200 AND 400 THEN 0.5
                             WHEN n = 2 AND m BETWEEN 100 AND 300 THEN 0.5
                             WHEN n = 3 AND m >= 300 THEN 0.42
                             WHEN n = 4 THEN 0
                             WHEN n = 5 AND m = 250 THEN 8
                             WHEN n = 5 AND m BETWEEN 100 AND 400 THEN 7
                             WHEN m %% 61 = 0 THEN NULL
                             WHEN (m / (1 + n)) %% 11 < 6 THEN 0.3 ELSE 0.2 + ((m * n) %% 5) / 100.0 END,
                        %(f)s, m, 0,
                        CASE WHEN n = 1 AND m = 260 THEN 16 WHEN n = 1 AND m = 330 THEN 8
                             WHEN m %% 53 = 0 THEN 8 WHEN m %% 71 = 0 THEN 16 WHEN m %% 89 = 0 THEN 64 ELSE 0 END
                   FROM unnest(%(ps)s::text[]) WITH ORDINALITY AS t(p, n), generate_series(0, 479) m
                  WHERE NOT (n = 2 AND m BETWEEN 180 AND 200) AND NOT (n = 6 AND m %% 97 BETWEEN 1 AND 21)
                 RETURNING 1""",
          {"m": MINE, "f": file_id, "ps": ch4 + co})
    columns = "point_code, value, started_at, last_at, lasted, readings, is_latest"
    screened = query(db, f"SELECT {columns} FROM core.safety_point_long_runs() ORDER BY 1, 3")
    plain = query(db, f"""SELECT {columns} FROM ({REFERENCE_RUNS}) x
                           WHERE lasted > interval '2 hours' AND value > 0 ORDER BY 1, 3""")
    assert screened == plain
    assert [(r[0], r[6]) for r in screened] == [(ch4[0], False), (ch4[2], True), (co[1], False), (co[1], False)]
    normal = query(db, """SELECT r.sensor_type, n.normal_run, n.runs,
                                 percentile_disc(0.99) WITHIN GROUP (ORDER BY r.lasted), count(*)
                            FROM core.safety_point_run r
                            JOIN core.sensor_type_normal_run n USING (mine_code, sensor_type)
                           GROUP BY r.sensor_type, n.normal_run, n.runs ORDER BY 1""")
    assert [(t, a, b) for t, a, b, _, _ in normal] == [(t, c, d) for t, _, _, c, d in normal]
    assert [t for t, *_ in normal] == ["0001", "0004"]


def test_a_flat_run_still_going_on_is_open_and_a_new_value_ends_it(db, tmp_path):
    file_id = registry(db, tmp_path)
    methane_points(db, file_id)
    readings = """INSERT INTO core.safety_reading (mine_code, point_code, sampled_at, value, file_id, record_no,
                                                   raw_status, conditions)
                  SELECT %(m)s, p, '2026-03-18 08:00+08'::timestamptz + m * interval '1 minute',
                         CASE WHEN p LIKE '%%3' AND m BETWEEN 120 AND 299 THEN 0.31 ELSE 0.2 + (m %% 7) / 100.0 END,
                         %(f)s, m, 0, 0
                    FROM unnest(%(ps)s::text[]) p, generate_series(%(a)s, %(b)s) m RETURNING 1"""
    # to 12:59 point 3 sits on 0.31 since 10:00, and still does at its latest reading
    query(db, readings, {"m": MINE, "f": file_id, "ps": POINTS, "a": 0, "b": 299})
    run_detection(db)
    [(point, started, ended, fid)] = query(db, """SELECT subject_code, started_at, ended_at, flag_id FROM mart.flags
                                                   WHERE flag_code = 'POINT_FLATLINE'""")
    assert (point, ended) == (POINTS[2], None)
    # at 13:00 it reads another value: the same finding, ended at the run's last reading
    query(db, readings, {"m": MINE, "f": file_id, "ps": POINTS, "a": 300, "b": 359})
    run_detection(db)
    assert query(db, """SELECT subject_code, started_at, to_char(ended_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'),
                               flag_id FROM mart.flags WHERE flag_code = 'POINT_FLATLINE'""") \
        == [(POINTS[2], started, "12:59", fid)]
