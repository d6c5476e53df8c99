"""Detection rules over core tables: the findings they make, and that re-running them changes nothing."""

import shutil
from pathlib import Path

from minewatch.detect import run_detection
from minewatch.pipeline import run_landing
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "registry"
MINE = "410403004688"
POINT = "41040300468801MN0001001A01"


def registry(db, tmp_path) -> int:
    landing = tmp_path / "landing" / "registry"
    landing.mkdir(parents=True)
    for name in ("mines.csv", "areas.csv", "points.csv"):
        shutil.copy(FIX / name, landing / name)
    run_landing(tmp_path / "landing", detect=False)
    return query(db, "SELECT min(file_id) FROM ledger.file")[0][0]


def test_explosives_to_a_sealed_area_or_a_roadway_are_flagged(db, tmp_path):
    file_id = registry(db, tmp_path)
    query(db, """INSERT INTO core.explosives_issue (mine_code, record_id, issued_at, area_code, explosive_kg, detonators,
                                                    net_kg, net_detonators, file_id, record_no) VALUES
                 (%(m)s, 'R1', now(), %(m)s || '0007', 12, 30, 12, 30, %(f)s, 1),  -- the declared face: fine
                 (%(m)s, 'R2', now(), %(m)s || '0009', 8, 20, 8, 20, %(f)s, 2),    -- behind the seal
                 (%(m)s, 'R3', now(), %(m)s || '0002', 2, 4, 2, 4, %(f)s, 3),      -- a roadway
                 (%(m)s, 'R4', now(), %(m)s || '0042', 1, 2, 1, 2, %(f)s, 4)       -- an area nobody registered
              RETURNING 1""", {"m": MINE, "f": file_id})
    run_detection(db)
    found = query(db, """SELECT subject_code, severity, evidence->>'ledger record' FROM mart.flags
                          WHERE flag_code = 'EXPLOSIVES_UNDECLARED' ORDER BY 3""")
    assert found == [(MINE + "0009", 3, "R2"), (MINE + "0002", 2, "R3"), (MINE + "0042", 3, "R4")]


def test_switched_off_runs_become_one_finding_each(db, tmp_path):
    file_id = registry(db, tmp_path)
    query(db, "SELECT core.ensure_safety_reading_partitions('2026-03-18 00:00+08', '2026-03-18 23:59+08')")
    # minute 0-9 normal, 10-19 switched off, 20-29 normal, 30-39 switched off to the latest reading
    query(db, """INSERT INTO core.safety_reading (mine_code, point_code, sampled_at, value, file_id, record_no,
                                                   raw_status, conditions)
                 SELECT %(m)s, %(p)s, '2026-03-18 08:00+08'::timestamptz + m * interval '1 minute', 0.3, %(f)s, m,
                        CASE WHEN (m / 10) %% 2 = 1 THEN 64 ELSE 0 END, CASE WHEN (m / 10) %% 2 = 1 THEN 64 ELSE 0 END
                   FROM generate_series(0, 39) m RETURNING 1""", {"m": MINE, "p": POINT, "f": file_id})
    run_detection(db)
    runs = query(db, """SELECT to_char(started_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'),
                               to_char(ended_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'), area_code,
                               (evidence->>'switched-off readings')::int, flag_id
                          FROM mart.flags WHERE flag_code = 'POINT_MASKED' ORDER BY started_at""")
    assert [r[:4] for r in runs] == [("08:10", "08:19", MINE + "0007", 10), ("08:30", None, MINE + "0007", 10)]
    run_detection(db)
    again = query(db, "SELECT flag_id FROM mart.flags WHERE flag_code = 'POINT_MASKED' ORDER BY started_at")
    assert [r[0] for r in again] == [r[4] for r in runs]
