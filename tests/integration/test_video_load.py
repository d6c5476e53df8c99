"""The video system (contract D, F.2, J) through the one load path into a real PostgreSQL.

Events are stored once, camera states become intervals whatever the delivery order, inventory pulls
give the camera history, the registry's seals are reconciled with the platform, and "was the camera
at seal M-07 watching at 02:00?" is one query.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from minewatch.pipeline import run_landing
from minewatch.status import status
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "video"
CST = timezone(timedelta(hours=8))
MINE = "410403004688"  # its platform has the REST API (inventory and events pages)
FILE_MINE = "410403004699"  # sends the daily CSV only
SEALED, GOAF, FACE = (f"{MINE}{n}" for n in ("0009", "0010", "0007"))
CSV_HEADER = "event_id,camera_id,area_code,seal_code,type,at\n"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A China-local time in March 2026."""
    return datetime(2026, 3, day, hour, minute, tzinfo=CST)


def registry(landing: Path, seals: list[str]) -> None:
    """registry/mines.csv, areas.csv and seals.csv (seals: `mine,seal_code,area_code,camera_id` rows)."""
    reg = landing / "registry"
    reg.mkdir(parents=True, exist_ok=True)
    (reg / "mines.csv").write_text("mine_code,mine_name,province,county,status,capacity_mtpa\n"
                                   f"{MINE},平煤十矿,河南,平顶山,producing,1.8\n"
                                   f"{FILE_MINE},韩庄煤矿,河南,卫东,suspended,0.9\n")
    (reg / "areas.csv").write_text(
        "mine_code,area_code,area_name,kind,declared_active\n"
        f"{MINE},{FACE},己15-24080工作面,working_face,true\n{MINE},{SEALED},己15-22100老采区,sealed,false\n"
        f"{MINE},{GOAF},己15-22080采空区,goaf,false\n{FILE_MINE},{FILE_MINE}0009,老采区,sealed,false\n")
    rows = []
    for line in seals:
        mine, seal, area, camera = line.split(",")
        rows.append(f"{mine},{seal},{area},2024-05-01,HN-MB-{seal},{camera}\n")
    (reg / "seals.csv").write_text("mine_code,seal_code,area_code,built_on,design_ref,camera_id\n" + "".join(rows))


def video_csv(landing: Path, day: int, rows: list[str], mine: str = FILE_MINE) -> Path:
    """A D.2 daily file of a mine (rows: `event_id,camera_id,type,HH:MM` on the given day, or full CSV rows)."""
    folder = landing / mine
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for row in rows:
        parts = row.split(",")
        if len(parts) == 4:
            event_id, camera, kind, hhmm = parts
            day_of, _, hhmm = hhmm.rpartition(" ")
            lines.append(f"{event_id},{camera},{mine}0009,,{kind},2026-03-{day_of or day:0>2}T{hhmm}:00+08:00\n")
        else:
            lines.append(row + "\n")
    path = folder / f"{mine}_video_202603{day:02d}.csv"
    path.write_text(CSV_HEADER + "".join(lines))
    return path


def inventory(landing: Path, pulled: datetime, cameras: list[dict]) -> None:
    """A D.1 camera inventory as the pull archives it: `{mine}_cameras_{pull time}.json`."""
    folder = landing / "api"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{MINE}_cameras_{pulled.strftime('%Y%m%d%H%M%S')}.json"
    (folder / name).write_text(json.dumps(cameras, ensure_ascii=False))


def events_page(landing: Path, pulled: datetime, page: int, events: list[tuple[str, str, str, datetime]]) -> None:
    """A D.1 events page as the pull archives it: `{mine}_video_events_{pull time}_p{n}.json`."""
    folder = landing / "api"
    folder.mkdir(parents=True, exist_ok=True)
    body = {"events": [{"event_id": e, "camera_id": c, "type": t, "at": when.isoformat()} for e, c, t, when in events],
            "next_cursor": None}
    (folder / f"{MINE}_video_events_{pulled.strftime('%Y%m%d%H%M%S')}_p{page}.json").write_text(json.dumps(body))


def camera(camera_id: str, seal: str | None, online: bool = True, preset: int = 1, area: str = SEALED) -> dict:
    return {"camera_id": camera_id, "name": f"{seal or area}摄像头", "area_code": area, "seal_code": seal,
            "online": online, "preset": preset}


def states(db, camera_id: str | None = None) -> list[tuple]:
    where = "WHERE camera_id = %s" if camera_id else ""
    rows = query(db, f"""SELECT camera_id, state, started_at, ended_at, opened_by, opening_event_id, closed_by,
                                closing_event_id, repeats
                           FROM core.camera_state {where} ORDER BY camera_id, started_at, state""",
                 (camera_id,) if camera_id else None)
    return [(c, s, a.astimezone(CST), e.astimezone(CST) if e else None, *rest) for c, s, a, e, *rest in rows]


def run(landing: Path) -> None:
    outcome = run_landing(landing)
    assert not outcome.files.get("failed"), outcome.problems


# ---------------------------------------------------------------- D.2 CSV


def test_csv_round_trip_events_states_and_rejects(db, tmp_path):
    landing = tmp_path / "landing"
    (landing / MINE).mkdir(parents=True)
    shutil.copy(FIX / f"{MINE}_video_20260318.csv", landing / MINE)
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 1, outcome.problems

    events = query(db, """SELECT event_id, camera_id, event_type, event_at, area_code, seal_code, source_kind, record_no
                            FROM core.video_event ORDER BY event_id""")
    assert [(e[0][-2:], e[2], e[3].astimezone(CST), e[7]) for e in events] == [
        ("01", "OFFLINE", at(18, 2, 10), 1), ("02", "ONLINE", at(18, 4, 40), 2),
        ("03", "SCENE_CHANGE", at(18, 9, 15) + timedelta(seconds=30), 3),
        ("04", "VIDEO_LOSS", at(18, 10), 4),  # no offset: China time
        ("05", "OCCLUSION", at(18, 18, 5), 5),  # 10:05Z
        ("06", "PRESET_CHANGE", at(18, 11), 6), ("07", "RELOCATED", at(18, 11, 30), 7),
    ]
    assert events[0][4:7] == (f"{MINE}0007", "M-01", "CSV")
    # the bad lines are held, each with its reason; the good ones of the file load
    assert query(db, "SELECT record_no, reason FROM quarantine.record WHERE status = 'held' ORDER BY record_no") == [
        (8, "duplicate_key"), (9, "unsupported_reading_type"), (10, "bad_time"), (11, "mine_mismatch"),
        (12, "field_count"), (13, "field_count")]
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE kind = 'video'") == [(7, 6)]

    assert states(db) == [
        ("V468801", "offline", at(18, 2, 10), at(18, 4, 40), "event", "e-004688-00001", "event", "e-004688-00002", 0),
        ("V468802", "scene_changed", at(18, 9, 15) + timedelta(seconds=30), None, "event", "e-004688-00003",
         None, None, 0),
        ("V468803", "video_lost", at(18, 10), None, "event", "e-004688-00004", None, None, 0),
        ("V468803", "occluded", at(18, 18, 5), None, "event", "e-004688-00005", None, None, 0),
    ]
    # every interval walks back to the vendor's line
    assert query(db, """SELECT f.name, s.record_no, s.closing_record_no FROM core.camera_state s
                          JOIN ledger.file f USING (file_id) WHERE s.camera_id = 'V468801'""") \
        == [(f"{MINE}_video_20260318.csv", 1, 2)]
    tamper = query(db, "SELECT camera_id, tamper, started_at, ended_at FROM core.camera_tamper ORDER BY started_at")
    assert [(c, t, s.astimezone(CST), e.astimezone(CST) if e else None) for c, t, s, e in tamper] == [
        ("V468802", "scene_changed", at(18, 9, 15) + timedelta(seconds=30), None),
        ("V468804", "preset_changed", at(18, 11), at(18, 11)),
        ("V468804", "relocated", at(18, 11, 30), at(18, 11, 30)),
        ("V468803", "occluded", at(18, 18, 5), None),
    ]
    assert status(db)["rows"]["video_events"] == 7
    assert {"feed": "video", "kind": "video", "status": "loaded", "count": 1} in status(db)["files"]

    # the same file again is a replay: nothing changes
    run(landing)
    assert query(db, "SELECT count(*) FROM core.video_event") == [(7,)]
    assert len(states(db)) == 4


def test_an_offline_with_no_online_yet_is_open_and_repeats_do_not_split_it(db, tmp_path):
    landing = tmp_path / "landing"
    video_csv(landing, 18, ["e-1,C1,OFFLINE,02:10", "e-2,C1,OFFLINE,02:40",  # offline again while offline
                            "e-3,C1,VIDEO_LOSS,03:00",                         # its own state, overlapping
                            "e-4,C2,ONLINE,01:00"])                            # ONLINE with nothing open: no state
    run(landing)
    assert states(db) == [
        ("C1", "offline", at(18, 2, 10), None, "event", "e-1", None, None, 1),
        ("C1", "video_lost", at(18, 3), None, "event", "e-3", None, None, 0),
    ]
    # the ONLINE comes the next day: it ends both states
    video_csv(landing, 19, ["e-5,C1,ONLINE,06:00"])
    run(landing)
    assert states(db) == [
        ("C1", "offline", at(18, 2, 10), at(19, 6), "event", "e-1", "event", "e-5", 1),
        ("C1", "video_lost", at(18, 3), at(19, 6), "event", "e-3", "event", "e-5", 0),
    ]


def test_online_delivered_before_the_offline_it_ends_gives_the_same_intervals(db, tmp_path):
    in_order = [("e-1", "OFFLINE", "18 23:50"), ("e-2", "ONLINE", "19 00:30"),
                ("e-3", "OCCLUSION", "19 01:00"), ("e-4", "ONLINE", "19 01:20")]
    expected = [
        ("C1", "offline", at(18, 23, 50), at(19, 0, 30), "event", "e-1", "event", "e-2", 0),
        ("C1", "occluded", at(19, 1), at(19, 1, 20), "event", "e-3", "event", "e-4", 0),
    ]
    # first the file of the 19th (the ONLINE events, and the OCCLUSION), then, late, the 18th's OFFLINE
    landing = tmp_path / "landing"
    video_csv(landing, 19, [f"{e},C1,{t},{when}" for e, t, when in [in_order[3], in_order[1], in_order[2]]])
    run(landing)
    assert states(db) == [expected[1]]  # the ONLINE of 00:30 ends nothing yet
    video_csv(landing, 18, [f"{e},C1,{t},{when}" for e, t, when in in_order[:1]])
    run(landing)
    assert states(db) == expected

    # a late file of the 17th: an OFFLINE with an ONLINE after it, and an OFFLINE that the 19th's ONLINE ends
    video_csv(landing, 17, ["e-0,C1,OFFLINE,17 08:00", "e-00,C1,ONLINE,17 08:30", "e-000,C1,OFFLINE,18 22:00"])
    run(landing)
    assert states(db) == [
        ("C1", "offline", at(17, 8), at(17, 8, 30), "event", "e-0", "event", "e-00", 0),
        ("C1", "offline", at(18, 22), at(19, 0, 30), "event", "e-000", "event", "e-2", 1),  # e-1 repeats it
        expected[1],
    ]


def test_a_late_online_splits_an_open_interval(db, tmp_path):
    landing = tmp_path / "landing"
    video_csv(landing, 19, ["e-1,C1,OFFLINE,10:00", "e-3,C1,OFFLINE,12:00"])
    run(landing)
    assert states(db, "C1") == [("C1", "offline", at(19, 10), None, "event", "e-1", None, None, 1)]
    # the platform re-sends the day with the ONLINE it had missed (a new delivery of the same name)
    video_csv(landing, 19, ["e-1,C1,OFFLINE,10:00", "e-2,C1,ONLINE,11:00", "e-3,C1,OFFLINE,12:00"])
    run(landing)
    assert states(db, "C1") == [
        ("C1", "offline", at(19, 10), at(19, 11), "event", "e-1", "event", "e-2", 0),
        ("C1", "offline", at(19, 12), None, "event", "e-3", None, None, 0),
    ]
    assert query(db, "SELECT count(*) FROM core.video_event") == [(3,)]


def test_the_same_event_in_two_files_is_stored_once_the_later_delivery_winning(db, tmp_path):
    landing = tmp_path / "landing"
    # the 19th's file repeats e-1 with a corrected time; the 18th's file arrives after it (late)
    video_csv(landing, 19, ["e-1,C1,OFFLINE,18 23:40", "e-2,C1,ONLINE,19 00:30"])
    run(landing)
    video_csv(landing, 18, ["e-1,C1,OFFLINE,18 23:50"])
    run(landing)
    rows = query(db, """SELECT e.event_id, e.event_at, f.name FROM core.video_event e JOIN ledger.file f USING (file_id)
                         ORDER BY e.event_id""")
    assert [(e, t.astimezone(CST), n) for e, t, n in rows] == [
        ("e-1", at(18, 23, 40), f"{FILE_MINE}_video_20260319.csv"),  # the later file's word stands
        ("e-2", at(19, 0, 30), f"{FILE_MINE}_video_20260319.csv"),
    ]
    assert states(db) == [("C1", "offline", at(18, 23, 40), at(19, 0, 30), "event", "e-1", "event", "e-2", 0)]
    assert status(db)["rows"]["video_events"] == 2

    # in order, the later file replaces the earlier one's event, and the states follow it
    db2_landing = tmp_path / "landing2"
    video_csv(db2_landing, 18, ["e-7,C7,OFFLINE,18 23:50"])
    run(db2_landing)
    video_csv(db2_landing, 19, ["e-7,C7,OFFLINE,18 23:40", "e-8,C7,ONLINE,19 00:30"])
    run(db2_landing)
    assert states(db, "C7") == [("C7", "offline", at(18, 23, 40), at(19, 0, 30), "event", "e-7", "event", "e-8", 0)]
    assert query(db, "SELECT count(*) FROM core.video_event WHERE event_id = 'e-7'") == [(1,)]


def test_a_redelivered_event_naming_another_camera_moves_its_state(db, tmp_path):
    landing = tmp_path / "landing"
    video_csv(landing, 18, ["e-1,C1,OFFLINE,02:00"])
    run(landing)
    assert [s[0] for s in states(db)] == ["C1"]
    video_csv(landing, 19, ["e-1,C2,OFFLINE,18 02:00"])
    run(landing)
    assert states(db) == [("C2", "offline", at(18, 2), None, "event", "e-1", None, None, 0)]


# ---------------------------------------------------------------- D.1 REST: inventory and events pages


def test_camera_history_from_inventory_pulls(db, tmp_path):
    landing = tmp_path / "landing"
    inventory(landing, at(18, 8), [camera("V1", "M-01"), camera("V2", "M-02", preset=2), camera("V3", None, area=FACE)])
    run(landing)
    inventory(landing, at(18, 9), [camera("V1", "M-01", preset=3),            # preset turned
                                   camera("V2", "M-09", preset=2),            # now said to watch another seal
                                   camera("V4", None, area=GOAF)])            # V3 gone, V4 new
    run(landing)
    rows = query(db, """SELECT camera_id, seal_code, area_code, preset, valid_from, valid_to FROM core.video_camera
                         ORDER BY camera_id, valid_from""")
    assert [(c, s, a, p, f.astimezone(CST), t.astimezone(CST) if t else None) for c, s, a, p, f, t in rows] == [
        ("V1", "M-01", SEALED, 1, at(18, 8), at(18, 9)),
        ("V1", "M-01", SEALED, 3, at(18, 9), None),
        ("V2", "M-02", SEALED, 2, at(18, 8), at(18, 9)),
        ("V2", "M-09", SEALED, 2, at(18, 9), None),
        ("V3", None, FACE, 1, at(18, 8), at(18, 9)),  # the closed row is the evidence of its removal
        ("V4", None, GOAF, 1, at(18, 9), None),
    ]
    assert query(db, "SELECT camera_id FROM core.video_camera_current ORDER BY 1") == [("V1",), ("V2",), ("V4",)]

    # a late, older pull changes nothing; the same pull again is a replay
    inventory(landing, at(18, 7), [camera("V1", "M-01", preset=9)])
    run(landing)
    assert query(db, "SELECT count(*) FROM core.video_camera") == [(6,)]
    assert query(db, """SELECT outcome FROM core.snapshot_log l JOIN ledger.file f USING (file_id)
                         WHERE l.target = 'core.video_camera' ORDER BY f.name""") \
        == [("late",), ("applied",), ("applied",)]
    # every version walks back to the pull's answer and item
    assert query(db, """SELECT f.name, v.record_no FROM core.video_camera v JOIN ledger.file f USING (file_id)
                         WHERE v.camera_id = 'V4'""") == [(f"{MINE}_cameras_20260318090000.json", 3)]


def test_inventory_listing_a_camera_offline_opens_offline_until_online(db, tmp_path):
    landing = tmp_path / "landing"
    inventory(landing, at(18, 8), [camera("V1", "M-01"), camera("V2", "M-02")])
    inventory(landing, at(18, 9), [camera("V1", "M-01", online=False), camera("V2", "M-02", online=False)])
    # V1: no event says why; V2: the platform also sent an OFFLINE at 08:50 (the listing repeats it)
    events_page(landing, at(18, 9, 5), 1, [("e-1", "V2", "OFFLINE", at(18, 8, 50))])
    run(landing)
    assert states(db) == [
        ("V1", "offline", at(18, 9), None, "inventory", None, None, None, 0),
        ("V2", "offline", at(18, 8, 50), None, "event", "e-1", None, None, 1),
    ]
    # V1 comes back by an ONLINE event; V2 only by the next pull listing it online
    events_page(landing, at(18, 10, 5), 1, [("e-2", "V1", "ONLINE", at(18, 9, 40))])
    inventory(landing, at(18, 10), [camera("V1", "M-01", preset=2), camera("V2", "M-02")])
    run(landing)
    assert states(db) == [
        ("V1", "offline", at(18, 9), at(18, 9, 40), "inventory", None, "event", "e-2", 0),
        ("V2", "offline", at(18, 8, 50), at(18, 10), "event", "e-1", "inventory", None, 1),
    ]


def test_an_inventory_returning_to_earlier_values_is_a_new_snapshot(db, tmp_path):
    landing = tmp_path / "landing"
    inventory(landing, at(18, 8), [camera("V1", "M-01")])
    inventory(landing, at(18, 9), [camera("V1", "M-01", online=False)])
    inventory(landing, at(18, 10), [camera("V1", "M-01")])  # the same answer as at 08:00
    run(landing)
    assert states(db) == [("V1", "offline", at(18, 9), at(18, 10), "inventory", None, "inventory", None, 0)]


def test_rest_pages_store_each_event_once(db, tmp_path):
    landing = tmp_path / "landing"
    inventory(landing, at(18, 8), [camera("V1", "M-01")])
    # `since` is inclusive: the second pull's page repeats the last event of the first
    events_page(landing, at(18, 3), 1, [("e-1", "V1", "OFFLINE", at(18, 2, 10)),
                                        ("e-2", "V1", "ONLINE", at(18, 2, 30))])
    events_page(landing, at(18, 4), 1, [("e-2", "V1", "ONLINE", at(18, 2, 30)),
                                        ("e-3", "V1", "OCCLUSION", at(18, 3, 50))])
    run(landing)
    assert query(db, "SELECT event_id, source_kind FROM core.video_event ORDER BY 1") \
        == [("e-1", "REST"), ("e-2", "REST"), ("e-3", "REST")]
    assert status(db)["rows"]["video_events"] == 3
    assert states(db) == [
        ("V1", "offline", at(18, 2, 10), at(18, 2, 30), "event", "e-1", "event", "e-2", 0),
        ("V1", "occluded", at(18, 3, 50), None, "event", "e-3", None, None, 0),
    ]


# ---------------------------------------------------------------- seals (F.2) and the platform


def seal_landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    registry(landing, [
        f"{MINE},M-01,{SEALED},V1",    # listed on M-01: watched
        f"{MINE},M-02,{SEALED},V2",    # the platform ties V2 to M-09
        f"{MINE},M-03,{GOAF},",        # no camera in the registry
        f"{MINE},M-04,{GOAF},V3",      # listed at 08:00, gone at 09:00
        f"{MINE},M-05,{GOAF},V9",      # never listed
        f"{MINE},M-06,{SEALED},V4",    # listed, but the platform names no seal for it
        f"{FILE_MINE},M-11,{FILE_MINE}0009,C1",  # a CSV-only mine: seen in events
        f"{FILE_MINE},M-12,{FILE_MINE}0009,C2",  # never in an event
    ])
    inventory(landing, at(18, 8), [camera("V1", "M-01"), camera("V2", "M-02"), camera("V3", "M-04"),
                                   camera("V4", None)])
    inventory(landing, at(18, 9), [camera("V1", "M-01"), camera("V2", "M-09"), camera("V4", None),
                                   camera("V5", "M-77", area=GOAF)])  # a seal the registry does not know
    events_page(landing, at(18, 9, 5), 1, [("e-1", "V1", "OFFLINE", at(18, 1, 50)),
                                           ("e-2", "V1", "ONLINE", at(18, 2, 30)),
                                           ("e-3", "V2", "SCENE_CHANGE", at(18, 8, 40))])
    video_csv(landing, 18, [f"c-1,C1,{FILE_MINE}0009,M-11,OFFLINE,2026-03-18T05:00:00+08:00"])
    return landing


def test_seal_reconciliation_gives_each_status(db, tmp_path):
    run(seal_landing(tmp_path))
    rows = query(db, """SELECT mine_code, seal_code, camera_id, status, is_on_platform, has_reported,
                               platform_seal_code, is_platform_watching_seal, platform_cameras_on_seal, current_states
                          FROM mart.seal_camera ORDER BY mine_code, seal_code, camera_id""")
    assert rows == [
        (MINE, "M-01", "V1", "watched", True, True, "M-01", True, ["V1"], None),
        (MINE, "M-02", "V2", "camera_on_other_seal", True, True, "M-09", False, None, ["scene_changed"]),
        (MINE, "M-03", None, "no_camera_in_registry", False, False, None, False, None, None),
        (MINE, "M-04", "V3", "camera_not_on_platform", False, True, None, False, None, None),
        (MINE, "M-05", "V9", "camera_not_on_platform", False, False, None, False, None, None),  # never listed
        (MINE, "M-06", "V4", "platform_names_no_seal", True, True, None, False, None, None),
        (MINE, "M-09", "V2", "seal_not_in_registry", True, True, "M-09", True, ["V2"], ["scene_changed"]),
        (MINE, "M-77", "V5", "seal_not_in_registry", True, True, "M-77", True, ["V5"], None),
        (FILE_MINE, "M-11", "C1", "watched", True, True, "M-11", True, ["C1"], ["offline"]),
        (FILE_MINE, "M-12", "C2", "camera_never_reported", False, False, None, False, None, None),
    ]
    # the area behind each registry seal comes along
    assert query(db, "SELECT area_code FROM mart.seal_camera WHERE seal_code = 'M-03'") == [(GOAF,)]


def test_was_the_camera_at_a_seal_watching_then(db, tmp_path):
    run(seal_landing(tmp_path))

    def watch(mine: str, seal: str, when: datetime) -> tuple:
        rows = query(db, "SELECT camera_id, is_watching, condition, states FROM core.seal_watch(%s, %s, %s)",
                     (mine, seal, when))
        assert len(rows) == 1
        return rows[0]

    assert watch(MINE, "M-01", at(18, 2)) == ("V1", False, "offline", ["offline"])
    assert watch(MINE, "M-01", at(18, 2, 30)) == ("V1", True, "watching", [])  # the ONLINE ended it
    assert watch(MINE, "M-01", at(18, 1)) == ("V1", True, "watching", [])  # before the first pull: listed then too
    assert watch(MINE, "M-02", at(18, 8, 45)) == ("V2", False, "scene_changed", ["scene_changed"])
    assert watch(MINE, "M-03", at(18, 2)) == (None, False, "no_camera_in_registry", [])
    assert watch(MINE, "M-04", at(18, 8, 30)) == ("V3", True, "watching", [])
    assert watch(MINE, "M-04", at(18, 10)) == ("V3", False, "camera_not_on_platform", [])
    assert watch(MINE, "M-05", at(18, 10)) == ("V9", False, "camera_not_on_platform", [])
    assert watch(FILE_MINE, "M-11", at(18, 4)) == ("C1", True, "watching", [])
    assert watch(FILE_MINE, "M-11", at(18, 6)) == ("C1", False, "offline", ["offline"])
    # a mine without inventory says nothing of a camera that sent no event: unknown
    assert watch(FILE_MINE, "M-12", at(18, 6)) == ("C2", None, "camera_never_reported", [])
    assert query(db, "SELECT count(*) FROM core.seal_watch(%s, 'M-99', %s)", (MINE, at(18, 2))) == [(0,)]
    # the BI form of the question, over mart only (sql/views/mart/video.sql)
    assert query(db, """SELECT s.camera_id, c.state FROM mart.seal_camera s
                          LEFT JOIN mart.camera_state c
                            ON c.mine_code = s.mine_code AND c.camera_id = s.camera_id
                           AND c.started_at <= %(t)s AND coalesce(c.ended_at, 'infinity') > %(t)s
                         WHERE s.mine_code = %(m)s AND s.seal_code = 'M-01'""", {"t": at(18, 2), "m": MINE}) \
        == [("V1", "offline")]
    assert query(db, "SELECT seal_codes FROM mart.camera_state WHERE camera_id = 'V1'") == [(["M-01"],)]
