"""Personnel positioning (contract C) through the one load path into a real PostgreSQL.

Reference snapshots with history, observations, reads, presence per card and area, shaft stays,
unread time, base-station state intervals, REST reads, late files, replay, and what the BI role may see.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import pytest

from minewatch.pipeline import run_landing
from minewatch.status import status
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "positioning"
CST = timezone(timedelta(hours=8))
MINE = "410403004688"
MOUTH, FACE, SEALED = (f"{MINE}{n}" for n in ("0001", "0003", "0007"))
S_MOUTH, S_FACE, S_FACE2, S_SEALED = f"{MOUTH}000001", f"{FACE}000001", f"{FACE}000002", f"{SEALED}000012"
C1, C2, C3 = (f"{MINE}{n:05d}" for n in (101, 102, 103))
NAMES = {C1: "张伟", C2: "李娜", C3: "王强"}


def at(minute: int, second: int = 0, hour: int = 8) -> datetime:
    """A China-local time on 2026-03-18."""
    return datetime(2026, 3, 18, hour, minute, second, tzinfo=CST)


T1, T2, T3, T4, T5, T6, T7 = (at(m) for m in range(1, 8))


def local(t: datetime | None) -> str:
    return t.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S") if t else ""


def networking(header: list[str], records: list[list]) -> str:
    """A C.1 networking file: `;` between fields, `~` after each record, `||` at the end."""
    return ";".join(header) + "~\r\n" + "".join(";".join(map(str, r)) + "~\r\n" for r in records) + "||\r\n"


def write(landing: Path, kind: str, t: datetime, records: list[list], header: list[str] | None = None) -> Path:
    """`{mine}_{kind}_{stamp}.txt` in the mine's folder, header upload time t."""
    folder = landing / MINE
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{MINE}_{kind}_{t.strftime('%Y%m%d%H%M%S')}.txt"
    path.write_text(networking(header or [MINE, "龙山煤矿", local(t)], records), encoding="utf-8")
    return path


def row(card: str, flag: int, area: str | None = None, station: str | None = None, station_at: datetime | None = None,
        distance: float | str = "", left: datetime | None = None) -> list:
    """A RYSS record (15 fields); the track lists the mouth station and the current one."""
    track = [(S_MOUTH, at(0))] + ([(station, station_at)] if station and station != S_MOUTH else [])
    return [card, NAMES[card], flag, local(at(0)), local(left), area or "", local(station_at), station or "",
            local(station_at), "三八制", distance, 0, 0, 1, ",".join(f"{s}&{local(t)}" for s, t in track)]


def frozen(card: str, distance: float = 3.2) -> list:
    """A card in the sealed area whose station, station time, distance and track never move (not read)."""
    return row(card, 1, SEALED, S_SEALED, at(0, 40), distance)


# The shift. Snapshots every minute from 08:01; the 08:04 one never came (no file).
#   C1: shaft mouth at T1, down to the face at T2, read at T3 (distance) and T5 (another station), out (flag 2) at T6
#   C2: at the face T1-T3, then no longer listed (from T5, the first snapshot that exists after T3)
#   C3: in the sealed area, listed in every snapshot, read only at T1 (nothing about it moves)
SHIFT = {
    T1: [row(C1, 0, MOUTH, S_MOUTH, at(0, 30), 1.0), row(C2, 1, FACE, S_FACE, at(0, 50), 20.0), frozen(C3)],
    T2: [row(C1, 1, FACE, S_FACE, at(1, 40), 5.0), row(C2, 1, FACE, S_FACE, at(0, 50), 21.0), frozen(C3)],
    T3: [row(C1, 1, FACE, S_FACE, at(1, 40), 7.0), row(C2, 1, FACE, S_FACE, at(0, 50), 22.5), frozen(C3)],
    T5: [row(C1, 1, FACE, S_FACE2, at(4, 50), 2.0), frozen(C3)],
    T6: [row(C1, 2, left=at(5, 50)), frozen(C3)],
}
# delivered last although it is older: the 08:04 snapshot (C1 had gone into the sealed area, C2 was gone,
# C3's distance flickered, which makes T4 a read and T5 a read against it)
LATE_T4 = [row(C1, 1, SEALED, S_SEALED, at(3, 30), 4.0), frozen(C3, 3.3)]


def presences(db, card: str) -> list[tuple]:
    return [(a, e.astimezone(CST), s.astimezone(CST), r and r.astimezone(CST), lt and lt.astimezone(CST), why, n, k)
            for a, e, s, r, lt, why, n, k in query(
                db, """SELECT area_code, entered_at, last_seen_at, last_read_at, left_at, end_reason,
                              observations, reads
                         FROM core.positioning_presence WHERE mine_code = %s AND card_code = %s ORDER BY entered_at""",
                (MINE, card))]


def stays(db, card: str) -> list[tuple]:
    cols = ("entered_at", "first_underground_at", "last_seen_at", "last_read_at", "left_at", "end_reason",
            "observations", "reads", "longest_unread_s", "longest_unread_from", "longest_unread_until",
            "unread_since", "left_mine_at_reported")
    rows = query(db, f"""SELECT {', '.join(cols)} FROM core.positioning_shaft_stay
                           WHERE mine_code = %s AND card_code = %s ORDER BY entered_at""", (MINE, card))
    return [{c: (v.astimezone(CST) if isinstance(v, datetime) else v) for c, v in zip(cols, r, strict=True)}
            for r in rows]


def reads(db, card: str) -> list[datetime]:
    return [t.astimezone(CST) for (t,) in query(
        db, """SELECT observed_at FROM core.positioning_observation
                WHERE mine_code = %s AND card_code = %s AND is_read ORDER BY observed_at""", (MINE, card))]


def derived(db) -> list:
    """Everything the merges derive, for comparing two loads."""
    return [query(db, "SELECT * FROM core.positioning_presence ORDER BY mine_code, card_code, entered_at"),
            query(db, "SELECT * FROM core.positioning_shaft_stay ORDER BY mine_code, card_code, entered_at"),
            query(db, "SELECT mine_code, card_code, observed_at, is_read FROM core.positioning_observation "
                      "ORDER BY 1, 2, 3"),
            query(db, "SELECT * FROM core.positioning_station_interval ORDER BY mine_code, station_code, started_at")]


def execute(db, sql: str) -> None:
    with db, db.cursor() as cur:
        cur.execute(sql)


def held(db) -> list[tuple]:
    return query(db, """SELECT f.name, q.record_no, q.reason FROM quarantine.record q JOIN ledger.file f USING (file_id)
                         WHERE q.status = 'held' ORDER BY f.name, q.record_no""")


# ---------------------------------------------------------------- files round-trip to rows


def test_reference_files_and_a_snapshot_round_trip_to_rows(db, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(FIX, landing)
    outcome = run_landing(landing, detect=False)
    # the 08:01:00 RYSS has no `||` yet: it waits (pending); the rest load, bad records held one by one
    assert outcome.files["loaded"] == 6 and outcome.files["pending"] == 1, outcome.problems
    assert held(db) == [
        ("410403004688_JZSS_20260318080100.txt", 5, "time_outside_window"),
        ("410403004688_JZSS_20260318080100.txt", 6, "bad_number"),
        ("410403004688_RYJZ_20260318080000.txt", 5, "bad_number"),
        ("410403004688_RYJZ_20260318080000.txt", 6, "mine_mismatch"),
        ("410403004688_RYQY_20260318080000.txt", 7, "mine_mismatch"),
        ("410403004688_RYQY_20260318080000.txt", 8, "duplicate_key"),
        ("410403004688_RYQY_20260318080000.txt", 9, "bad_number"),
        ("410403004688_RYSS_20260318080030.txt", 5, "bad_time"),
        ("410403004688_RYSS_20260318080030.txt", 6, "mine_mismatch"),
        ("410403004688_RYSS_20260318080030.txt", 7, "field_count"),
        ("410403004688_RYSS_20260318080030.txt", 8, "time_outside_window"),
        ("410403004688_RYSS_20260318080030.txt", 9, "duplicate_key"),
        ("410403004688_RYSS_20260318080030.txt", 10, "bad_number"),
        ("410403004688_RYXX_20260318080000.txt", 5, "bad_time"),
        ("410403004688_RYXX_20260318080000.txt", 6, "mine_mismatch"),
    ]

    # areas: the 03-18 snapshot, then the 03-19 one (GB18030) that lists only the mouth and the sealed area
    day18, day19 = at(0), at(0) + timedelta(days=1)
    areas = query(db, """SELECT area_code, area_type, area_type_text, rated_persons, area_name, valid_from, valid_to
                           FROM core.positioning_area ORDER BY area_code, valid_from""")
    assert areas == [
        (MOUTH, "shaft_mouth", "井口区域", 200, "主井井口", day18, None),
        (FACE, "key", "重点区域", 40, "15103综采工作面", day18, day19),
        (f"{MINE}0004", "other", "其它区域", 80, "总回风巷", day18, day19),
        (f"{MINE}0005", "other", "其他区域", 60, "中央变电所", day18, day19),
        (f"{MINE}0006", None, "采掘区域", 30, "15105掘进工作面", day18, day19),  # a type word outside C.1 is kept
        (SEALED, "restricted", "限制区域", 0, "北翼采空区密闭", day18, None),
    ]
    assert query(db, "SELECT count(*) FROM core.positioning_area_current")[0][0] == 2

    assert query(db, """SELECT station_code, area_code, station_name, x, z, location FROM core.positioning_station
                         ORDER BY station_code""") == [
        (S_MOUTH, MOUTH, "主井井口基站", 38401234.5, 102.0, "主井井口"),
        (S_FACE, FACE, "15103运输巷1号基站", 38402345.1, -452.3, "15103运输巷口"),
        (S_FACE2, FACE, "15103回风巷2号基站", 38402399.0, -455.1, "15103回风巷中部"),
        (S_SEALED, SEALED, "北翼密闭外基站", None, None, "北翼采空区密闭外5米"),
    ]
    persons = query(db, """SELECT card_code, person_name, job, team, birth_date::text, is_leader, is_special
                             FROM core.positioning_person ORDER BY card_code""")
    assert persons[0] == ("41040300468800123", "张伟", "采煤机司机", "综采一队", "1985-04-12", False, True)
    assert persons[3] == ("41040300468800126", "刘洋", "支架工", "综采一队", "1988-07-15", False, True)  # 19880715
    assert len(persons) == 4

    snapshot = at(0, 30)
    obs = query(db, """SELECT o.card_code, o.observed_at, o.source_kind, o.person_name, o.in_mine_flag, o.area_code,
                              o.station_code, o.entered_station_at, o.distance_m, o.work_status, o.is_leader,
                              o.track_items, o.last_track_station, o.last_track_at, o.is_read, f.name, o.record_no
                         FROM core.positioning_observation o JOIN ledger.file f USING (file_id) ORDER BY o.card_code""")
    name = "410403004688_RYSS_20260318080030.txt"
    assert obs == [
        ("41040300468800123", snapshot, "RYSS", "张伟", 1, FACE, S_FACE2, at(52, 10, 7), -35.5, 0, False, 3,
         S_FACE2, at(52, 10, 7), True, name, 1),
        ("41040300468800124", snapshot, "RYSS", "李娜", 1, FACE, S_FACE2, at(58, 20, 7), 12.0, 0, False, 2,
         S_FACE2, at(58, 20, 7), True, name, 2),
        ("41040300468800125", snapshot, "RYSS", "王强", 1, SEALED, S_SEALED, at(55, 0, 7), 3.2, 1, True, 1,
         S_SEALED, at(55, 0, 7), True, name, 3),  # 求救 is distress (1)
        ("41040300468800126", snapshot, "RYSS", "刘洋", 2, None, None, None, None, 0, False, 0, None, None, True,
         name, 4),
    ]
    assert query(db, "SELECT card_code, passed_at, station_code, area_code FROM core.positioning_track_item "
                     "WHERE card_code = '41040300468800123' ORDER BY passed_at") == [
        ("41040300468800123", at(5, 12, 7), S_MOUTH, MOUTH),
        ("41040300468800123", at(25, 40, 7), S_FACE, FACE),
        ("41040300468800123", at(52, 10, 7), S_FACE2, FACE),
    ]
    # the three cards underground are in the mine from this snapshot on; the one out of the mine is not
    assert query(db, "SELECT card_code, area_code, entered_at, left_at FROM core.positioning_presence ORDER BY 1") == [
        ("41040300468800123", FACE, snapshot, None), ("41040300468800124", FACE, snapshot, None),
        ("41040300468800125", SEALED, snapshot, None)]

    assert query(db, """SELECT station_code, data_at, run_status, power_status FROM core.positioning_station_state
                         ORDER BY station_code""") == [
        (S_MOUTH, at(0), 0, 1), (S_FACE, at(0), 0, 1), (S_FACE2, at(0), 1, 0), (S_SEALED, at(0), 2, 2)]
    rows = status(db)["rows"]
    assert rows["positioning_reads"] == 4


# ---------------------------------------------------------------- presence, stays and reads across snapshots


def load_shift(landing: Path, late: bool) -> None:
    for t, records in SHIFT.items():
        write(landing, "RYSS", t, records)
    if late:
        write(landing, "RYSS", T4, LATE_T4)


@pytest.mark.parametrize("batch_files", [200, 1], ids=["one batch", "file by file"])
def test_presence_and_stays_across_snapshots(db, tmp_path, monkeypatch, batch_files):
    monkeypatch.setenv("MINEWATCH_BATCH_FILES", str(batch_files))
    landing = tmp_path / "landing"
    load_shift(landing, late=False)
    outcome = run_landing(landing, detect=False)
    assert outcome.files["loaded"] == 5, outcome.problems

    # C1: enters at the shaft mouth, goes down to the face, is out at T6; the missing 08:04 snapshot ends nothing
    assert presences(db, C1) == [
        (MOUTH, T1, T1, T1, T2, "area_change", 1, 1),
        (FACE, T2, T5, T5, T6, "out_of_mine", 3, 3),
    ]
    [c1] = stays(db, C1)
    assert (c1["entered_at"], c1["first_underground_at"], c1["last_seen_at"], c1["left_at"], c1["end_reason"]) \
        == (T1, T2, T5, T6, "out_of_mine")
    assert c1["left_mine_at_reported"] == at(5, 50)
    assert (c1["observations"], c1["reads"], c1["unread_since"]) == (4, 4, None)
    assert c1["longest_unread_s"] == 120  # T3 -> T5: read in both, but two minutes apart (no snapshot at 08:04)

    # C2: no longer listed from T5 on: gone at T5, the first snapshot that exists after its last one
    assert presences(db, C2) == [(FACE, T1, T3, T3, T5, "stopped_appearing", 3, 3)]
    [c2] = stays(db, C2)
    assert (c2["left_at"], c2["end_reason"], c2["reads"]) == (T5, "stopped_appearing", 3)

    # C3: listed throughout but read only once: still present, unread since T1
    assert reads(db, C3) == [T1]
    assert presences(db, C3) == [(SEALED, T1, T6, T1, None, None, 5, 1)]
    [c3] = stays(db, C3)
    assert (c3["left_at"], c3["unread_since"], c3["longest_unread_s"]) == (None, T1, 300)
    assert (c3["longest_unread_from"], c3["longest_unread_until"]) == (T1, T6)
    assert query(db, "SELECT card_code, unread_s FROM core.positioning_card_unread ORDER BY card_code") == [(C3, 300.0)]

    # one read per card and snapshot in status (contract I)
    assert status(db)["rows"]["positioning_reads"] == 3 + 3 + 3 + 2 + 2


@pytest.mark.parametrize("batch_files", [200, 1], ids=["one batch", "file by file"])
def test_a_late_earlier_snapshot_rebuilds_presence_and_reads(db, tmp_path, monkeypatch, batch_files):
    monkeypatch.setenv("MINEWATCH_BATCH_FILES", str(batch_files))
    landing = tmp_path / "landing"
    load_shift(landing, late=False)
    run_landing(landing, detect=False)
    before = reads(db, C3)
    write(landing, "RYSS", T4, LATE_T4)  # the 08:04 snapshot turns up after 08:06
    outcome = run_landing(landing, detect=False)
    assert outcome.files["loaded"] == 1 and outcome.files["unchanged"] == 5

    # C1 was in the sealed area at 08:04: the face presence splits around it
    assert presences(db, C1) == [
        (MOUTH, T1, T1, T1, T2, "area_change", 1, 1),
        (FACE, T2, T3, T3, T4, "area_change", 2, 2),
        (SEALED, T4, T4, T4, T5, "area_change", 1, 1),
        (FACE, T5, T5, T5, T6, "out_of_mine", 1, 1),
    ]
    # C2 is missing from it: it left at 08:04, not 08:05
    assert presences(db, C2) == [(FACE, T1, T3, T3, T4, "stopped_appearing", 3, 3)]
    # C3's distance flickered at 08:04: that is a read, and so is 08:05 against it (a stored row decided again)
    assert before == [T1]
    assert reads(db, C3) == [T1, T4, T5]
    [c3] = stays(db, C3)
    assert (c3["observations"], c3["reads"], c3["unread_since"], c3["longest_unread_s"]) == (6, 3, T5, 180)
    assert (c3["longest_unread_from"], c3["longest_unread_until"]) == (T1, T4)

    # the same as if the snapshots had come in order
    in_order = tmp_path / "in_order"
    load_shift(in_order, late=True)
    rebuilt = derived(db)
    execute(db, "TRUNCATE ledger.file, core.positioning_observation, core.positioning_track_item CASCADE")
    run_landing(in_order, detect=False)
    strip = lambda t: [r[:-2] for r in t]  # noqa: E731 - without file_id, record_no (file ids differ)
    assert strip(derived(db)[0]) == strip(rebuilt[0])
    assert strip(derived(db)[1]) == strip(rebuilt[1])
    assert derived(db)[2] == rebuilt[2]


def test_replay_is_a_no_op_and_a_resent_copy_is_a_duplicate(db, tmp_path):
    landing = tmp_path / "landing"
    load_shift(landing, late=True)
    run_landing(landing, detect=False)
    before = derived(db)
    outcome = run_landing(landing, detect=False)
    assert outcome.files["unchanged"] == 6 and outcome.files["loaded"] == 0
    # the same bytes under another folder: recorded as a duplicate, not loaded again
    again = landing / "resent"
    again.mkdir()
    shutil.copy(landing / MINE / f"{MINE}_RYSS_{T5.strftime('%Y%m%d%H%M%S')}.txt", again)
    outcome = run_landing(landing, detect=False)
    assert outcome.files["duplicate"] == 1
    assert derived(db) == before
    # `minewatch status --json` (contract I): one positioning read per card and snapshot
    st = subprocess.run([sys.executable, "-m", "minewatch.cli", "status", "--json"], capture_output=True, text=True,
                        env=dict(os.environ), timeout=120, check=False)
    assert st.returncode == 0, st.stderr
    report = json.loads(st.stdout)
    assert report["rows"]["positioning_reads"] == 3 + 3 + 3 + 2 + 2 + 2
    assert {"feed": "positioning", "kind": "RYSS", "status": "loaded", "count": 6} in report["files"]
    assert {"feed": "positioning", "kind": "RYSS", "status": "duplicate", "count": 1} in report["files"]


def test_a_resent_snapshot_of_the_same_time_replaces_its_rows(db, tmp_path):
    landing = tmp_path / "landing"
    for t in (T1, T2, T3):
        write(landing, "RYSS", t, SHIFT[t])
    run_landing(landing, detect=False)
    # the vendor re-sends 08:03 under a later file-name stamp: C2 had in fact left the face for the sealed area
    fixed = [SHIFT[T3][0], row(C2, 1, SEALED, S_SEALED, at(2, 50), 1.0), SHIFT[T3][2]]
    path = landing / MINE / f"{MINE}_RYSS_20260318080359.txt"
    path.write_text(networking([MINE, "龙山煤矿", local(T3)], fixed), encoding="utf-8")
    run_landing(landing, detect=False)
    assert query(db, """SELECT o.area_code, f.name
                          FROM core.positioning_observation o JOIN ledger.file f USING (file_id)
                         WHERE o.card_code = %s AND o.observed_at = %s""", (C2, T3)) \
        == [(SEALED, path.name)]
    assert presences(db, C2) == [(FACE, T1, T2, T2, T3, "area_change", 2, 2), (SEALED, T3, T3, T3, None, None, 1, 1)]
    assert status(db)["rows"]["positioning_reads"] == 9


@pytest.mark.parametrize("batch_files", [200, 1], ids=["one batch", "file by file"])
def test_an_empty_snapshot_ends_every_stay(db, tmp_path, monkeypatch, batch_files):
    monkeypatch.setenv("MINEWATCH_BATCH_FILES", str(batch_files))
    landing = tmp_path / "landing"
    for t in (T1, T2):
        write(landing, "RYSS", t, SHIFT[t])
    write(landing, "RYSS", T3, [])  # nobody in or around the mine
    write(landing, "RYSS", T5, [row(C1, 1, FACE, S_FACE, at(4, 0), 1.0)])  # C1 comes back: a new stay
    outcome = run_landing(landing, detect=False)
    assert outcome.files["loaded"] == 4, outcome.problems
    assert [(s["entered_at"], s["left_at"], s["end_reason"]) for s in stays(db, C1)] \
        == [(T1, T3, "stopped_appearing"), (T5, None, None)]
    assert [(s["left_at"], s["end_reason"]) for s in stays(db, C3)] == [(T3, "stopped_appearing")]
    assert query(db, "SELECT observed_at, cards, deliveries FROM core.positioning_snapshot ORDER BY 1") \
        == [(T1, 3, 1), (T2, 3, 1), (T3, 0, 1), (T5, 1, 1)]


def test_an_empty_snapshot_alone_ends_stays_when_the_next_one_loads(db, tmp_path):
    landing = tmp_path / "landing"
    for t in (T1, T2):
        write(landing, "RYSS", t, SHIFT[t])
    run_landing(landing, detect=False)
    write(landing, "RYSS", T3, [])
    run_landing(landing, detect=False)  # nothing to merge: the stays stay open for now
    assert [s["left_at"] for s in stays(db, C3)] == [None]
    write(landing, "RYSS", T5, [frozen(C3)])
    run_landing(landing, detect=False)
    assert [(s["entered_at"], s["left_at"], s["end_reason"]) for s in stays(db, C3)] \
        == [(T1, T3, "stopped_appearing"), (T5, None, None)]


@pytest.mark.parametrize("batch_files", [200, 1], ids=["one batch", "file by file"])
def test_a_record_held_in_quarantine_does_not_make_its_card_absent(db, tmp_path, monkeypatch, batch_files):
    monkeypatch.setenv("MINEWATCH_BATCH_FILES", str(batch_files))
    landing = tmp_path / "landing"
    garbled = row(C2, 1, FACE, S_FACE, at(0, 50), 23.0)[:14]  # 14 fields: held as field_count
    for t in (T1, T2, T3):
        write(landing, "RYSS", t, SHIFT[t])
    write(landing, "RYSS", T4, [garbled, frozen(C3)])  # C2's record is not the last: the gap shows at once
    write(landing, "RYSS", T5, [frozen(C3), garbled])  # C2's record is the last one
    write(landing, "RYSS", T6, [frozen(C3), row(C2, 1, FACE, S_FACE, at(0, 50), 24.0)])
    outcome = run_landing(landing, detect=False)
    assert outcome.files["loaded"] == 6 and outcome.rows_rejected == 2, outcome.problems
    assert [r[2] for r in held(db)] == ["field_count", "field_count"]
    # the next snapshot's merge knows every file that lost a record, whichever order they came in
    write(landing, "RYSS", T7, [frozen(C3), row(C2, 1, FACE, S_FACE, at(0, 50), 25.0)])
    run_landing(landing, detect=False)
    assert [(s["entered_at"], s["left_at"], s["observations"]) for s in stays(db, C2)] == [(T1, None, 5)]
    assert presences(db, C2) == [(FACE, T1, T7, T7, None, None, 5, 5)]
    assert query(db, "SELECT observed_at, is_complete FROM core.positioning_snapshot WHERE NOT is_complete "
                     "ORDER BY 1") == [(T4, False), (T5, False)]


# ---------------------------------------------------------------- REST reads


def page(landing: Path, stamp: str, items: list[tuple[str, datetime, str, int]]) -> None:
    """An archived C.2 positions page, named as minewatch.pull names it: (card, read_at, area, in_mine)."""
    folder = landing / "api"
    folder.mkdir(parents=True, exist_ok=True)
    body = {"items": [{"card": c, "area": a, "station": f"{a}000001", "read_at": t.isoformat(), "in_mine": f,
                       "status": 0} for c, t, a, f in items], "next_page_token": None}
    (folder / f"{MINE}_positions_{stamp}_p1.json").write_text(json.dumps(body), encoding="utf-8")


def test_rest_reads_feed_presence_and_a_card_never_read_again_times_out(db, tmp_path):
    execute(db, "UPDATE core.positioning_setting SET value = interval '30 minutes' WHERE name = 'rest_absent_after'")
    landing = tmp_path / "landing"
    t = lambda m, s=0: at(m, s)  # noqa: E731
    page(landing, "20260318082100", [
        (C1, t(0, 10), FACE, 1), (C2, t(0, 20), FACE, 1), (C3, t(0, 30), FACE, 1),
        (C1, t(5, 10), FACE, 1), (C3, t(5, 30), FACE, 1),
        (C1, t(10, 10), SEALED, 1), (C3, t(10, 30), FACE, 1),
        (C1, t(20, 10), MOUTH, 2), (C3, t(20, 30), FACE, 1),
    ])
    outcome = run_landing(landing, detect=False)
    assert outcome.files["loaded"] == 1, outcome.problems
    assert presences(db, C1) == [
        (FACE, t(0, 10), t(5, 10), t(5, 10), t(10, 10), "area_change", 2, 2),
        (SEALED, t(10, 10), t(10, 10), t(10, 10), t(20, 10), "out_of_mine", 1, 1),
    ]
    # C2 was read once and not since: underground in the books, unread for 20 minutes at the mine's clock
    assert [(s["left_at"], s["unread_since"]) for s in stays(db, C2)] == [(None, t(0, 20))]
    assert query(db, "SELECT card_code, unread_s FROM core.positioning_card_unread ORDER BY 1") \
        == [(C2, 1210.0), (C3, 0.0)]

    # the next page: C3 goes on being read until 09:00; C2 is gone 30 minutes after its last read
    page(landing, "20260318090100", [(C3, t(m, 30), FACE, 1) for m in range(25, 60, 5)] + [(C3, at(0, 30, 9), FACE, 1)])
    run_landing(landing, detect=False)
    [c2] = stays(db, C2)
    assert (c2["left_at"], c2["end_reason"], c2["unread_since"]) == (t(30, 20), "no_reads", t(0, 20))
    assert presences(db, C2) == [(FACE, t(0, 20), t(0, 20), t(0, 20), t(30, 20), "no_reads", 1, 1)]
    assert [s["left_at"] for s in stays(db, C3)] == [None]
    assert status(db)["rows"]["positioning_reads"] == 9 + 8


# ---------------------------------------------------------------- base-station state intervals


def jzss(landing: Path, t: datetime, states: dict[str, tuple[int, int]]) -> None:
    write(landing, "JZSS", t, [[s, run, power, local(t)] for s, (run, power) in states.items()])


@pytest.mark.parametrize("batch_files", [200, 1], ids=["one batch", "file by file"])
def test_station_state_intervals_from_jzss(db, tmp_path, monkeypatch, batch_files):
    monkeypatch.setenv("MINEWATCH_BATCH_FILES", str(batch_files))
    landing = tmp_path / "landing"
    ok, down, fault = (0, 1), (1, 1), (2, 2)
    for m, face in ((0, ok), (5, down), (10, down), (15, ok)):
        jzss(landing, at(m), {S_MOUTH: ok, S_FACE: face, S_SEALED: fault})
    run_landing(landing, detect=False)

    def intervals() -> list[tuple]:
        return [(s, a.astimezone(CST), last.astimezone(CST), e and e.astimezone(CST), run, power, n)
                for s, a, last, e, run, power, n in query(
                    db, """SELECT station_code, started_at, last_report_at, ended_at, run_state, power_state, reports
                             FROM core.positioning_station_interval ORDER BY station_code, started_at""")]

    assert intervals() == [
        (S_MOUTH, at(0), at(15), None, "communicating", "mains", 4),
        (S_FACE, at(0), at(0), at(5), "communicating", "mains", 1),
        (S_FACE, at(5), at(10), at(15), "interrupted", "mains", 2),
        (S_FACE, at(15), at(15), None, "communicating", "mains", 1),
        (S_SEALED, at(0), at(15), None, "fault", "power_fault", 4),
    ]
    # a late report at 08:07 says the face station was back for a while
    jzss(landing, at(7), {S_FACE: ok})
    run_landing(landing, detect=False)
    assert [i for i in intervals() if i[0] == S_FACE] == [
        (S_FACE, at(0), at(0), at(5), "communicating", "mains", 1),
        (S_FACE, at(5), at(5), at(7), "interrupted", "mains", 1),
        (S_FACE, at(7), at(7), at(10), "communicating", "mains", 1),
        (S_FACE, at(10), at(10), at(15), "interrupted", "mains", 1),
        (S_FACE, at(15), at(15), None, "communicating", "mains", 1),
    ]
    assert query(db, "SELECT count(*) FROM mart.positioning_station_state")[0][0] == 7


# ---------------------------------------------------------------- personal data (contract H)


def test_bi_reads_presence_but_never_names_or_birth_dates(db, tmp_path):
    landing = tmp_path / "landing"
    write(landing, "RYXX", at(0), [[c, NAMES[c], "采煤机司机", "", "综采一队", "1985-04-12", "高中", 0, 1]
                                   for c in (C1, C2, C3)],
          header=[MINE, "龙山煤矿", "", "KJ236(A)", "煤矿人员位置监测系统", "北京龙软", "2027-06-30", local(at(0))])
    load_shift(landing, late=True)
    jzss(landing, at(0), {S_FACE: (0, 1)})
    run_landing(landing, detect=False)

    personal = ("person_name", "birth_date")
    mart_columns = query(db, """SELECT table_name, column_name FROM information_schema.columns
                                 WHERE table_schema = 'mart'""")
    assert not [c for c in mart_columns if c[1] in personal]
    with db.cursor() as cur:
        cur.execute("SET ROLE minewatch_bi")
        seen = []
        for view in ("card_presence", "card_shaft_stay", "positioning_station_state"):
            cur.execute(f"SELECT row_to_json(v)::text FROM mart.{view} v")  # noqa: S608 - fixed names
            seen += [r[0] for r in cur.fetchall()]
        assert any(C3 in s for s in seen)  # card codes are shown
        assert not [s for s in seen if any(n in s for n in NAMES.values()) or "1985-04-12" in s]
        cur.execute("SELECT card_code, area_code, registry_area_kind, left_at FROM mart.card_presence "
                    "WHERE card_code = %s", (C3,))
        assert cur.fetchall() == [(C3, SEALED, None, None)]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT person_name FROM core.positioning_person")
    db.rollback()
    with db.cursor() as cur:
        cur.execute("SET ROLE minewatch_bi")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT person_name FROM core.positioning_observation")
    db.rollback()
