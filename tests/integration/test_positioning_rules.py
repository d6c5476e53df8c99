"""Positioning detection rules over data loaded through the load path.

Contract G.1: CARD_UNREAD, PERSONNEL_BEHIND_SEAL, STATION_SILENT (base stations), POSITIONING_FEED_GAP.
"""

from __future__ import annotations

from pathlib import Path

from minewatch.detect import run_detection
from minewatch.pipeline import run_landing
from tests.conftest import query
from tests.integration.test_positioning_load import (
    C1,
    C2,
    C3,
    CST,
    FACE,
    MINE,
    MOUTH,
    S_FACE,
    S_MOUTH,
    S_SEALED,
    SEALED,
    SHIFT,
    T1,
    T2,
    T3,
    T5,
    T6,
    T7,
    at,
    execute,
    frozen,
    jzss,
    local,
    page,
    row,
    write,
)


def registry(landing: Path) -> None:
    """The regulator's areas: the face is a declared working face, the area behind the seal is sealed."""
    folder = landing / "registry"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mines.csv").write_text("mine_code,mine_name,province,county,status,capacity_mtpa\n"
                                      f"{MINE},龙山煤矿,河南,平顶山,producing,1.2\n", encoding="utf-8")
    (folder / "areas.csv").write_text(
        "mine_code,area_code,area_name,kind,declared_active\n"
        f"{MINE},{MOUTH},主井口,shaft,false\n{MINE},{FACE},15103综采工作面,working_face,true\n"
        f"{MINE},{SEALED},北翼采空区（密闭）,sealed,false\n", encoding="utf-8")


def flags(db, code: str) -> list[tuple]:
    rows = query(db, """SELECT subject_code, started_at, ended_at, severity, area_code, evidence, flag_id
                          FROM mart.flags WHERE flag_code = %s ORDER BY subject_code, started_at""", (code,))
    return [(s, a.astimezone(CST), e and e.astimezone(CST), sev, area, ev, fid) for s, a, e, sev, area, ev, fid in rows]


def short(found: list[tuple]) -> list[tuple]:
    return [f[:4] for f in found]


def detect(db) -> dict:
    return run_detection(db)


def test_card_unread_for_long_opens_and_closes_when_read_again(db, tmp_path):
    execute(db, "UPDATE core.positioning_setting SET value = interval '4 minutes' WHERE name = 'card_unread_after'")
    landing = tmp_path / "landing"
    for t, records in SHIFT.items():  # C3 is read at 08:01 and listed unread until 08:06
        write(landing, "RYSS", t, records)
    run_landing(landing, detect=False)
    detect(db)
    [c3] = flags(db, "CARD_UNREAD")
    assert c3[:5] == (C3, T1, None, 2, SEALED)  # still unread at the mine's latest snapshot
    assert c3[5]["minutes unread"] == 5 and c3[5]["station"] == S_SEALED
    # C2 left after T3 and C1 was read throughout: nothing on them

    write(landing, "RYSS", T7, [row(C3, 1, SEALED, S_SEALED, at(6, 40), 9.0)])  # read again at 08:07
    run_landing(landing, detect=False)
    detect(db)
    [again] = flags(db, "CARD_UNREAD")
    assert again[:4] == (C3, T1, T7, 2) and again[6] == c3[6]  # the same finding, now ended
    assert again[5]["how it ended"] == "read again, or back at the shaft mouth"
    assert detect(db)["card_unread"] == 0  # re-running changes nothing
    assert len(flags(db, "CARD_UNREAD")) == 1


def test_cards_moving_in_lock_step_are_flagged(db, tmp_path):
    landing = tmp_path / "landing"

    def carried(card: str, at_face: bool) -> list:
        r = row(card, 1, FACE, S_FACE, at(0, 50), 5.0)
        passes = [(S_MOUTH, at(0, 10)), (f"{MOUTH}000002", at(0, 20)), (S_FACE, at(0, 50))]
        r[14] = ",".join(f"{s}&{local(t)}" for s, t in (passes if at_face else passes[:1]))
        return r

    # C1 carries C2's card: the same three stations at the same seconds; C3 shares only the mouth
    write(landing, "RYSS", T1, [carried(C1, True), carried(C2, True), carried(C3, False)])
    run_landing(landing, detect=False)
    detect(db)
    found = flags(db, "CARD_UNREAD")
    assert short(found) == [(C1, at(0, 10), at(0, 50), 2), (C2, at(0, 10), at(0, 50), 2)]
    assert found[0][5]["moved with"] == [C2] and found[0][5]["same station at the same second"] == 3


def test_a_card_read_behind_a_seal_is_flagged_until_it_leaves(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing)
    for t in (T1, T2, T3):
        write(landing, "RYSS", t, SHIFT[t])  # C3 in the sealed area from T1
    run_landing(landing, detect=False)
    detect(db)
    [seal] = flags(db, "PERSONNEL_BEHIND_SEAL")
    assert seal[:5] == (SEALED, T1, None, 3, SEALED)
    assert seal[5]["cards"] == [C3] and "sealed" in seal[5]["why"]

    # C1 goes in too while C3 is there, then both leave: one episode, ended when the last one left
    write(landing, "RYSS", T5, [row(C1, 1, SEALED, S_SEALED, at(4, 30), 2.0), frozen(C3)])
    write(landing, "RYSS", T6, [row(C1, 1, FACE, S_FACE, at(5, 30), 2.0), row(C3, 1, FACE, S_FACE, at(5, 40), 1.0)])
    run_landing(landing, detect=False)
    detect(db)
    [seal2] = flags(db, "PERSONNEL_BEHIND_SEAL")
    assert seal2[:4] == (SEALED, T1, T6, 3) and seal2[6] == seal[6]
    assert seal2[5]["cards"] == [C1, C3]
    assert not flags(db, "CARD_UNREAD")  # 30 minutes by default: nobody went unread that long


def test_station_interrupted_or_at_fault_is_station_silent(db, tmp_path):
    landing = tmp_path / "landing"
    ok, down, fault = (0, 1), (1, 1), (2, 2)
    for m, face in ((0, ok), (5, down), (10, down), (15, ok)):
        jzss(landing, at(m), {S_MOUTH: ok, S_FACE: face, S_SEALED: fault})
    run_landing(landing, detect=False)
    detect(db)
    found = flags(db, "STATION_SILENT")
    assert short(found) == [(S_FACE, at(5), at(15), 2), (S_SEALED, at(0), None, 2)]
    assert found[0][4] == FACE and found[0][5]["states"] == ["interrupted"] and found[0][5]["reports"] == 2
    assert found[1][5]["power"] == ["power_fault"]


def test_a_long_silence_of_the_positioning_feed_is_a_gap_and_a_missed_snapshot_is_not(db, tmp_path):
    landing = tmp_path / "landing"
    for t in (T1, T2, T3, T5, T6):  # every minute, 08:04 missing: an upload hiccup
        write(landing, "RYSS", t, [frozen(C3)])
    for m in (40, 41, 42):  # then nothing until 08:40
        write(landing, "RYSS", at(m), [frozen(C3)])
    run_landing(landing, detect=False)
    detect(db)
    [gap] = flags(db, "POSITIONING_FEED_GAP")
    assert gap[:5] == (MINE, T6, at(40), 2, None)
    assert gap[5]["minutes"] == 34 and gap[5]["usual cadence s"] == 60

    # a camera inventory pulled months later is stamped with the pull's time: that is no clock of the mine's
    # data, and opens no gap after the last snapshot
    execute(db, f"""INSERT INTO ledger.file (path, name, size_bytes, sha256, feed, kind, mine_code, status, produced_at)
                    VALUES ('http://vms.invalid/cameras', '{MINE}_cameras_20261129100000_p1.json', 1, 'c0ffee', 'video',
                            'cameras', '{MINE}', 'loaded', '2026-11-29 10:00+08')""")
    detect(db)
    assert short(flags(db, "POSITIONING_FEED_GAP")) == [(MINE, T6, at(40), 2)]

    # the base stations go on reporting to 09:00 while no snapshot comes after 08:42: an open gap
    jzss(landing, at(0, 0, 9), {S_MOUTH: (0, 1)})
    run_landing(landing, detect=False)
    detect(db)
    assert short(flags(db, "POSITIONING_FEED_GAP")) == [(MINE, T6, at(40), 2), (MINE, at(42), None, 2)]


def test_rest_cards_read_in_the_same_poll_seconds_are_not_lock_step_unless_they_move_together(db, tmp_path):
    landing = tmp_path / "landing"
    # the platform polls at :10 each minute. C1 carries C2's card: every read together, mouth -> face -> sealed
    # area -> mouth. C3 works at the face beside them, read in the same seconds for half an hour, but came down
    # two minutes apart and stays.
    route = [(m, MOUTH if m < 5 or m >= 20 else FACE if m < 10 else SEALED) for m in range(0, 25)]
    items = [(c, at(m, 10), area, 1) for m, area in route for c in (C1, C2)]
    items += [(C3, at(m, 10), MOUTH if m < 2 else FACE, 1) for m in range(0, 31)]
    page(landing, "20260318083100", sorted(items, key=lambda i: i[1]))
    run_landing(landing, detect=False)
    detect(db)
    found = [f for f in flags(db, "CARD_UNREAD") if "moved with" in f[5]]
    assert short(found) == [(C1, at(0, 10), at(20, 10), 2), (C2, at(0, 10), at(20, 10), 2)]
    assert found[0][5]["moved with"] == [C2] and found[0][5]["same station at the same second"] == 4
    assert found[0][5]["stations"] == 3
