"""Video detection rules (contract G.1: CAMERA_OFFLINE, CAMERA_TAMPER, SEAL_UNWATCHED) over loaded video data."""

from __future__ import annotations

from minewatch.detect import run_detection
from tests.conftest import query
from tests.integration.test_video_load import (
    CST,
    FILE_MINE,
    GOAF,
    MINE,
    SEALED,
    at,
    camera,
    events_page,
    inventory,
    registry,
    run,
    video_csv,
)


def flags(db, code: str) -> list[tuple]:
    rows = query(db, """SELECT mine_code, subject_code, started_at, ended_at, severity, area_code, evidence
                          FROM mart.flags WHERE flag_code = %s ORDER BY mine_code, subject_code, started_at""", (code,))
    return [(m, s, a.astimezone(CST), e.astimezone(CST) if e else None, sev, area, ev)
            for m, s, a, e, sev, area, ev in rows]


def short(found: list[tuple]) -> list[tuple]:
    return [f[:5] for f in found]


def ids(db) -> list[int]:
    return [r[0] for r in query(db, "SELECT flag_id FROM mart.flags ORDER BY flag_id")]


def landing_with(tmp_path, seals: list[str]):
    landing = tmp_path / "landing"
    registry(landing, seals)
    return landing


def test_camera_offline_counts_spells_past_the_limit_critical_at_a_seal(db, tmp_path):
    landing = landing_with(tmp_path, [f"{FILE_MINE},M-11,{FILE_MINE}0009,C1"])
    video_csv(landing, 18, [
        "e-1,C1,OFFLINE,02:00", "e-2,C1,ONLINE,03:00",      # the seal's camera, an hour: critical
        "e-3,C2,OFFLINE,04:00", "e-4,C2,ONLINE,04:03",      # a reboot: not a finding
        "e-5,C2,VIDEO_LOSS,05:00",                          # no video since: open warning
        "e-6,C3,OFFLINE,06:00", "e-7,C3,VIDEO_LOSS,06:00",  # both at once: one finding
        "e-8,C3,ONLINE,06:30",
    ])
    run(landing)
    found = flags(db, "CAMERA_OFFLINE")
    assert short(found) == [
        (FILE_MINE, "C1", at(18, 2), at(18, 3), 3),
        (FILE_MINE, "C2", at(18, 5), None, 2),
        (FILE_MINE, "C3", at(18, 6), at(18, 6, 30), 2),
    ]
    c1, _, c3 = (f[6] for f in found)
    assert c1["why"] == "the camera was offline" and c1["minutes"] == 60 and c1["seals it must watch"] == ["M-11"]
    assert c1["begun by"] == ["event e-1"] and c1["ended by"] == ["event e-2"]
    assert c3["states"] == ["offline", "video_lost"]
    assert found[0][5] == f"{FILE_MINE}0009"  # the camera's area, from the events

    before = ids(db)
    run_detection(db)
    assert ids(db) == before  # the same findings, not new ones
    # the lost video comes back: the open finding is closed, not duplicated
    video_csv(landing, 19, ["e-9,C2,ONLINE,01:00"])
    run(landing)
    assert short(flags(db, "CAMERA_OFFLINE"))[1] == (FILE_MINE, "C2", at(18, 5), at(19, 1), 2)
    assert ids(db) == before


def test_an_inventory_listing_the_camera_offline_is_a_finding(db, tmp_path):
    landing = landing_with(tmp_path, [f"{MINE},M-01,{SEALED},V1"])
    inventory(landing, at(18, 8), [camera("V1", "M-01", online=False)])
    run(landing)
    found = flags(db, "CAMERA_OFFLINE")
    assert short(found) == [(MINE, "V1", at(18, 8), None, 3)]
    assert found[0][5] == SEALED and found[0][6]["begun by"] == ["an inventory pull listing the camera offline"]


def test_camera_tamper_flags_occlusion_scene_change_preset_and_relocation(db, tmp_path):
    landing = landing_with(tmp_path, [f"{FILE_MINE},M-11,{FILE_MINE}0009,C1"])
    video_csv(landing, 18, [
        "e-1,C1,OCCLUSION,02:00", "e-2,C1,ONLINE,02:02",         # short, but a covered lens counts
        "e-3,C2,SCENE_CHANGE,03:00",                             # still another scene
        "e-4,C2,PRESET_CHANGE,04:00", "e-5,C2,RELOCATED,05:00",
        "e-6,C3,PRESET_CHANGE,06:00", "e-7,C3,RELOCATED,06:00",  # together: one finding
        "e-8,C4,OFFLINE,07:00",                                  # not tampering
    ])
    run(landing)
    found = flags(db, "CAMERA_TAMPER")
    assert short(found) == [
        (FILE_MINE, "C1", at(18, 2), at(18, 2, 2), 3),
        (FILE_MINE, "C2", at(18, 3), None, 2),
        (FILE_MINE, "C2", at(18, 4), at(18, 4), 2),
        (FILE_MINE, "C2", at(18, 5), at(18, 5), 2),
        (FILE_MINE, "C3", at(18, 6), at(18, 6), 2),
    ]
    assert found[0][6]["why"] == "the lens was covered" and found[0][6]["events"] == ["e-1"]
    assert found[4][6]["tampering"] == ["preset_changed", "relocated"] and found[4][6]["events"] == ["e-6", "e-7"]
    before = ids(db)
    run_detection(db)
    assert ids(db) == before


def test_seal_unwatched_when_no_camera_a_blind_camera_or_a_camera_missing_from_the_platform(db, tmp_path):
    landing = landing_with(tmp_path, [
        f"{MINE},M-01,{SEALED},V1",     # its camera goes offline 02:00-03:00 and is covered at 04:00
        f"{MINE},M-02,{SEALED},V2",     # its camera leaves the inventory at 09:00
        f"{MINE},M-03,{GOAF},",         # no camera in the registry
        f"{MINE},M-04,{GOAF},V9",       # its camera is never listed
        f"{MINE},M-05,{GOAF},V5",       # listed from the second pull only
        f"{MINE},M-06,{SEALED},V6",     # a 5-minute reboot: still watched
        f"{FILE_MINE},M-11,{FILE_MINE}0009,C1",  # a mine that sends events only, and none of C1: no finding
    ])
    inventory(landing, at(18, 1), [camera("V1", "M-01"), camera("V2", "M-02"), camera("V6", "M-06")])
    inventory(landing, at(18, 9), [camera("V1", "M-01"), camera("V5", "M-05"), camera("V6", "M-06")])
    events_page(landing, at(18, 9, 5), 1, [
        ("e-1", "V1", "OFFLINE", at(18, 2)), ("e-2", "V1", "ONLINE", at(18, 3)),
        ("e-3", "V1", "OCCLUSION", at(18, 4)),
        ("e-4", "V6", "OFFLINE", at(18, 5)), ("e-5", "V6", "ONLINE", at(18, 5, 5)),
    ])
    run(landing)
    found = flags(db, "SEAL_UNWATCHED")
    registry_loaded = query(db, "SELECT min(valid_from) FROM core.seal")[0][0].astimezone(CST)
    assert short(found) == [
        (MINE, "M-01", at(18, 2), at(18, 3), 3),
        (MINE, "M-01", at(18, 4), None, 3),
        (MINE, "M-02", at(18, 9), None, 3),
        (MINE, "M-03", registry_loaded, None, 3),
        (MINE, "M-04", at(18, 1), None, 3),
        (MINE, "M-05", at(18, 1), at(18, 9), 3),
    ]
    evidence = {(f[1], f[2]): f[6] for f in found}
    assert evidence[("M-01", at(18, 2))]["why"] == "the seal's camera V1 was offline"
    assert evidence[("M-01", at(18, 4))]["why"] == "the seal's camera V1 was covered (occluded)"
    assert evidence[("M-02", at(18, 9))]["why"] == "the seal's camera V2 is not in the video platform's camera list"
    assert evidence[("M-03", registry_loaded)]["why"] == "the registry names no camera for this seal"
    assert all(f[5] in (SEALED, GOAF) for f in found)  # the area behind the seal

    before = ids(db)
    run_detection(db)
    assert ids(db) == before
    # V2 is listed again: the finding ends at that pull
    inventory(landing, at(18, 10), [camera("V1", "M-01"), camera("V2", "M-02"), camera("V5", "M-05"),
                                    camera("V6", "M-06")])
    run(landing)
    assert short(flags(db, "SEAL_UNWATCHED"))[2] == (MINE, "M-02", at(18, 9), at(18, 10), 3)
    assert ids(db) == before

