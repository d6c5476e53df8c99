"""Monitoring-gap rules of contract G.1 over a real PostgreSQL.

SAFETY_FEED_GAP, POINT_SILENT, POINT_CALIBRATION_EXCESS, STATION_SILENT (safety outstations; positioning
stations that read no card while cards are listed at them) and METER_GAP: what they find, what they leave
alone, the same flag ids on a re-run, open findings that close when data come, and open findings withdrawn
when the data came late.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from psycopg2.extras import execute_values

from minewatch.detect import run_detection
from minewatch.pipeline import run_landing
from tests.conftest import query
from tests.integration import test_meters_load as meters
from tests.integration import test_positioning_load as positioning
from tests.integration.test_detection_rules import MINE, registry
from tests.integration.test_positioning_rules import flags, short

CST = timezone(timedelta(hours=8))
CH4 = MINE + "01MN0001001A01"  # methane at the declared working face 0007 (registry/points.csv)
CO = MINE + "01MN0004001A02"  # carbon monoxide at the same face
CH4_SEALED = MINE + "01MN0001002A01"  # methane behind the seal (0009)
POINTS = (CH4, CO, CH4_SEALED)
OUTSTATION = MINE + "F0001"


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A China-local time on 2026-03-18."""
    return datetime(2026, 3, 18, hour, minute, second, tzinfo=CST)


def define(db, file_id: int) -> None:
    """The three points, defined (CDDY) from 08:00 and wired to one outstation."""
    query(db, """INSERT INTO core.safety_point_definition (mine_code, source_kind, point_code, dialect, value_type,
                                                            sensor_type, outstation_code, range_low, valid_from,
                                                            file_id, record_no)
                 SELECT %(m)s, 'CDDY', p, 'national', 'MN', substr(p, 17, 4), %(o)s, 0, %(t)s, %(f)s, n
                   FROM unnest(%(ps)s::text[]) WITH ORDINALITY AS x(p, n) RETURNING 1""",
          {"m": MINE, "o": OUTSTATION, "t": at(8), "f": file_id, "ps": list(POINTS)})
    query(db, "SELECT core.ensure_safety_reading_partitions(%s, %s)", (at(0), at(23, 59)))


def readings(db, file_id: int, start: datetime, end: datetime, skip=lambda p, t: False,
             conditions=lambda p, t: 0, step_s: int = 30) -> None:
    """One reading of every point every step_s seconds from start to end; skip(p, t) leaves one out."""
    rows, t = [], start
    while t <= end:
        for p in POINTS:
            if not skip(p, t):
                c = conditions(p, t)
                rows.append((MINE, p, t, 0.3, file_id, len(rows) + 1, c, c))
        t += timedelta(seconds=step_s)
    with db, db.cursor() as cur:
        execute_values(cur, """INSERT INTO core.safety_reading (mine_code, point_code, sampled_at, value, file_id,
                                                                record_no, raw_status, conditions) VALUES %s""", rows)


def clock(db, produced_at: datetime, kind: str = "JZSS") -> None:
    """A loaded file of another feed of the mine, produced at that time: the mine's data went on until then."""
    query(db, """INSERT INTO ledger.file (path, name, size_bytes, sha256, feed, kind, mine_code, produced_at, status)
                 VALUES (%(p)s, %(p)s, 1, md5(%(p)s), 'positioning', %(k)s, %(m)s, %(t)s, 'loaded') RETURNING 1""",
          {"p": f"{MINE}_{kind}_{produced_at:%Y%m%d%H%M%S}.txt", "k": kind, "m": MINE, "t": produced_at})


def ids(found: list[tuple]) -> list[int]:
    return [f[6] for f in found]


# ---------------------------------------------------------------- SAFETY_FEED_GAP


def test_a_silent_safety_feed_is_a_gap_and_an_upload_hiccup_is_not(db, tmp_path):
    file_id = registry(db, tmp_path)
    define(db, file_id)
    # every 30 s from 08:00 to 12:00; three cycles missing at 08:30 (a hiccup); nothing from 09:00:30 to
    # 09:29:30 (30 minutes) nor from 10:00:30 to 11:09:30 (70 minutes)
    readings(db, file_id, at(8), at(12), skip=lambda p, t: at(8, 30) <= t < at(8, 31, 30)
             or at(9, 0, 30) <= t < at(9, 30) or at(10, 0, 30) <= t < at(11, 10))
    run_detection(db)
    found = flags(db, "SAFETY_FEED_GAP")
    assert short(found) == [(MINE, at(9), at(9, 30), 2), (MINE, at(10), at(11, 10), 3)]
    assert found[0][5]["minutes"] == 30 and found[0][5]["usual cadence s"] == 30
    assert found[0][5]["counts from minutes"] == 10 and found[1][5]["minutes"] == 70
    assert not flags(db, "POINT_SILENT")  # the whole mine was silent: not the points' finding
    run_detection(db)
    assert ids(flags(db, "SAFETY_FEED_GAP")) == ids(found)


def test_a_safety_feed_silent_while_other_feeds_go_on_is_open_until_it_speaks_again(db, tmp_path):
    file_id = registry(db, tmp_path)
    define(db, file_id)
    readings(db, file_id, at(8), at(10))
    clock(db, at(10, 5))  # five minutes later: not yet a gap
    run_detection(db)
    assert not flags(db, "SAFETY_FEED_GAP")
    clock(db, at(10, 40))  # the positioning feed went on to 10:40
    run_detection(db)
    [gap] = flags(db, "SAFETY_FEED_GAP")
    assert gap[:4] == (MINE, at(10), None, 2)
    assert gap[5]["minutes"] == 40 and "other data go on" in gap[5]["why"]
    readings(db, file_id, at(10, 50), at(11))  # the safety data come again at 10:50
    run_detection(db)
    [closed] = flags(db, "SAFETY_FEED_GAP")
    assert closed[:4] == (MINE, at(10), at(10, 50), 2) and closed[6] == gap[6]


def test_an_open_safety_feed_gap_is_withdrawn_when_the_files_were_only_late(db, tmp_path):
    file_id = registry(db, tmp_path)
    define(db, file_id)
    readings(db, file_id, at(8), at(10))
    clock(db, at(10, 30))
    run_detection(db)
    [gap] = flags(db, "SAFETY_FEED_GAP")
    assert gap[:4] == (MINE, at(10), None, 2)
    readings(db, file_id, at(10, 0, 30), at(10, 30))  # the late files: no cycle was missing
    run_detection(db)
    [withdrawn] = flags(db, "SAFETY_FEED_GAP")
    assert withdrawn[:4] == (MINE, at(10), at(10, 0, 30), 1) and withdrawn[6] == gap[6]
    assert withdrawn[5]["why"].startswith("withdrawn")
    run_detection(db)
    assert flags(db, "SAFETY_FEED_GAP") == [withdrawn]


# ---------------------------------------------------------------- POINT_SILENT


def test_a_point_absent_or_at_fault_while_the_mine_speaks_is_silent(db, tmp_path):
    file_id = registry(db, tmp_path)
    define(db, file_id)

    def skip(p, t):
        return ((p == CH4 and at(8, 20) <= t < at(8, 40))  # 20 minutes absent
                or (p == CH4 and at(9, 16) <= t < at(9, 35))  # absent around a mine-wide gap, 5 + 5 minutes
                or at(9, 20, 30) <= t < at(9, 30)  # the whole mine silent (SAFETY_FEED_GAP)
                or (p == CH4_SEALED and t >= at(9, 40)))  # gone from 09:40 on

    def conditions(p, t):
        fault = p == CO and (at(9) <= t < at(9, 15) or at(9, 45) <= t < at(9, 46))  # 15 minutes, then a blip
        return 8 if fault else 0

    readings(db, file_id, at(8), at(10), skip=skip, conditions=conditions)
    run_detection(db)
    found = flags(db, "POINT_SILENT")
    assert short(found) == [(CH4, at(8, 20), at(8, 40), 3), (CH4_SEALED, at(9, 40), None, 2), (CO, at(9), at(9, 15), 2)]
    ch4, sealed, co = found
    assert ch4[4] == MINE + "0007" and ch4[5]["sample times missed"] == 40 and ch4[5]["fault readings"] == 0
    assert "no reading" in ch4[5]["why"] and ch4[5]["minutes"] == 20
    assert "fault" in co[5]["why"] and co[5]["fault readings"] == 30 and co[5]["sample times missed"] == 0
    assert sealed[5]["minutes"] == 20 and sealed[4] == MINE + "0009"
    assert short(flags(db, "SAFETY_FEED_GAP")) == [(MINE, at(9, 20), at(9, 30), 2)]
    run_detection(db)
    assert ids(flags(db, "POINT_SILENT")) == ids(found)

    # the sealed area's sensor comes back at 10:05 (the others never stopped): its finding closes
    readings(db, file_id, at(10, 0, 30), at(10, 10), skip=lambda p, t: p == CH4_SEALED and t < at(10, 5))
    run_detection(db)
    again = flags(db, "POINT_SILENT")
    assert short(again)[1] == (CH4_SEALED, at(9, 40), at(10, 5), 2) and ids(again) == ids(found)


def test_an_open_point_silence_is_withdrawn_when_its_readings_were_only_late(db, tmp_path):
    file_id = registry(db, tmp_path)
    define(db, file_id)
    readings(db, file_id, at(8), at(9), skip=lambda p, t: p == CO and t >= at(8, 40))
    run_detection(db)
    [silent] = flags(db, "POINT_SILENT")
    assert silent[:4] == (CO, at(8, 40), None, 2)
    with db, db.cursor() as cur:  # the CO point's late file
        cur.execute("""INSERT INTO core.safety_reading (mine_code, point_code, sampled_at, value, file_id, record_no,
                                                        raw_status, conditions)
                       SELECT %s, %s, t, 3, %s, 1, 0, 0
                         FROM generate_series(%s::timestamptz, %s, interval '30 seconds') t""",
                    (MINE, CO, file_id, at(8, 40), at(9)))
    run_detection(db)
    [withdrawn] = flags(db, "POINT_SILENT")
    assert withdrawn[:4] == (CO, at(8, 40), at(8, 40), 1) and withdrawn[6] == silent[6]
    assert withdrawn[5]["why"].startswith("withdrawn")


# ---------------------------------------------------------------- POINT_CALIBRATION_EXCESS


def test_calibrating_far_longer_or_more_often_than_calibration_needs(db, tmp_path):
    file_id = registry(db, tmp_path)
    define(db, file_id)
    spells = [at(9, 0), at(9, 30), at(10, 0), at(10, 30), at(11, 0)]  # five 10-minute spells of CH4_SEALED

    def conditions(p, t):
        if p == CH4 and at(8, 10) <= t < at(9, 40):  # 90 minutes in one spell
            return 16
        if p == CO and at(8, 10) <= t < at(8, 22):  # 12 minutes: a calibration
            return 16 | 1
        if p == CH4_SEALED and any(s <= t < s + timedelta(minutes=10) for s in spells):
            return 16
        return 0

    readings(db, file_id, at(8), at(12), conditions=conditions, step_s=60)
    # the CO point's calibration event (YCBJ 007) from 11:00, not ended
    query(db, """INSERT INTO core.safety_abnormal_event (mine_code, point_code, abnormal_type, started_at, conditions,
                                                          file_id, record_no)
                 VALUES (%s, %s, '007', %s, 16, %s, 1) RETURNING 1""", (MINE, CO, at(10, 30), file_id))
    run_detection(db)
    found = flags(db, "POINT_CALIBRATION_EXCESS")
    assert short(found) == [(CH4, at(8, 10), at(9, 39), 2), (CH4_SEALED, at(9), at(11, 9), 2),
                            (CO, at(10, 30), None, 2)]
    ch4, sealed, co = found
    assert ch4[5]["minutes calibrating"] == 89 and ch4[5]["reported by"] == ["readings"] and ch4[4] == MINE + "0007"
    assert co[5]["minutes calibrating"] == 90 and co[5]["reported by"] == ["YCBJ 007"]
    assert sealed[5]["calibration spells"] == 5 and sealed[5]["day"] == "2026-03-18"
    run_detection(db)
    assert ids(flags(db, "POINT_CALIBRATION_EXCESS")) == ids(found)

    # the YCBJ event's end comes: 15 minutes, what calibration needs; the open finding is withdrawn
    query(db, "UPDATE core.safety_abnormal_event SET ended_at = %s RETURNING 1", (at(10, 45),))
    run_detection(db)
    again = flags(db, "POINT_CALIBRATION_EXCESS")
    assert short(again)[2] == (CO, at(10, 30), at(10, 45), 1) and ids(again) == ids(found)
    assert again[2][5]["why"].startswith("withdrawn")


# ---------------------------------------------------------------- STATION_SILENT


def test_a_safety_outstation_interrupted_or_at_fault_is_station_silent(db, tmp_path):
    file_id = registry(db, tmp_path)
    define(db, file_id)
    query(db, """INSERT INTO core.safety_outstation (mine_code, outstation_code, location, valid_from, file_id,
                                                      record_no)
                 VALUES (%s, %s, '己15-24080工作面分站', %s, %s, 1) RETURNING 1""", (MINE, OUTSTATION, at(8), file_id))
    # 08:00 communicating; 08:05 interrupted, 08:10 interrupted on battery; 08:15 communicating; 08:20 fault
    states = [(0, 0, 1), (5, 1, 1), (10, 1, 0), (15, 0, 1), (20, 2, 1), (25, 2, 1)]
    query(db, """INSERT INTO core.safety_outstation_state (mine_code, outstation_code, observed_at, run_status,
                                                            power_status, file_id, record_no)
                 SELECT %s, %s, %s::timestamptz + m * interval '1 minute', r, p, %s, 1
                   FROM unnest(%s::int[], %s::smallint[], %s::smallint[]) AS x(m, r, p) RETURNING 1""",
          (MINE, OUTSTATION, at(8), file_id, [s[0] for s in states], [s[1] for s in states], [s[2] for s in states]))
    run_detection(db)
    found = flags(db, "STATION_SILENT")
    assert short(found) == [(OUTSTATION, at(8, 5), at(8, 15), 2), (OUTSTATION, at(8, 20), None, 2)]
    interrupted, fault = found
    assert interrupted[4] == MINE + "0007"  # where its points hang
    assert interrupted[5]["states"] == ["interrupted"] and interrupted[5]["reports"] == 2
    assert interrupted[5]["power"] == ["battery", "mains"] and interrupted[5]["points wired to it"] == 3
    assert fault[5]["states"] == ["fault"] and fault[5]["outstation location"] == "己15-24080工作面分站"
    run_detection(db)
    assert ids(flags(db, "STATION_SILENT")) == ids(found)


def test_a_base_station_that_reads_no_card_while_cards_are_placed_at_it_is_silent(db, tmp_path):
    landing = tmp_path / "landing"
    row, face, sealed = positioning.row, positioning.FACE, positioning.SEALED
    s_face, s_sealed = positioning.S_FACE, positioning.S_SEALED
    c1, c2, c3 = positioning.C1, positioning.C2, positioning.C3

    def snapshot(minute: int, moving: set[str] = frozenset()) -> list[list]:
        """C1 and C2 at the face station, C3 behind the seal; a card moves (is read) when named."""
        return [row(c, 1, face, s_face, positioning.at(0), 5.0 + (minute if c in moving else 0)) for c in (c1, c2)] \
            + [row(c3, 1, sealed, s_sealed, positioning.at(0, 40), 3.0)]

    for m in range(0, 50, 5):  # 08:00 the first rows (reads); then nothing moves for 45 minutes
        positioning.write(landing, "RYSS", positioning.at(m), snapshot(m))
    run_landing(landing, detect=False)
    run_detection(db)
    [face_station] = flags(db, "STATION_SILENT")  # C3 alone behind the seal: CARD_UNREAD's finding, not the station's
    assert face_station[:5] == (s_face, positioning.at(0), None, 2, face)
    ev = face_station[5]
    assert ev["cards placed there unread"] == 2 and ev["some of them"] == [c1, c2] and ev["minutes"] == 45
    assert ev["snapshots listing them"] == 18
    run_detection(db)
    assert ids(flags(db, "STATION_SILENT")) == ids([face_station])

    positioning.write(landing, "RYSS", positioning.at(50), snapshot(50, moving={c1}))  # the station reads C1 again
    run_landing(landing, detect=False)
    run_detection(db)
    [closed] = flags(db, "STATION_SILENT")
    assert closed[:4] == (s_face, positioning.at(0), positioning.at(45), 2) and closed[6] == face_station[6]
    assert datetime.fromisoformat(closed[5]["next read by the station"]) == positioning.at(50)


# ---------------------------------------------------------------- METER_GAP


def test_missing_meter_readings_are_gaps_and_a_reset_is_not(db, tmp_path):
    landing = tmp_path / "landing"
    meters.registry(landing, [f"E-0701,,{meters.FACE},1", f"E-0901,,{meters.SEALED},80"])
    day = [meters.at(18, 8) + timedelta(minutes=15 * k) for k in range(17)]  # 08:00 .. 12:00
    missing = {meters.at(18, 9, m) for m in (0, 15, 30, 45)} | {meters.at(18, 10), meters.at(18, 11)}
    e0901 = [("E-0901", t, f"{(1000 - 900 if t >= meters.at(18, 11, 30) else 1000) + k:.2f}")  # replaced at 11:30
             for k, t in enumerate(day) if t not in missing]
    e0701 = [("E-0701", t, f"{500 + k:.2f}") for k, t in enumerate(day) if t <= meters.at(18, 10)]
    meters.readings(landing, "meter_readings_20260318.csv", e0901 + e0701)
    run_landing(landing)
    found = flags(db, "METER_GAP")
    assert short(found) == [("E-0701", meters.at(18, 10), None, 2),  # stopped at 10:00; the mine's meters went on
                            ("E-0901", meters.at(18, 8, 45), meters.at(18, 10, 15), 2),
                            ("E-0901", meters.at(18, 10, 45), meters.at(18, 11, 15), 1)]
    open_, long_, short_ = found
    assert long_[5]["readings missing"] == 5 and long_[5]["minutes"] == 90 and long_[4] == meters.SEALED
    assert long_[5]["energy over the gap kWh"] == 6 * 80  # the register's delta over the gap times the multiplier
    assert short_[5]["readings missing"] == 1
    assert open_[5]["readings missing"] == 8 and open_[4] == meters.FACE
    run_detection(db)
    assert ids(flags(db, "METER_GAP")) == ids(found)

    # E-0701's readings after 10:00 were only late: its open gap is withdrawn
    (landing / "late").mkdir()
    (landing / "late" / "meter_readings_20260318.csv").write_text(
        "meter_id,read_at,import_kwh_register\n"
        + "".join(f"E-0701,{t.isoformat()},{500 + k:.2f}\n" for k, t in enumerate(day) if t > meters.at(18, 10)))
    run_landing(landing)
    again = flags(db, "METER_GAP")
    assert short(again)[0] == ("E-0701", meters.at(18, 10), meters.at(18, 10, 15), 1) and ids(again) == ids(found)
    assert again[0][5]["why"].startswith("withdrawn")


def test_missing_green_button_intervals_are_a_gap(db, tmp_path):
    landing = tmp_path / "landing"
    meters.registry(landing, [f"E-0701,{meters.UP}/7001,{meters.FACE},1"])
    (landing / "meters").mkdir(parents=True, exist_ok=True)
    starts = [meters.at(18, 0) + timedelta(minutes=15 * k) for k in range(8) if k not in (3, 4)]
    (landing / "meters" / "export.xml").write_text(
        meters.espi_feed("2026-03-18T16:05:00Z", [(t, 250000) for t in starts]))
    run_landing(landing)
    [gap] = flags(db, "METER_GAP")
    assert gap[:4] == ("E-0701", meters.at(18, 0, 45), meters.at(18, 1, 15), 1)
    assert gap[5]["readings missing"] == 2 and gap[5]["source"] == "Green Button (ESPI)"
