"""POINT_FLATLINE: a methane point stuck on one value far longer than the mine's methane points ever are."""

from minewatch.detect import run_detection
from tests.conftest import query
from tests.integration.test_detection_rules import MINE, registry

POINTS = [MINE + "01MN0001001A0" + str(n) for n in range(1, 4)]


def test_a_point_stuck_on_one_value_is_flagged_and_the_others_are_not(db, tmp_path):
    file_id = registry(db, tmp_path)
    query(db, """INSERT INTO core.safety_point_definition (mine_code, source_kind, point_code, dialect, value_type,
                                                            sensor_type, range_low, valid_from, file_id, record_no)
                 SELECT %(m)s, 'CDDY', p, 'national', 'MN', '0001', 0, '2026-03-18 00:00+08', %(f)s, n
                   FROM unnest(%(ps)s::text[]) WITH ORDINALITY AS t(p, n) RETURNING 1""",
          {"m": MINE, "f": file_id, "ps": POINTS})
    query(db, "SELECT core.ensure_safety_reading_partitions('2026-03-18 00:00+08', '2026-03-18 23:59+08')")
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
