"""The explosives ledger (contract F.1) through the one load path into a real PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from minewatch.pipeline import run_landing
from minewatch.status import status
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "explosives"
CST = timezone(timedelta(hours=8))
MINE = "410403004688"
HEADER = "record_id,issued_at,area_code,explosive_kg,detonators,returned_kg,returned_detonators\n"


def landing_with_registry(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    (landing / "registry").mkdir(parents=True)
    (landing / "registry" / "mines.csv").write_text(
        f"mine_code,mine_name,province,county,status,capacity_mtpa\n{MINE},平煤十矿,河南,平顶山,producing,1.8\n")
    (landing / "registry" / "areas.csv").write_text(
        "mine_code,area_code,area_name,kind,declared_active\n"
        f"{MINE},{MINE}0007,己15-24080工作面,working_face,true\n"
        f"{MINE},{MINE}0008,己16-17200掘进,heading,true\n"
        f"{MINE},{MINE}0009,己15-22100老采区（密闭）,sealed,false\n")
    (landing / MINE).mkdir()
    return landing


def issues(db) -> list[tuple]:
    return query(db, """SELECT record_id, area_code, explosive_kg, detonators, returned_kg, returned_detonators,
                               net_kg, net_detonators, is_area_known, area_kind, is_declared_workplace
                          FROM core.explosives_issue_area ORDER BY record_id""")


def test_ledger_loads_with_net_use_and_the_registry_verdict_on_each_area(db, tmp_path, monkeypatch):
    landing = landing_with_registry(tmp_path)
    shutil.copy(FIX / f"{MINE}_explosives_20260318.csv", landing / MINE)
    # this fixture is mostly broken rows (8 of 11): its suite would hold it whole, so it is checked unvalidated
    monkeypatch.setenv("MINEWATCH_VALIDATE", "0")
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 3, outcome.problems

    assert issues(db) == [
        ("HG20260318001", f"{MINE}0007", Decimal("24.0"), 38, Decimal("1.5"), 2, Decimal("22.5"), 36,
         True, "working_face", True),
        ("HG20260318002", f"{MINE}0009", Decimal("18.5"), 30, None, None, Decimal("18.5"), 30,
         True, "sealed", False),  # into a sealed area: evidence
        ("HG20260318007", f"{MINE}0099", Decimal("0"), 24, Decimal("0"), 4, Decimal("0"), 20,
         False, None, False),  # an area the registry does not know: kept, and evidence
    ]
    assert query(db, "SELECT issued_at FROM core.explosives_issue WHERE record_id = 'HG20260318002'") \
        == [(datetime(2026, 3, 18, 8, 31, tzinfo=CST),)]
    held = query(db, "SELECT record_no, reason FROM quarantine.record WHERE status = 'held' ORDER BY record_no")
    assert held == [(3, "bad_number"), (4, "duplicate_key"), (5, "bad_time"), (6, "mine_mismatch"), (7, "bad_number"),
                    (9, "bad_number"), (10, "bad_number"), (11, "field_count")]
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE feed = 'explosives'") == [(3, 8)]
    assert status(db)["rows"]["explosives_issues"] == 3


def test_record_sent_again_is_stored_once_and_the_later_ledger_wins(db, tmp_path):
    landing = landing_with_registry(tmp_path)
    (landing / MINE / f"{MINE}_explosives_20260318.csv").write_text(
        HEADER + f"HG001,2026-03-18T08:10:00+08:00,{MINE}0007,24.0,38,,\n"
                 f"HG002,2026-03-18T16:20:00+08:00,{MINE}0008,12.0,20,,\n")
    run_landing(landing)
    # the next day's ledger records what came back from HG002 and a new issue
    (landing / MINE / f"{MINE}_explosives_20260319.csv").write_text(
        HEADER + f"HG002,2026-03-18T16:20:00+08:00,{MINE}0008,12.0,20,2.5,4\n"
                 f"HG003,2026-03-19T08:05:00+08:00,{MINE}0009,6.0,10,,\n")
    run_landing(landing)
    # an older ledger delivered last (an earlier file-name stamp) changes nothing
    (landing / MINE / f"{MINE}_explosives_20260317.csv").write_text(
        HEADER + f"HG002,2026-03-18T16:20:00+08:00,{MINE}0008,99.0,99,,\n")
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 1

    got = [(r[0], r[6], r[7], r[10]) for r in issues(db)]
    assert got == [("HG001", Decimal("24.0"), 38, True), ("HG002", Decimal("9.5"), 16, True),
                   ("HG003", Decimal("6.0"), 10, False)]
    assert query(db, """SELECT f.name FROM core.explosives_issue e JOIN ledger.file f USING (file_id)
                         WHERE e.record_id = 'HG002'""") == [(f"{MINE}_explosives_20260319.csv",)]
    assert status(db)["rows"]["explosives_issues"] == 3
