"""The one load path, end to end with the registry feed, against a real PostgreSQL."""

import shutil
from pathlib import Path

import pytest

from minewatch import archive
from minewatch.config import load_settings
from minewatch.pipeline import ingest, landing_files, run_landing
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "registry"


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    (root / "registry").mkdir(parents=True)
    for name in ("mines.csv", "areas.csv", "points.csv", "seals.csv", "meters.csv"):
        shutil.copy(FIX / name, root / "registry" / name)
    return root


def counts(db) -> dict:
    return {t: query(db, f"SELECT count(*) FROM core.{t}")[0][0]
            for t in ("mine", "area", "point_placement", "seal", "meter")}


def test_registry_loads_with_bad_row_in_quarantine(db, landing):
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 5
    assert counts(db) == {"mine": 2, "area": 7, "point_placement": 3, "seal": 2, "meter": 2}
    held = query(db, """SELECT q.record_no, q.reason, q.raw_text, f.name, q.feed FROM quarantine.record q
                         JOIN ledger.file f USING (file_id)""")
    assert held == [(6, "bad_number", "410403004688,41040300468800XX,编码错误,roadway,false", "areas.csv", "registry")]
    ledger = {r[0]: r[1:] for r in query(db, "SELECT name, status, rows_loaded, rows_rejected FROM ledger.file")}
    assert ledger["areas.csv"] == ("loaded", 7, 1)
    # every row knows where it came from
    src = query(db, """SELECT f.name, a.record_no FROM core.area a JOIN ledger.file f USING (file_id)
                        WHERE a.area_code = '4104030046880009'""")
    assert src == [("areas.csv", 5)]


def test_replayed_file_is_a_no_op(db, landing):
    run_landing(landing)
    before = (counts(db), query(db, "SELECT count(*) FROM ledger.file"), query(db, "SELECT count(*) FROM quarantine.record"))
    again = run_landing(landing)
    assert again.files == {"unchanged": 5}
    assert again.rows_loaded == 0
    after = (counts(db), query(db, "SELECT count(*) FROM ledger.file"), query(db, "SELECT count(*) FROM quarantine.record"))
    assert after == before


def test_same_content_under_another_name_is_a_duplicate(db, landing):
    run_landing(landing)
    other = landing / "410403004688" / "registry"
    other.mkdir(parents=True)
    shutil.copy(landing / "registry" / "areas.csv", other / "areas.csv")
    outcome = run_landing(landing)
    assert outcome.files["duplicate"] == 1
    rows = query(db, "SELECT status, duplicate_of IS NOT NULL FROM ledger.file WHERE path = %s", (str(other / "areas.csv"),))
    assert rows == [("duplicate", True)]
    assert counts(db)["area"] == 7


def test_a_registry_file_that_comes_back_to_earlier_content_is_loaded_again(db, landing):
    areas = landing / "registry" / "areas.csv"
    first = areas.read_bytes()
    run_landing(landing)
    lines = first.decode("utf-8").splitlines(keepends=True)
    areas.write_bytes("".join(line for line in lines if "4104030046880009" not in line).encode("utf-8"))
    run_landing(landing)  # B: one area removed (closed)
    areas.write_bytes(first)
    back = run_landing(landing)  # A again, same path and bytes as the first delivery: the area is back
    assert back.files["loaded"] == 1
    current = query(db, "SELECT count(*) FROM core.area WHERE area_code = '4104030046880009' AND valid_to IS NULL")
    assert current == [(1,)]
    deliveries = query(db, "SELECT restatement, status FROM ledger.file WHERE path = %s ORDER BY file_id", (str(areas),))
    assert deliveries == [(0, "loaded"), (0, "loaded"), (1, "loaded")]
    assert run_landing(landing).files == {"unchanged": 5}  # and replaying that is a no-op again


def test_every_file_is_archived_under_its_hash(db, landing):
    run_landing(landing)
    settings = load_settings()
    for path, sha in query(db, "SELECT path, sha256 FROM ledger.file"):
        assert archive.fetch(settings.archive_dir, sha) == Path(path).read_bytes()


def test_failure_half_way_leaves_nothing(db, landing, monkeypatch):
    import minewatch.load as load

    real = load.merge_sql

    def failing(target):  # the merge writes its rows, then the database fails
        return real(target) + ";\nSELECT 1 / 0;" if target == "registry_area" else real(target)

    monkeypatch.setattr(load, "merge_sql", failing)
    outcome = run_landing(landing)
    assert outcome.files["failed"] == 1
    assert any("areas.csv: load failed" in p and "division by zero" in p for p in outcome.problems)
    assert counts(db)["area"] == 0
    assert counts(db)["mine"] == 2  # the other files are not held back
    assert query(db, "SELECT count(*) FROM quarantine.record")[0][0] == 0  # its rejects went too
    assert query(db, "SELECT status FROM ledger.file WHERE name = 'areas.csv'") == [("failed",)]

    monkeypatch.setattr(load, "merge_sql", real)
    retry = run_landing(landing)
    assert retry.files["loaded"] == 1
    assert counts(db)["area"] == 7
    assert query(db, "SELECT count(*) FROM quarantine.record")[0][0] == 1


def test_a_failing_file_in_a_batch_does_not_hold_back_the_others(db, landing, monkeypatch):
    import minewatch.load as load

    second = landing / "410403004699" / "registry"
    second.mkdir(parents=True)
    (second / "seals.csv").write_text(
        "mine_code,seal_code,area_code,built_on,design_ref,camera_id\n410403004699,M-01,4104030046990003,2020-01-01,,V9\n"
    )
    real = load.merge_sql

    def failing(target):  # fails whenever mine 410403004699's seals are in the staged rows
        extra = ";\nSELECT 1 / (1 - (SELECT count(*) FROM stage_registry_seal WHERE mine_code = '410403004699'))::int;"
        return real(target) + extra if target == "registry_seal" else real(target)

    monkeypatch.setattr(load, "merge_sql", failing)
    settings = load_settings()
    paths = [p for p in landing_files(landing) if p.name == "seals.csv"]
    outcome = ingest(db, settings, paths)
    assert outcome.files["loaded"] == 1 and outcome.files["failed"] == 1, (outcome.files, outcome.problems)
    assert query(db, "SELECT mine_code, count(*) FROM core.seal GROUP BY 1") == [("410403004688", 2)]


def test_snapshot_history_keeps_changes_and_removals(db, landing):
    run_landing(landing)
    v2 = (FIX / "areas.csv").read_text().replace("己16-17200掘进,heading,true", "己16-17200掘进,heading,false")
    v2 = "\n".join(line for line in v2.splitlines() if "东翼大巷" not in line) + "\n"
    (landing / "registry" / "areas.csv").write_text(v2)
    run_landing(landing)
    heading = query(db, """SELECT is_declared_active, valid_to IS NULL FROM core.area
                            WHERE area_code = '4104030046880008' ORDER BY valid_from""")
    assert heading == [(True, False), (False, True)]
    removed = query(db, "SELECT valid_to IS NOT NULL FROM core.area WHERE area_code = '4104030046880002'")
    assert removed == [(True,)]
    assert query(db, "SELECT count(*) FROM core.area_current WHERE mine_code = '410403004688'")[0][0] == 4
    # the other mine, not in... still listed in v2, so untouched
    assert query(db, "SELECT count(*) FROM core.area_current WHERE mine_code = '410403004699'")[0][0] == 2


def test_unrecognized_files_are_reported_and_left_in_place(db, landing):
    stray = landing / "410403004688" / "notes.docx"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not an export")
    outcome = run_landing(landing)
    assert outcome.files["unrecognized"] == 1
    assert any("notes.docx" in p and "left in place" in p for p in outcome.problems)
    assert stray.exists()
    assert query(db, "SELECT status FROM ledger.file WHERE name = 'notes.docx'") == [("unrecognized",)]


def test_detection_reruns_give_the_same_flags(db, landing):
    run_landing(landing)
    first = query(db, "SELECT flag_id, flag_code, subject_code FROM mart.flags")
    assert first and all(code == "SEAL_UNWATCHED" for _, code, _ in first)
    assert [s for _, _, s in first] == ["M-08"]
    run_landing(landing)
    assert query(db, "SELECT flag_id, flag_code, subject_code FROM mart.flags") == first
