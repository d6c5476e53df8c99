"""Concealed-works power rules: POWER_BEHIND_SEAL, POWER_WITHOUT_MONITORING, POWER_WITHOUT_PERSONNEL.

Energy goes straight into core.meter_interval (15-minute intervals, as the meter merges build them);
the registry, REST positions and safety definitions and readings as the load path or the merges
leave them. One China-local day, 2026-03-18.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from minewatch.detect import rules, run_detection
from minewatch.pipeline import run_landing
from tests.conftest import query
from tests.integration.test_positioning_load import page

CST = timezone(timedelta(hours=8))
MINE = "410403004688"
SHAFT, ROADWAY, FACE, SEALED, IDLE = (f"{MINE}{n}" for n in ("0001", "0002", "0007", "0009", "0010"))
METERS = {"M-SHAFT": SHAFT, "M-ROAD": ROADWAY, "M-FACE": FACE, "M-SEAL": SEALED, "M-IDLE": IDLE}
P_FACE, P_SEAL = f"{MINE}01MN0001001A01", f"{MINE}01MN0001002A01"
C1 = f"{MINE}00101"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 18, hour, minute, tzinfo=CST)


def registry(db, landing: Path, idle_declared: bool = False) -> int:
    """The registry: a shaft, a roadway, a declared face, a sealed area and a face not declared; a meter each."""
    folder = landing / "registry"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mines.csv").write_text("mine_code,mine_name,province,county,status,capacity_mtpa\n"
                                      f"{MINE},平煤十矿,河南,平顶山,producing,1.8\n", encoding="utf-8")
    (folder / "areas.csv").write_text(
        "mine_code,area_code,area_name,kind,declared_active\n"
        f"{MINE},{SHAFT},主井口,shaft,false\n{MINE},{ROADWAY},东翼大巷,roadway,false\n"
        f"{MINE},{FACE},己15-24080工作面,working_face,true\n{MINE},{SEALED},己15-22100老采区（密闭）,sealed,false\n"
        f"{MINE},{IDLE},己15-24100备用工作面,working_face,{str(idle_declared).lower()}\n", encoding="utf-8")
    (folder / "meters.csv").write_text(
        "mine_code,meter_id,usage_point,area_code,multiplier\n"
        + "".join(f"{MINE},{m},,{a},1\n" for m, a in METERS.items()), encoding="utf-8")
    outcome = run_landing(landing, detect=False)
    assert not outcome.problems, outcome.problems
    return query(db, "SELECT min(file_id) FROM ledger.file")[0][0]


def draw(db, file_id: int, meter: str, kw, hours: range) -> None:
    """15-minute intervals of a meter over whole hours; kw(hour) is the power drawn in that hour."""
    rows = [(MINE, meter, at(0) + timedelta(minutes=15 * q), at(0) + timedelta(minutes=15 * (q + 1)), kw(q // 4) / 4.0,
             file_id, q) for h in hours for q in range(4 * h, 4 * h + 4)]
    with db, db.cursor() as cur:
        cur.executemany("""INSERT INTO core.meter_interval (mine_code, meter_id, interval_start, interval_end,
                                                            energy_kwh, quality, source, file_id, record_no)
                           VALUES (%s, %s, %s, %s, %s, 'measured', 'register', %s, %s)""", rows)


def routine(db, file_id: int, hours: range, sealed_work: range = range(0), idle_work: range = range(0)) -> None:
    """A working day: the face works 08:00-16:00, the roadway and the shaft follow it.

    The sealed area and the idle face draw their trickle except in the hours given.
    """
    working = range(8, 16)
    draw(db, file_id, "M-FACE", lambda h: 1700.0 if h in working else 120.0, hours)
    draw(db, file_id, "M-ROAD", lambda h: 650.0 if h in working else 210.0, hours)
    draw(db, file_id, "M-SHAFT", lambda h: 1400.0 if h in working else 700.0, hours)
    draw(db, file_id, "M-SEAL", lambda h: 900.0 if h in sealed_work else 0.4, hours)
    draw(db, file_id, "M-IDLE", lambda h: 400.0 if h in idle_work else 3.0, hours)


def flags(db, code: str) -> list[tuple]:
    rows = query(db, """SELECT subject_code, started_at, ended_at, severity, evidence, flag_id FROM mart.flags
                         WHERE flag_code = %s ORDER BY subject_code, started_at""", (code,))
    return [(s, a.astimezone(CST), e and e.astimezone(CST), sev, ev, fid) for s, a, e, sev, ev, fid in rows]


def short(found: list[tuple]) -> list[tuple]:
    return [f[:4] for f in found]


def test_power_behind_a_seal_is_flagged_until_it_stops_and_a_roadway_or_declared_face_is_not(db, tmp_path):
    file_id = registry(db, tmp_path / "landing")
    # to 14:00: the sealed area draws working power from 10:00 and still does; the idle face for one hour only
    routine(db, file_id, range(0, 14), sealed_work=range(10, 16), idle_work=range(3, 4))
    run_detection(db)
    [seal] = flags(db, "POWER_BEHIND_SEAL")
    assert seal[:4] == (SEALED, at(10), None, 3)  # open: still drawing in the latest metered hour
    ev = seal[4]
    assert ev["registry kind"] == "sealed" and ev["hours"] == 4 and ev["meters"] == ["M-SEAL"]
    assert ev["base load (kWh per hour)"] == 0.4 and ev["working level from (kWh per hour)"] == 30.4
    assert ev["energy (kWh)"] == 3600.0
    # the roadway and the shaft swing with the face, the declared face works, the idle face's hour is alone
    assert query(db, "SELECT count(*) FROM mart.flags WHERE flag_code LIKE 'POWER%%' AND subject_code <> %s",
                 (SEALED,)) == [(0,)]

    # the afternoon arrives: the sealed area went quiet at 16:00; the same finding, now ended
    routine(db, file_id, range(14, 20), sealed_work=range(10, 16))
    run_detection(db)
    [closed] = flags(db, "POWER_BEHIND_SEAL")
    assert closed[:4] == (SEALED, at(10), at(16), 3) and closed[5] == seal[5]
    assert closed[4]["hours"] == 6
    assert run_detection(db)["power_behind_seal"] == 0  # re-running changes nothing
    assert [f[5] for f in flags(db, "POWER_BEHIND_SEAL")] == [seal[5]]


def test_an_undeclared_face_drawing_power_is_a_warning_and_the_declared_face_working_is_not(db, tmp_path):
    file_id = registry(db, tmp_path / "landing")
    routine(db, file_id, range(0, 24), idle_work=range(18, 21))
    run_detection(db)
    [idle] = flags(db, "POWER_BEHIND_SEAL")  # the declared face works 08:00-16:00: no finding
    assert idle[:4] == (IDLE, at(18), at(21), 2)
    assert idle[4]["registry kind"] == "working_face" and "not declared active" in idle[4]["why"]
    assert idle[4]["base load (kWh per hour)"] == 3.0 and idle[4]["hours"] == 3


def test_a_face_declared_active_draws_no_finding_however_hard_it_works(db, tmp_path):
    file_id = registry(db, tmp_path / "landing", idle_declared=True)
    routine(db, file_id, range(0, 24), idle_work=range(18, 21))
    run_detection(db)
    assert flags(db, "POWER_BEHIND_SEAL") == []


def point(db, file_id: int, code: str, area: str) -> None:
    query(db, """INSERT INTO core.safety_point_definition (mine_code, source_kind, point_code, dialect, value_type,
                                                            sensor_type, range_low, area_code, valid_from, file_id,
                                                            record_no)
                 VALUES (%s, 'CDDY', %s, 'national', 'MN', '0001', 0, %s, '2026-03-18 00:00+08', %s, 1) RETURNING 1""",
          (MINE, code, area, file_id))


def test_power_drawn_while_the_face_methane_sensor_is_switched_off_or_flat(db, tmp_path):
    file_id = registry(db, tmp_path / "landing")
    routine(db, file_id, range(0, 24), sealed_work=range(12, 15))
    point(db, file_id, P_FACE, FACE)
    point(db, file_id, P_SEAL, SEALED)
    query(db, "SELECT core.ensure_safety_reading_partitions('2026-03-18 00:00+08', '2026-03-18 23:59+08')")
    # a reading a minute all day. The face's sensor wanders, is switched off 10:00-12:59 while the face works,
    # silent for 6 minutes at 14:10 (an upload hiccup) and switched off again at 20:00-22:59 while the face is idle.
    # The sealed area's sensor sits on 0.31 from 11:00 to 15:59 (a flatline) and wanders otherwise.
    query(db, """INSERT INTO core.safety_reading (mine_code, point_code, sampled_at, value, file_id, record_no,
                                                   raw_status, conditions)
                 SELECT %(m)s, p, '2026-03-18 00:00+08'::timestamptz + m * interval '1 minute',
                        CASE WHEN p = %(ps)s AND m BETWEEN 660 AND 959 THEN 0.31 ELSE 0.2 + (m %% 7) / 100.0 END,
                        %(f)s, m, 0,
                        CASE WHEN p = %(pf)s AND (m BETWEEN 600 AND 779 OR m BETWEEN 1200 AND 1379) THEN 64 ELSE 0 END
                   FROM unnest(ARRAY[%(pf)s, %(ps)s]) p, generate_series(0, 1439) m
                  WHERE NOT (p = %(pf)s AND m BETWEEN 850 AND 855) RETURNING 1""",
          {"m": MINE, "f": file_id, "pf": P_FACE, "ps": P_SEAL})
    run_detection(db)
    found = flags(db, "POWER_WITHOUT_MONITORING")
    assert short(found) == [(FACE, at(10), at(13), 3), (SEALED, at(12), at(15), 3)]
    face, sealed = found
    assert face[4]["how they were blind"] == ["switched off"] and face[4]["blind points"] == [P_FACE]
    assert face[4]["hours"] == 3 and face[4]["a methane point was blind"] is True
    assert sealed[4]["how they were blind"] == ["flat"] and sealed[4]["blind points"] == [P_SEAL]
    assert short(flags(db, "POINT_FLATLINE")) == [(P_SEAL, at(11), at(15, 59), 2)]
    assert run_detection(db)["power_without_monitoring"] == 0
    assert [f[5] for f in flags(db, "POWER_WITHOUT_MONITORING")] == [face[5], sealed[5]]


def test_flatline_findings_are_this_runs_when_the_power_rules_read_them():
    """POWER_WITHOUT_MONITORING reads the POINT_FLATLINE findings of the same run: its rule must run after."""
    names = [name for name, _ in rules()]
    assert names.index("point_flatline") < names.index("power_without_monitoring")


def test_power_where_positioning_places_nobody_but_not_where_positioning_is_absent(db, tmp_path):
    landing = tmp_path / "landing"
    file_id = registry(db, landing)
    routine(db, file_id, range(0, 24), sealed_work=range(9, 15))
    run_detection(db)
    assert flags(db, "POWER_WITHOUT_PERSONNEL") == []  # no positioning data at all: nothing is known about people

    # a REST platform reads C1 at the face every 5 minutes from 07:30 to 12:00, then stops sending anything
    page(landing, "20260318120100", [(C1, at(7, 30) + timedelta(minutes=5 * k), FACE, 1) for k in range(55)])
    run_landing(landing, detect=False)
    run_detection(db)
    # nobody in the sealed area while it worked; from 12:00 the positioning feed is silent: not "nobody"
    [nobody] = flags(db, "POWER_WITHOUT_PERSONNEL")
    assert nobody[:4] == (SEALED, at(9), at(12), 3)
    assert nobody[4]["hours"] == 3 and nobody[4]["registry kind"] == "sealed"
    # the face works with C1 there 08:00-12:00; after 12:00 positioning is silent there too
    assert [f[0] for f in flags(db, "POWER_WITHOUT_PERSONNEL")] == [SEALED]
    assert run_detection(db)["power_without_personnel"] == 0


def test_verify_by_unsealing_needs_work_behind_a_seal_or_two_kinds_of_evidence_and_marks_the_blinding_day(db):
    def flag(mine: str, code: str, area: str | None, start: datetime, end: datetime | None, severity: int = 2) -> None:
        query(db, """INSERT INTO core.flag (mine_code, flag_code, subject_kind, subject_code, area_code, started_at,
                                            ended_at, severity)
                     VALUES (%s, %s, 'area', coalesce(%s, %s), %s, %s, %s, %s) RETURNING 1""",
              (mine, code, area, mine, area, start, end, severity))

    day = at(0).date()
    # mine A: a declared face worked with its methane sensor switched off: shielding to stop, nothing to unseal
    flag("A", "POINT_MASKED", FACE, at(10), at(13))
    flag("A", "POWER_WITHOUT_MONITORING", FACE, at(10), at(13), 3)
    # mine B: the seal camera turned away at 23:30 the day before; power behind the seal from 00:00
    flag("B", "CAMERA_TAMPER", SEALED, at(0) - timedelta(minutes=30), at(6))
    flag("B", "POWER_BEHIND_SEAL", SEALED, at(0), at(6), 3)
    # mine C: explosives to an undeclared face and power with nobody there, the same area, while a sensor is flat
    flag("C", "POINT_FLATLINE", FACE, at(9), at(15))
    flag("C", "EXPLOSIVES_UNDECLARED", IDLE, at(9, 25), at(9, 25), 3)
    flag("C", "POWER_WITHOUT_PERSONNEL", IDLE, at(9), at(12), 3)
    # mine D: explosives to one undeclared face and power with nobody at another: no area holds two kinds
    flag("D", "POINT_FLATLINE", FACE, at(9), at(15))
    flag("D", "EXPLOSIVES_UNDECLARED", IDLE, at(9, 25), at(9, 25), 3)
    flag("D", "POWER_WITHOUT_PERSONNEL", SEALED, at(9), at(12), 2)
    verdicts = query(db, """SELECT mine_code, day, verify_unsealing, reasons[array_upper(reasons, 1)]
                              FROM mart.mine_day_risk ORDER BY 1, 2""")
    assert [v[:3] for v in verdicts] == [("A", day, False), ("B", day - timedelta(days=1), True), ("B", day, True),
                                         ("C", day, True), ("D", day, False)]
    assert "blinded this day just before" in verdicts[1][3] and "while the witnesses were blind" in verdicts[2][3]
