"""UNREGISTERED_AREA over a real PostgreSQL.

Areas a feed names that the regulator's registry does not know, safety points with no verified place, and
the findings closing when the registry learns them.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

from minewatch.detect import run_detection
from minewatch.pipeline import run_landing
from tests.conftest import query
from tests.integration.test_detection_rules import FIX, MINE, registry

CST = timezone(timedelta(hours=8))
TEMPORARY = MINE + "0031"  # a heading the positioning system knows and the registry does not
LEDGER_ONLY = MINE + "0042"  # an area only the explosives ledger names
UNPLACED = MINE + "01MN0001003A01"  # defined in CDDY, not in registry/points.csv


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 18, hour, minute, tzinfo=CST)


def flags(db) -> list[tuple]:
    rows = query(db, """SELECT subject_kind, subject_code, started_at, ended_at, severity, area_code, evidence, flag_id
                          FROM mart.flags WHERE flag_code = 'UNREGISTERED_AREA' ORDER BY subject_kind, subject_code""")
    return [(k, s, a.astimezone(CST), e and e.astimezone(CST), sev, area, ev, fid)
            for k, s, a, e, sev, area, ev, fid in rows]


def feeds(db, file_id: int) -> None:
    """The positioning system lists 0031 and reads cards there; explosives go to 0042; a point has no place."""
    query(db, """INSERT INTO core.positioning_area (mine_code, area_code, area_type, area_type_text, area_name,
                                                     valid_from, file_id, record_no) VALUES
                 (%(m)s, %(a)s, 'key', '重点区域', '临时作业点', %(t)s, %(f)s, 1),
                 (%(m)s, %(m)s || '0007', 'key', '重点区域', '己15-24080工作面', %(t)s, %(f)s, 2) RETURNING 1""",
          {"m": MINE, "a": TEMPORARY, "t": at(0), "f": file_id})
    query(db, """INSERT INTO core.positioning_presence (mine_code, card_code, entered_at, area_code, last_seen_at,
                                                         last_read_at, left_at, end_reason, observations, reads,
                                                         file_id, record_no)
                 SELECT %(m)s, %(m)s || c, %(a0)s, %(a)s, %(a1)s, %(a1)s, %(a1)s, 'area_change', 10, 5, %(f)s, 1
                   FROM unnest(ARRAY['00084', '00085']) c RETURNING 1""",
          {"m": MINE, "a": TEMPORARY, "a0": at(8), "a1": at(16), "f": file_id})
    query(db, """INSERT INTO core.explosives_issue (mine_code, record_id, issued_at, area_code, explosive_kg,
                                                    detonators, net_kg, net_detonators, file_id, record_no)
                 VALUES (%s, 'R9', %s, %s, 8, 20, 8, 20, %s, 1) RETURNING 1""", (MINE, at(9), LEDGER_ONLY, file_id))
    query(db, """INSERT INTO core.safety_point_definition (mine_code, source_kind, point_code, dialect, value_type,
                                                            sensor_type, location, valid_from, file_id, record_no)
                 VALUES (%s, 'CDDY', %s, 'national', 'MN', '0001', '临时作业点回风', %s, %s, 1),
                        (%s, 'CDDY', %s, 'national', 'MN', '0001', '工作面', %s, %s, 2) RETURNING 1""",
          (MINE, UNPLACED, at(6), file_id, MINE, MINE + "01MN0001001A01", at(6), file_id))


def test_areas_the_registry_does_not_know_and_points_without_a_place(db, tmp_path):
    file_id = registry(db, tmp_path)
    feeds(db, file_id)
    run_detection(db)
    found = flags(db)
    assert [f[:6] for f in found] == [
        ("area", TEMPORARY, at(0), None, 3, TEMPORARY),  # the positioning list still names it; cards were read there
        ("area", LEDGER_ONLY, at(9), at(9), 3, LEDGER_ONLY),  # one explosives issue
        ("point", UNPLACED, at(6), None, 2, None),
    ]
    temporary, ledger_only, unplaced = found
    assert temporary[6]["named by"] == ["cards present (positioning)", "positioning area list (RYQY)"]
    assert temporary[6]["cards read there"] == 2 and temporary[6]["name in the feed"] == "临时作业点"
    assert ledger_only[6]["explosives issues there"] == 1
    assert "no verified place" in unplaced[6]["why"] and unplaced[6]["location in the definition"] == "临时作业点回风"
    run_detection(db)
    assert flags(db) == found

    # the registry learns the heading and places the point: their open findings close, the same ones
    later = tmp_path / "later" / "registry"
    later.mkdir(parents=True)
    areas = (FIX / "areas.csv").read_text(encoding="utf-8") + f"{MINE},{TEMPORARY},临时作业点,heading,false\n"
    (later / "areas.csv").write_text(areas, encoding="utf-8")
    points = (FIX / "points.csv").read_text(encoding="utf-8") + f"{MINE},{UNPLACED},{TEMPORARY}\n"
    (later / "points.csv").write_text(points, encoding="utf-8")
    shutil.copy(FIX / "mines.csv", later / "mines.csv")
    run_landing(tmp_path / "later", detect=False)
    (registered_at,) = query(db, "SELECT max(valid_from) FROM core.area WHERE area_code = %s", (TEMPORARY,))[0]
    run_detection(db)
    closed = flags(db)
    assert [f[:5] for f in closed] == [
        ("area", TEMPORARY, at(0), registered_at.astimezone(CST), 3),
        ("area", LEDGER_ONLY, at(9), at(9), 3),
        ("point", UNPLACED, at(6), registered_at.astimezone(CST), 2),
    ]
    assert [f[7] for f in closed] == [f[7] for f in found]
    assert closed[0][6]["registry knows it since"]
    run_detection(db)
    assert flags(db) == closed


def test_an_area_dropped_from_the_registry_is_unknown_from_then_on(db, tmp_path):
    file_id = registry(db, tmp_path)
    # explosives to the heading 0008 before and after the registry drops it
    query(db, """INSERT INTO core.explosives_issue (mine_code, record_id, issued_at, area_code, explosive_kg,
                                                    detonators, net_kg, net_detonators, file_id, record_no)
                 VALUES (%(m)s, 'R1', now() - interval '1 day', %(a)s, 8, 20, 8, 20, %(f)s, 1),
                        (%(m)s, 'R2', now() + interval '1 day', %(a)s, 8, 20, 8, 20, %(f)s, 2) RETURNING 1""",
          {"m": MINE, "a": MINE + "0008", "f": file_id})
    later = tmp_path / "later" / "registry"
    later.mkdir(parents=True)
    lines = [line for line in (FIX / "areas.csv").read_text(encoding="utf-8").splitlines() if "0008," not in line]
    (later / "areas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_landing(tmp_path / "later", detect=False)
    run_detection(db)
    [dropped] = flags(db)
    (issued_after,) = query(db, "SELECT issued_at FROM core.explosives_issue WHERE record_id = 'R2'")[0]
    assert dropped[:5] == ("area", MINE + "0008", issued_after.astimezone(CST), issued_after.astimezone(CST), 3)
    assert dropped[6]["dropped from the registry at"]
