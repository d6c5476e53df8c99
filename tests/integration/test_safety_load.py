"""The safety monitoring feed (contract B) from landing bytes to warehouse rows, against a real PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.safety_codes import condition_names
from minewatch.pipeline import run_landing
from minewatch.status import status
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "safety"
M, PM = "140211001234", "14021100123"  # a national (12-digit) and a provincial (11-digit) mine
P1, P2, P3 = M + "01MN0001001A01", M + "01MN0004001A02", M + "01MN0012001A03"
P4, P5, P6, P7 = M + "01KG1011001K01", M + "01MN0099001A05", M + "02MN0023002G01", M + "01MN0002001A07"
CDSS = "140211001234_CDSS_20260318080010.txt"


def utc(text: str) -> datetime:
    """A UTC instant, written as the UTC wall time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def networking(mine: str, upload: str, records: list[str], encoding: str = "utf-8", name: str = "某矿") -> bytes:
    """A networking file (B.0): header, records ended by '~', trailer."""
    return (f"{mine};{name};{upload}~" + "".join(r + "~" for r in records) + "||").encode(encoding)


def cdss(point: str, value: str, status: int | str, at: str) -> str:
    return f"{point};甲烷;回风巷;{value};%CH4;{status};{at}"


def copy(landing: Path, *names: str, folder: str = "") -> None:
    target = landing / folder if folder else landing
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIX / name, target / name)


def held(db) -> list[tuple]:
    return query(db, """SELECT f.name, q.record_no, q.reason, q.status FROM quarantine.record q
                         JOIN ledger.file f USING (file_id) ORDER BY f.name, q.record_no NULLS FIRST, q.reason""")


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


def test_every_file_type_of_both_dialects_round_trips(db, landing):
    copy(landing, "140211001234_CDDY_20260318080000.txt", "140211001234_FZDY_20260318080000.txt",
         "140211001234_FZSS_20260318080100.txt", CDSS, "140211001234_TJSJ_20260318080500.txt",
         "140211001234_YCBJ_20260318090000.txt", "140211001234_safety_20260318.csv", folder=M)
    copy(landing, "14021100123_AQMC_20260318080000.txt", "14021100123_AQKC_20260318080000.txt",
         "14021100123_AQSS_20260318080010.txt", "14021100123_AQKD_20260318080010.txt",
         "14021100123_AQMT_20260318080510.txt", "14021100123_safety_20260318.csv", folder=PM)
    outcome = run_landing(landing, detect=False)
    assert outcome.files == {"loaded": 13}, outcome.problems

    # definitions, national (UTF-8) and provincial (GB18030): values, names and times (UTC+8 -> UTC)
    p1 = query(db, """SELECT source_kind, dialect, sensor_type, unit, alarm_high, cutoff_high, location, relations,
                             area_code, defined_at, valid_from, valid_to, snapshot_at
                        FROM core.safety_point_definition WHERE point_code = %s""", (P1,))
    assert p1 == [("CDDY", "national", "0001", "%CH4", 1.0, 1.5, "15103综采工作面回风巷甲烷",
                   f"D-{M}01KG1009001D01-回风巷断电器:K-{P4}◇B-{P2}", None, utc("2026-01-05 02:00:00"),
                   utc("2026-03-18 00:00:00"), None, utc("2026-03-18 00:00:00"))]
    provincial = query(db, """SELECT point_code, source_kind, value_type, location, area_code, label_0, label_1
                                FROM core.safety_point_definition WHERE mine_code = %s ORDER BY point_code""", (PM,))
    assert provincial[0] == ("001A01", "AQMC", "MN", "15103综采工作面回风巷", PM + "0007", None, None)
    assert ("002K02", "AQKC", "KG", "主通风机房；1号风机", PM + "0001", "停", "开") in provincial
    assert len(provincial) == 6

    # readings: value, raw status, canonical conditions and sample time, and the bytes they came from
    rows = query(db, """SELECT r.point_code, r.sampled_at, r.value, r.raw_status, r.conditions, f.name, r.record_no
                          FROM core.safety_reading r JOIN ledger.file f USING (file_id)
                         WHERE r.mine_code = %s ORDER BY 1, 2""", (M,))
    by_key = {(p, at): (v, raw, cond, name, no) for p, at, v, raw, cond, name, no in rows}
    assert by_key[(P5, utc("2026-03-18 00:00:00"))] == (3.5, 3, 3, CDSS, 5)
    assert by_key[(P6, utc("2026-03-18 00:00:05"))] == (None, 140, 56, CDSS, 6)  # fault, calibrating, over range
    assert by_key[(P1, utc("2026-03-18 00:00:00"))][:4] == (0.52, 0, 0, CDSS)  # CDSS (upload time) beats the CSV
    csv = "140211001234_safety_20260318.csv"
    assert by_key[(P1, utc("2026-03-18 00:00:10"))] == (0.53, 1, 1, csv, 2)
    assert by_key[(P4, utc("2026-03-18 00:00:10"))] == (1.0, 0, 0, csv, 4)  # 'Z' in the CSV
    assert by_key[(P6, utc("2026-03-18 00:00:00"))] == (None, 128, 8, csv, 5)  # -9999 is no value; national bits
    aqss = {p: (at, v, raw, cond) for p, at, v, raw, cond in query(
        db, "SELECT point_code, sampled_at, value, raw_status, conditions FROM core.safety_reading "
            "WHERE mine_code = %s", (PM,))}
    at = utc("2026-03-18 00:00:10")
    assert aqss["005A05"] == (at, 3.5, 3, 3)
    assert aqss["002K02"] == (at, 0.0, 64, 64)  # provincial bit 64: masked -> switched off
    assert aqss["002A02"] == (at, 12.0, 0, 0)  # the first of the duplicates in the cycle
    assert set(aqss) == {"001A01", "002A02", "003A03", "001K01", "005A05", "002K02"}

    # the rest of the file types
    statistics = query(db, """SELECT point_code, period_start, period_end, avg_value, max_value, max_at, min_value, unit
                                FROM core.safety_statistic WHERE point_code IN (%s, '001A01') ORDER BY mine_code""",
                       (P1,))
    assert statistics == [
        ("001A01", utc("2026-03-18 00:00:00"), utc("2026-03-18 00:05:00"), 0.51, 0.63, utc("2026-03-18 00:02:10"),
         0.42, None),
        (P1, utc("2026-03-18 00:00:00"), utc("2026-03-18 00:05:00"), 0.51, 0.63, utc("2026-03-18 00:02:10"),
         0.42, "%CH4"),
    ]
    assert query(db, """SELECT point_code, abnormal_type, started_at, ended_at, is_open, conditions, measures
                          FROM core.safety_abnormal_event ORDER BY started_at""") == [
        (P1, "007", utc("2026-03-17 23:10:00"), utc("2026-03-17 23:25:00"), False, 16, "定期标校，已恢复"),
        (P4, "003", utc("2026-03-18 00:40:00"), utc("2026-03-18 00:41:30"), False, 4, "检查断电器"),
        (P1, "001", utc("2026-03-18 00:55:20"), None, True, 1, None),
    ]
    assert query(db, "SELECT outstation_code, location, z FROM core.safety_outstation ORDER BY 1") == [
        (M + "00001", "15103回风巷分站", -352.0), (M + "00002", "胶带大巷分站", None)]
    assert query(db, """SELECT outstation_code, observed_at, run_status, power_status
                          FROM core.safety_outstation_state ORDER BY 1""") == [
        (M + "00001", utc("2026-03-18 00:00:55"), 0, 1), (M + "00002", utc("2026-03-18 00:00:55"), 1, 0),
        (M + "00003", utc("2026-03-18 00:00:55"), 2, 2)]
    assert query(db, "SELECT point_code, changed_at, state, raw_status, conditions FROM core.safety_switch_change "
                     "ORDER BY changed_at") == [
        ("002K02", utc("2026-03-17 23:59:40"), 1, 0, 0), ("001K01", utc("2026-03-18 00:00:05"), 0, 4, 4)]
    assert query(db, """SELECT point_code, area_code, sensor_type, first_sampled_at, last_sampled_at
                          FROM core.safety_point_area WHERE point_code = %s""", (P1,)) == [
        (P1, M + "0007", "0001", utc("2026-03-18 00:00:00"), utc("2026-03-18 00:00:10"))]

    # what could not load is held with its reason; the good records of the same files loaded
    assert held(db) == [
        ("140211001234_CDSS_20260318080010.txt", 7, "unknown_point", "held"),
        ("140211001234_FZSS_20260318080100.txt", 4, "time_outside_window", "held"),
        ("140211001234_safety_20260318.csv", 7, "bad_number", "held"),
        ("140211001234_safety_20260318.csv", 8, "bad_time", "held"),
        ("140211001234_safety_20260318.csv", 9, "field_count", "held"),
        ("140211001234_safety_20260318.csv", 10, "duplicate_key", "held"),
        ("14021100123_AQKD_20260318080010.txt", 3, "time_outside_window", "held"),
        ("14021100123_AQSS_20260318080010.txt", 7, "unknown_point", "held"),
        ("14021100123_AQSS_20260318080010.txt", 8, "unknown_point", "held"),
        ("14021100123_AQSS_20260318080010.txt", 9, "duplicate_key", "held"),
    ]
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE name = %s", (CDSS,)) == [(6, 1)]
    count = query(db, "SELECT count(*) FROM core.safety_reading")[0][0]
    assert status(db)["rows"]["safety_readings"] == count == 6 + 4 + 6  # the CSVs repeat four readings of the cycles


def test_a_national_and_a_provincial_mine_give_the_same_conditions_for_the_same_situation(db, landing):
    copy(landing, "140211001234_CDDY_20260318080000.txt", folder=M)
    copy(landing, "14021100123_AQMC_20260318080000.txt", folder=PM)
    at = "2026-03-18 08:10:00"
    # alarm + power cut; calibrating over range; sensor fault; switched off (national: paused, provincial: masked)
    (landing / M / "140211001234_CDSS_20260318081000.txt").write_bytes(networking(M, at, [
        cdss(P1, "1.6", 3, at), cdss(P2, "600", 12, at), cdss(P3, "0", 128, at), cdss(P5, "0", 64, at)]))
    (landing / PM / "14021100123_AQSS_20260318081000.txt").write_bytes(networking(PM, at, [
        "001A01;0001;1.6;3", "002A02;0004;600;48", "003A03;0012;0;8", "005A05;0099;0;64"], "gb18030", "晋城某某煤矿"))
    run_landing(landing, detect=False)
    national = query(db, "SELECT point_code, sampled_at, value, conditions FROM core.safety_reading "
                         "WHERE mine_code = %s ORDER BY point_code", (M,))
    provincial = query(db, "SELECT point_code, sampled_at, value, conditions FROM core.safety_reading "
                           "WHERE mine_code = %s ORDER BY point_code", (PM,))
    order = {P1: 0, P2: 1, P3: 2, P5: 3}
    national.sort(key=lambda r: order[r[0]])
    assert [r[1:] for r in national] == [r[1:] for r in provincial]
    assert [condition_names(r[3]) for r in national] == [
        ("alarm", "power_cut"), ("calibrating", "over_range"), ("fault",), ("switched_off",)]
    assert {r[1] for r in national} == {utc("2026-03-18 00:10:00")}
    assert query(db, "SELECT DISTINCT raw_status FROM core.safety_reading WHERE mine_code = %s ORDER BY 1", (PM,)) \
        == [(3,), (8,), (48,), (64,)]  # the raw bits stay as sent


def test_truncated_file_bad_value_and_unknown_point_go_to_quarantine_while_the_rest_loads(db, landing, monkeypatch):
    copy(landing, "140211001234_CDDY_20260318080000.txt", "140211001234_CDSS_20260318080013.txt", folder=M)
    at = "2026-03-18 08:02:00"
    (landing / M / "140211001234_CDSS_20260318080200.txt").write_bytes(networking(M, at, [
        cdss(P1, "0.50", 0, at), cdss(P2, "N/A", 0, at), cdss(P7, "0.7", 0, at), cdss(P3, "20.5", 0, at)]))
    ycbj = (f"{P7};风速;回风巷;m/s;001;9.0;8.0;7.5;2026-03-18 07:50:00;;;;;;;;;;;{at}")
    (landing / M / "140211001234_YCBJ_20260318080200.txt").write_bytes(networking(M, at, [ycbj]))

    first = run_landing(landing, detect=False)
    assert first.files == {"loaded": 3, "pending": 1}, first.problems
    assert query(db, "SELECT status FROM ledger.file WHERE name = '140211001234_CDSS_20260318080013.txt'") == [
        ("pending",)]
    cycle = "140211001234_CDSS_20260318080200.txt"
    assert held(db) == [(cycle, 2, "bad_number", "held"), (cycle, 3, "unknown_point", "held"),
                        ("140211001234_YCBJ_20260318080200.txt", 1, "unknown_point", "held")]
    detail, raw = query(db, "SELECT detail, raw_text FROM quarantine.record WHERE reason = 'unknown_point' "
                            "AND kind = 'CDSS'")[0]
    assert P7 in detail and raw.startswith(P7 + ";2026-03-18 08:02:00;0.7")
    assert query(db, "SELECT point_code, value FROM core.safety_reading ORDER BY 1") == [(P1, 0.5), (P3, 20.5)]
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE name = %s", (cycle,)) == [(2, 2)]

    # left unchanged past the stale time: the untrailered file is held whole as truncated
    monkeypatch.setenv("MINEWATCH_STALE_AFTER_S", "0")
    second = run_landing(landing, detect=False)
    assert second.files["quarantined"] == 1
    truncated = query(db, """SELECT f.status, q.reason, q.record_no FROM quarantine.record q
                                JOIN ledger.file f USING (file_id)
                               WHERE f.name = '140211001234_CDSS_20260318080013.txt'""")
    assert truncated == [("quarantined", "truncated", None)]

    # a new definition snapshot that names the point releases its held reading and event
    cddy = (FIX / "140211001234_CDDY_20260318080000.txt").read_text(encoding="utf-8")
    header, rest = cddy.split("~", 1)
    p7 = f"{P7};01;{M}00001;0002;MN;m/s;15;0;8;7.5;;;;;;;;;回风巷风速;;;;;2026-03-18 08:30:00"
    (landing / M / "140211001234_CDDY_20260318090000.txt").write_text(
        header.replace("2026-03-18 08:00:00", "2026-03-18 09:00:00") + "~" + p7 + "~" + rest, encoding="utf-8")
    run_landing(landing, detect=False)
    assert query(db, """SELECT r.point_code, r.value, f.name, r.record_no FROM core.safety_reading r
                          JOIN ledger.file f USING (file_id) WHERE r.point_code = %s""", (P7,)) == [(P7, 0.7, cycle, 3)]
    assert query(db, "SELECT point_code, abnormal_type, is_open FROM core.safety_abnormal_event") == [(P7, "001", True)]
    assert query(db, "SELECT status, resolved_at IS NOT NULL FROM quarantine.record WHERE reason = 'unknown_point'") \
        == [("released", True), ("released", True)]
    assert query(db, "SELECT count(*) FROM quarantine.safety_reading_held")[0][0] == 0
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE name = %s", (cycle,)) == [(3, 1)]
    assert [q["reason"] for q in status(db)["quarantine"]] == ["bad_number", "truncated"]


def test_the_same_file_twice_and_overlapping_cycles_load_each_reading_once(db, landing):
    copy(landing, "140211001234_CDDY_20260318080000.txt", CDSS, folder=M)
    copy(landing, CDSS, folder="resent")  # the same bytes under another path: a duplicate
    # the same cycle re-sent with other line breaks and a BOM: new deliveries of the same readings
    copy(landing, "140211001234_CDSS_20260318080011.txt", "140211001234_CDSS_20260318080012.txt", folder=M)
    a = "2026-03-18 08:01:00"
    (landing / M / "140211001234_CDSS_20260318080100.txt").write_bytes(networking(M, a, [
        cdss(P1, "0.60", 0, "2026-03-18 08:00:50"), cdss(P1, "0.61", 0, a)]))
    first = run_landing(landing, detect=False)
    assert first.files == {"loaded": 5, "duplicate": 1}, first.problems
    readings = query(db, "SELECT count(*) FROM core.safety_reading")[0][0]
    assert readings == 6 + 2

    # a later cycle repeats 08:01:00 with a revised value; an older upload arrives late with 08:00:50
    b = "2026-03-18 08:01:10"
    (landing / M / "140211001234_CDSS_20260318080110.txt").write_bytes(networking(M, b, [
        cdss(P1, "0.62", 0, a), cdss(P1, "0.63", 0, b)]))
    late = "2026-03-18 08:00:55"
    (landing / M / "140211001234_CDSS_20260318080055.txt").write_bytes(networking(M, late, [
        cdss(P1, "0.99", 1, "2026-03-18 08:00:50")]))
    again = run_landing(landing, detect=False)
    assert again.files == {"loaded": 2, "unchanged": 6}, again.problems
    p1 = query(db, """SELECT r.sampled_at, r.value, f.name FROM core.safety_reading r JOIN ledger.file f USING (file_id)
                       WHERE r.point_code = %s AND r.sampled_at > '2026-03-18 00:00:30+00' ORDER BY 1""", (P1,))
    assert p1 == [(utc("2026-03-18 00:00:50"), 0.60, "140211001234_CDSS_20260318080100.txt"),  # the late file loses
                  (utc("2026-03-18 00:01:00"), 0.62, "140211001234_CDSS_20260318080110.txt"),  # the later one wins
                  (utc("2026-03-18 00:01:10"), 0.63, "140211001234_CDSS_20260318080110.txt")]
    assert query(db, """SELECT count(*), count(DISTINCT (mine_code, point_code, sampled_at))
                          FROM core.safety_reading""")[0] == (readings + 1, readings + 1)
    # the three deliveries of the 08:00:10 cycle are one reading each, from the latest delivery
    first_cycle = query(db, """SELECT DISTINCT f.name FROM core.safety_reading r JOIN ledger.file f USING (file_id)
                                 WHERE r.sampled_at < '2026-03-18 00:00:30+00'""")
    assert first_cycle == [("140211001234_CDSS_20260318080012.txt",)]
    assert status(db)["rows"]["safety_readings"] == readings + 1

    # an abnormal event delivered open is closed by a later delivery; an older one does not reopen it
    start = "2026-03-18 07:55:00"
    event = f"{P1};甲烷;回风巷;%CH4;001;1.2;1.0;0.8;{start};{{ended}};;;;;;;;;;{{at}}"
    (landing / M / "140211001234_YCBJ_20260318080500.txt").write_bytes(networking(
        M, "2026-03-18 08:05:00", [event.format(ended="", at="2026-03-18 08:05:00")]))
    run_landing(landing, detect=False)
    assert query(db, "SELECT is_open FROM core.safety_abnormal_event") == [(True,)]
    (landing / M / "140211001234_YCBJ_20260318081000.txt").write_bytes(networking(
        M, "2026-03-18 08:10:00", [event.format(ended="2026-03-18 08:06:00", at="2026-03-18 08:10:00")]))
    (landing / M / "140211001234_YCBJ_20260318080400.txt").write_bytes(networking(
        M, "2026-03-18 08:04:00", [event.format(ended="", at="2026-03-18 08:04:00")]))
    run_landing(landing, detect=False)
    assert query(db, "SELECT ended_at, is_open FROM core.safety_abnormal_event") == [
        (utc("2026-03-18 00:06:00"), False)]


def test_a_definition_change_opens_a_new_version_and_keeps_the_old(db, landing):
    copy(landing, "14021100123_AQMC_20260318080000.txt", "14021100123_AQKC_20260318080000.txt", folder=PM)
    (landing / "registry").mkdir()
    (landing / "registry" / "points.csv").write_text(
        f"mine_code,point_code,area_code\n{PM},001A01,{PM}0007\n{PM},003A03,{PM}0007\n{M},{P1},{M}0007\n")
    copy(landing, "140211001234_CDDY_20260318080000.txt", folder=M)
    run_landing(landing, detect=False)

    # the mine re-sends its analog points at 09:00: 001A01 moved to area 0009 with a new alarm threshold,
    # 002A02 is gone, the others are unchanged
    v1 = (FIX / "14021100123_AQMC_20260318080000.txt").read_text(encoding="gb18030")
    v2 = (v1.replace("2026-03-18 08:00:00", "2026-03-18 09:00:00")
            .replace(f"%CH4;0;4;1.0;;1.5;1.0;{PM}0007", f"%CH4;0;4;1.5;;1.5;1.0;{PM}0009"))
    v2 = "~".join(r for r in v2.split("~") if not r.strip().startswith("002A02"))
    (landing / PM / "14021100123_AQMC_20260318090000.txt").write_bytes(v2.encode("gb18030"))
    # and an older snapshot arrives late: it changes nothing
    v0 = v1.replace("2026-03-18 08:00:00", "2026-03-18 07:00:00").replace("15103综采工作面回风巷", "旧地点")
    (landing / PM / "14021100123_AQMC_20260318070000.txt").write_bytes(v0.encode("gb18030"))
    run_landing(landing, detect=False)

    versions = query(db, """SELECT point_code, area_code, alarm_high, valid_from, valid_to, location
                              FROM core.safety_point_definition WHERE mine_code = %s AND source_kind = 'AQMC'
                             ORDER BY point_code, valid_from""", (PM,))
    at8, at9 = utc("2026-03-18 00:00:00"), utc("2026-03-18 01:00:00")
    loc = "15103综采工作面回风巷"
    assert versions == [
        ("001A01", PM + "0007", 1.0, at8, at9, loc),
        ("001A01", PM + "0009", 1.5, at9, None, loc),
        ("002A02", PM + "0007", 24.0, at8, at9, loc),  # removed: closed, kept as evidence
        ("003A03", PM + "0007", None, at8, None, loc),
        ("005A05", PM + "0008", 6.6, at8, None, "胶带大巷"),
    ]
    # the switch points are another snapshot (AQKC): the analog file closes none of them
    assert query(db, """SELECT count(*) FROM core.safety_point_definition
                         WHERE mine_code = %s AND source_kind = 'AQKC' AND valid_to IS NULL""", (PM,))[0][0] == 2
    assert query(db, "SELECT outcome FROM core.snapshot_log l JOIN ledger.file f USING (file_id) "
                     "WHERE f.name = '14021100123_AQMC_20260318070000.txt'") == [("late",)]

    # where each point hangs: the provincial definition wins over the registry, and the disagreement shows
    current = {r[0]: r[1:] for r in query(
        db, """SELECT point_code, area_code, area_source, registry_area_code, area_disagrees
                 FROM core.safety_point_current WHERE point_code IN ('001A01', '003A03', '002A02', %s, %s)""",
        (P1, P2))}
    assert current == {
        "001A01": (PM + "0009", "definition", PM + "0007", True),  # moved: evidence
        "003A03": (PM + "0007", "definition", PM + "0007", False),
        P1: (M + "0007", "registry", M + "0007", False),  # national: area from the registry
        P2: (None, None, None, False),  # in no map: unknown area
    }

    # the same snapshot time re-sent later with a correction replaces the earlier delivery
    v2b = v2.replace(f"{PM}0009", f"{PM}0010")
    (landing / PM / "14021100123_AQMC_20260318090100.txt").write_bytes(v2b.encode("gb18030"))
    run_landing(landing, detect=False)
    assert query(db, """SELECT area_code, valid_from, valid_to FROM core.safety_point_definition
                         WHERE point_code = '001A01' ORDER BY valid_from""") == [
        (PM + "0007", at8, at9), (PM + "0010", at9, None)]
    assert query(db, "SELECT valid_to FROM core.safety_point_definition WHERE point_code = '002A02'") == [(at9,)]


def test_readings_are_partitioned_by_day_and_old_days_can_be_dropped(db, landing):
    copy(landing, "140211001234_CDDY_20260318080000.txt", "140211001234_safety_20260318.csv",
         "140211001234_safety_20260319.csv", folder=M)
    run_landing(landing, detect=False)
    parts = query(db, """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                          WHERE i.inhparent = 'core.safety_reading'::regclass ORDER BY 1""")
    assert parts == [("safety_reading_p20260318",), ("safety_reading_p20260319",)]
    # a China-local day: 2026-03-19 00:00+08 is the 19th's partition although it is the 18th in UTC
    assert query(db, "SELECT tableoid::regclass::text FROM core.safety_reading WHERE value = 0.41") == [
        ("core.safety_reading_p20260319",)]
    assert query(db, "SELECT core.ensure_safety_reading_partitions('2026-03-19 10:00+08', '2026-03-21 01:00+08')") \
        == [(2,)]
    assert query(db, "SELECT core.drop_safety_reading_partitions_before('2026-03-19 00:00+08')") == [
        ("core.safety_reading_p20260318",)]
    assert query(db, "SELECT count(*) FROM core.safety_reading")[0][0] == 1
    plan = "\n".join(r[0] for r in query(db, """EXPLAIN SELECT * FROM core.safety_reading
        WHERE mine_code = '1' AND point_code = 'p'
          AND sampled_at >= '2026-03-20 00:00+08' AND sampled_at < '2026-03-20 06:00+08'"""))
    assert "p20260320" in plan and "p20260319" not in plan and "p20260321" not in plan
