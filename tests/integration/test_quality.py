"""Validation between parsing and committing, quarantine you can act on, Data Docs: against a real PostgreSQL."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import minewatch.load as load
from minewatch import quarantine
from minewatch.config import load_settings
from minewatch.pipeline import run_landing
from minewatch.validation import build_docs
from tests.conftest import query
from tests.integration.conftest import fix_areas_parser, swapped_areas

CN = timezone(timedelta(hours=8))
MINE = "140211001234"


def areas_status(db) -> list[tuple]:
    return query(db, "SELECT path, status FROM ledger.file WHERE name = 'areas.csv' ORDER BY file_id")


def test_clean_delivery_loads_and_every_result_is_kept(db, landing):
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 5
    runs = query(db, "SELECT suite, outcome, expectations, failed_critical FROM quality.validation ORDER BY suite")
    assert [r[0] for r in runs] == ["registry.files.areas", "registry.files.meters", "registry.files.mines",
                                    "registry.files.points", "registry.files.seals", "registry.registry_area",
                                    "registry.registry_meter", "registry.registry_mine", "registry.registry_point",
                                    "registry.registry_seal"]
    assert all(crit == 0 for *_, crit in runs)
    # one row per expectation of every run: trends are queryable by check name
    n = query(db, """SELECT sum(v.expectations), (SELECT count(*) FROM quality.expectation_result)
                       FROM quality.validation v""")[0]
    assert n[0] == n[1] and n[0] > 40
    # areas.csv has one bad row of eight: held alone; the file loads with a recorded warning
    warned = query(db, """SELECT v.outcome, r.check_name, r.summary FROM quality.validation v
                           JOIN quality.expectation_result r USING (validation_id)
                          WHERE NOT r.success ORDER BY 2""")
    assert warned == [("warning", "rejected_share",
                       "at most 5% of a file's records are rejected by its parser: "
                       "areas.csv: 1 of 8 records rejected (12%)")]
    assert query(db, "SELECT count(*) FROM core.area")[0][0] == 7


def test_changed_field_order_holds_the_file_whole(db, landing):
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    outcome = run_landing(landing)
    assert outcome.files == {"loaded": 4, "quarantined": 1}
    assert any("areas.csv: whole file held in quarantine (expectation_failed" in p for p in outcome.problems)
    assert query(db, "SELECT count(*) FROM core.area")[0][0] == 0
    held = query(db, "SELECT record_no, reason, detail FROM quarantine.record WHERE status = 'held'")
    assert len(held) == 1  # the file, not its eight rows
    record_no, reason, detail = held[0]
    assert record_no is None and reason == "expectation_failed"
    assert "at most half of a file's records are rejected" in detail and "8 of 8 records rejected (100%)" in detail
    assert [s for _, s in areas_status(db)] == ["quarantined"]
    failed = query(db, """SELECT v.outcome, r.check_name, r.severity, r.sample FROM quality.validation v
                           JOIN quality.expectation_result r USING (validation_id)
                          WHERE NOT r.success AND r.severity = 'critical'""")
    assert [(o, c, s) for o, c, s, _ in failed] == [("held", "rejected_share_broken", "critical")]
    sample = failed[0][3]
    assert sample[0]["file"] == "areas.csv" and sample[0]["reason"] == "expectation_failed"
    assert "主井口" in sample[0]["raw"]


def test_a_bad_file_in_a_batch_holds_only_itself(db, landing):
    other = landing / "410403004699" / "registry"
    other.mkdir(parents=True)
    (other / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    outcome = run_landing(landing)  # both areas.csv are one batch (same feed, kind, no mine): retried one by one
    assert outcome.files == {"loaded": 5, "quarantined": 1}
    assert {Path(p).parent.parent.name: s for p, s in areas_status(db)} == {"landing": "loaded",
                                                                           "410403004699": "quarantined"}
    assert query(db, "SELECT count(*) FROM core.area")[0][0] == 7
    assert query(db, "SELECT DISTINCT outcome FROM quality.validation WHERE 'held' = outcome") == [("held",)]


def test_release_after_a_fix_loads_without_redelivery(db, landing, monkeypatch):
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    run_landing(landing)
    (qid,) = query(db, "SELECT quarantine_id FROM quarantine.record WHERE status = 'held'")[0]
    (landing / "registry" / "areas.csv").unlink()  # the landing copy is gone: release reads the archive
    settings = load_settings()

    still = quarantine.release(db, settings, ids=[qid])  # nothing fixed yet: held again
    assert still.files[0]["status"] == "quarantined" and still.files[0]["held_again"] == 1
    (qid2,) = query(db, "SELECT quarantine_id FROM quarantine.record WHERE status = 'held'")[0]
    assert qid2 != qid

    fix_areas_parser(monkeypatch)
    (areas_id,) = query(db, "SELECT file_id FROM ledger.file WHERE name = 'areas.csv'")[0]
    report = quarantine.release(db, settings, file_id=areas_id)
    assert report.released == 1
    assert report.files[0]["status"] == "loaded" and report.files[0]["rows_loaded"] == 7
    assert query(db, "SELECT count(*) FROM core.area_current")[0][0] == 7
    rows = query(db, "SELECT quarantine_id, status, resolved_at IS NOT NULL, reason FROM quarantine.record ORDER BY 1")
    assert [r[1:] for r in rows] == [("released", True, "expectation_failed"), ("released", True, "expectation_failed"),
                                     ("held", False, "bad_number")]  # the one bad row is still held alone
    assert query(db, "SELECT outcome FROM quality.validation WHERE suite = 'registry.files.areas' ORDER BY 1") == \
        [("held",), ("held",), ("warning",)]


def test_release_with_accept_loads_what_fails(db, landing, monkeypatch):
    _no_safety_merge(monkeypatch)
    folder = landing / MINE
    folder.mkdir()
    write_cddy(folder, 6)
    write_cdss(folder, "080010", [5200.0, 3100.0, 4700.0, 2600.0, 800.0, 1200.0])  # methane in ppm
    run_landing(landing)
    (qid,) = query(db, "SELECT quarantine_id FROM quarantine.record WHERE reason = 'expectation_failed'")[0]
    report = quarantine.release(db, load_settings(), ids=[qid], accept=True)
    assert report.files[0]["status"] == "loaded" and report.files[0]["rows_loaded"] == 6
    assert query(db, """SELECT outcome FROM quality.validation WHERE suite = 'safety.safety_readings'
                         ORDER BY validation_id""") == [("held",), ("accepted",)]


def test_discard_keeps_it_out(db, landing):
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    run_landing(landing)
    assert quarantine.discard(db, reason="expectation_failed", feed="registry") == 1
    assert query(db, "SELECT status FROM quarantine.record") == [("discarded",)]
    assert [s for _, s in areas_status(db)] == ["discarded"]
    assert run_landing(landing).files == {"unchanged": 5}  # a discarded delivery is not loaded again
    with pytest.raises(quarantine.QuarantineError):
        quarantine.release(db, load_settings())


# --- safety: a unit switched to ppm, all values zero --------------------------------------------


def write_cdss(folder: Path, hhmmss: str, methane: list[float], status: int = 0) -> Path:
    """A national real-time file (B.1 CDSS) with one methane point per value, sampled 10 s before upload."""
    up = datetime.strptime(f"20260318{hhmmss}", "%Y%m%d%H%M%S")
    at = (up - timedelta(seconds=10)).strftime("%Y-%m-%d %H:%M:%S")
    records = "".join(f"{MINE}01MN0001{i:03d}A01;甲烷;工作面{i};{v};%CH4;{status};{at}~\r\n"
                      for i, v in enumerate(methane, 1))
    path = folder / f"{MINE}_CDSS_{up:%Y%m%d%H%M%S}.txt"
    path.write_text(f"{MINE};某某煤业;{up:%Y-%m-%d %H:%M:%S}~\r\n{records}||", encoding="utf-8")
    return path


def write_cddy(folder: Path, points: int) -> Path:
    """The mine's point definitions (B.1 CDDY): methane points 001..n, so their readings load."""
    records = "".join(f"{MINE}01MN0001{i:03d}A01;01;{MINE}00001;0001;MN;%CH4;4;0;1.00;0.80;;;1.50;1.00;;;;;"
                      f"工作面{i};;;;;2026-01-05 10:00:00~\r\n" for i in range(1, points + 1))
    path = folder / f"{MINE}_CDDY_20260318080000.txt"
    path.write_text(f"{MINE};某某煤业;2026-03-18 08:00:00~\r\n{records}||", encoding="utf-8")
    return path


def _no_safety_merge(monkeypatch) -> None:
    """Until the safety tables exist, a safety merge is a no-op (validation comes before it anyway)."""
    real = load.merge_sql

    def merge(target: str) -> str:
        try:
            return real(target)
        except FileNotFoundError:
            return "SELECT 1"

    monkeypatch.setattr(load, "merge_sql", merge)


def test_vendor_breakages_in_real_time_files_are_held(db, tmp_path, monkeypatch):
    _no_safety_merge(monkeypatch)
    landing = tmp_path / "landing"
    folder = landing / MINE
    folder.mkdir(parents=True)
    write_cddy(folder, 6)
    good = write_cdss(folder, "080010", [0.12, 0.31, 0.05, 0.44, 0.27, 0.08])
    ppm = write_cdss(folder, "080020", [1200.0, 3100.0, 500.0, 4400.0, 2700.0, 800.0])
    zero = write_cdss(folder, "080030", [0.0] * 6)
    outcome = run_landing(landing)
    assert outcome.files == {"loaded": 2, "quarantined": 2}, outcome.problems
    status = dict(query(db, "SELECT name, status FROM ledger.file WHERE kind = 'CDSS'"))
    assert status == {good.name: "loaded", ppm.name: "quarantined", zero.name: "quarantined"}
    if query(db, "SELECT to_regclass('core.safety_reading') IS NOT NULL")[0][0]:
        assert query(db, "SELECT count(*), max(value) FROM core.safety_reading") == [(6, 0.44)]
    failed = query(db, """SELECT f.name, r.check_name FROM quality.validation v
                           JOIN quality.expectation_result r USING (validation_id)
                           JOIN ledger.file f ON f.file_id = v.file_ids[1]
                          WHERE NOT r.success AND r.severity = 'critical' ORDER BY 1, 2""")
    assert failed == [(ppm.name, "methane_plausible"), (ppm.name, "physical_range"),
                      (zero.name, "analog_not_all_zero")]
    detail = query(db, "SELECT detail FROM quarantine.record r JOIN ledger.file f USING (file_id) WHERE f.name = %s",
                   (ppm.name,))[0][0]
    assert "at most 1% of a batch's readings lie outside its physical range" in detail
    assert detail == ("2 critical expectation(s) failed: for every analog quantity, at most 1% of a batch's readings "
                      "lie outside its physical range: methane: 6 of 6 readings outside 0–100 %CH4, "
                      "e.g. 1200, 3100, 500; and 1 more")


def test_validation_can_be_turned_off(db, landing, monkeypatch):
    monkeypatch.setenv("MINEWATCH_VALIDATE", "0")
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    outcome = run_landing(landing)
    assert outcome.files == {"loaded": 5}
    assert query(db, "SELECT count(*) FROM quality.validation")[0][0] == 0


# --- the operator's view -----------------------------------------------------------------------


def mw(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minewatch.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120, check=False)


def test_quarantine_list_and_show_commands(db, landing):
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    run_landing(landing)
    (qid,) = query(db, "SELECT quarantine_id FROM quarantine.record")[0]
    listed = mw("quarantine", "list", "--reason", "expectation_failed")
    assert listed.returncode == 0, listed.stderr
    assert f"{qid:>7}" in listed.stdout and "areas.csv whole file" in listed.stdout
    as_json = json.loads(mw("quarantine", "list", "--json", "--feed", "registry").stdout)
    assert [r["quarantine_id"] for r in as_json] == [qid]
    shown = mw("quarantine", "show", str(qid))
    assert shown.returncode == 0, shown.stderr
    assert "reason    expectation_failed" in shown.stdout
    assert "[critical] at most half of a file's records are rejected" in shown.stdout
    assert "主井口" in shown.stdout  # the offending records, as sent
    assert f"minewatch quarantine release {qid}" in shown.stdout
    missing = mw("quarantine", "show", "999999")
    assert missing.returncode == 2 and "no quarantine row 999999" in missing.stderr


def test_data_docs_are_built_from_stored_results(db, landing):
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    run_landing(landing)
    index = build_docs(db, load_settings())
    assert index == load_settings().data_docs_dir / "index.html" and index.exists()
    pages = sorted(p.relative_to(index.parent).parts[:3] for p in index.parent.rglob("*.html")
                   if p.parts[-4:-3] != ("static",))
    assert ("validations", "registry", "files") in pages and ("expectations", "registry", "registry_area.html") in pages
    assert "registry.files.areas" in index.read_text(encoding="utf-8")
