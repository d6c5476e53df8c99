"""The fast ingest paths keep the load path's guarantees.

Readings are COPYed straight into their table when nothing needs the merge and merged whenever
something does, and batches validated in a worker process and committed on a second connection
give the same warehouse.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import minewatch.load as load
from minewatch import pipeline
from minewatch.pipeline import run_landing
from tests.conftest import query

M = "140211001234"
POINTS = [f"{M}01MN0001{i:03d}A{i:02d}" for i in range(1, 6)]  # five methane points
CN = timedelta(hours=8)


def networking(upload: str, records: list[str]) -> bytes:
    return (f"{M};某矿;{upload}~" + "".join(r + "~" for r in records) + "||").encode()


def definitions(points: list[str]) -> bytes:
    return networking("2026-03-18 08:00:00", [
        f"{p};01;{M}00001;0001;MN;%CH4;4;0;1.00;0.80;;;1.50;1.00;;;;;回风巷甲烷{i};;;;;2026-01-05 10:00:00"
        for i, p in enumerate(points)
    ])


def cycle(at: datetime, value: float, points: list[str] = POINTS) -> bytes:
    """One CDSS upload: every point read at `at` (China time), uploaded 10 s later."""
    upload, sampled = (at + timedelta(seconds=10)).strftime("%Y-%m-%d %H:%M:%S"), at.strftime("%Y-%m-%d %H:%M:%S")
    return networking(upload, [f"{p};甲烷;回风巷;{value};%CH4;0;{sampled}" for p in points])


def name(at: datetime, kind: str = "CDSS") -> str:
    return f"{M}_{kind}_{(at + timedelta(seconds=10)):%Y%m%d%H%M%S}.txt"


T0 = datetime(2026, 3, 18, 8, 0, 0)


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing" / M
    root.mkdir(parents=True)
    (root / name(T0 - timedelta(minutes=1), "CDDY")).write_bytes(definitions(POINTS))
    return root


@pytest.fixture
def direct(monkeypatch) -> list[bool]:
    """What each COPY-straight-in attempt decided (True: COPYed into core.safety_reading)."""
    seen: list[bool] = []
    original = load.LoadPath._copy_direct

    def spy(self, cur, target, spool, rows_seen):
        went = original(self, cur, target, spool, rows_seen)
        if target == "safety_readings":
            seen.append(went)
        return went

    monkeypatch.setattr(load.LoadPath, "_copy_direct", spy)
    return seen


def readings(db) -> list[tuple]:
    return query(db, """SELECT point_code, sampled_at, value, f.name FROM core.safety_reading r
                         JOIN ledger.file f USING (file_id) ORDER BY point_code, sampled_at""")


def test_new_readings_go_straight_in_in_the_keys_order(db, landing, direct):
    for k in range(4):
        (landing / name(T0 + timedelta(seconds=10 * k))).write_bytes(cycle(T0 + timedelta(seconds=10 * k), 0.1 + k))
    outcome = run_landing(landing.parent, detect=False)
    assert outcome.files["loaded"] == 5 and outcome.rows_loaded == 5 + 20, outcome.problems
    assert direct == [True]
    rows = readings(db)
    assert len(rows) == 20
    assert rows[0][:3] == (POINTS[0], (T0 - CN).replace(tzinfo=UTC), 0.1)
    # heap order is the primary key's (mine, time, point): cycle by cycle, each cycle's points in order
    heap = query(db, "SELECT sampled_at, point_code FROM core.safety_reading_p20260318 ORDER BY ctid")
    assert heap == sorted(heap)
    assert query(db, """SELECT pg_get_indexdef('core.safety_reading_pkey'::regclass)""")[0][0].endswith(
        "(mine_code, sampled_at, point_code)")
    # and the day's partition was made for them
    assert query(db, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'core.safety_reading'::regclass") == [(1,)]


def test_a_key_twice_in_one_batch_falls_back_to_the_merge_and_the_later_delivery_wins(db, landing, direct):
    (landing / name(T0)).write_bytes(cycle(T0, 0.2))
    # a re-sent cycle with other values, named 5 s later: same points and sample time
    (landing / f"{M}_CDSS_{(T0 + timedelta(seconds=15)):%Y%m%d%H%M%S}.txt").write_bytes(
        cycle(T0, 0.7).replace(b"08:00:10~", b"08:00:15~", 1))
    outcome = run_landing(landing.parent, detect=False)
    assert outcome.files["loaded"] == 3, outcome.problems
    assert direct == [False]  # the COPY hit the primary key and was rolled back to its savepoint
    assert {v for _, _, v, _ in readings(db)} == {0.7}
    assert outcome.rows_loaded == 5 + 10  # both files' records count as loaded (contract J: the later one wins)


def test_readings_already_stored_are_merged_not_copied(db, landing, direct):
    (landing / name(T0)).write_bytes(cycle(T0, 0.2))
    run_landing(landing.parent, detect=False)
    later = landing.parent / "later"
    later.mkdir()
    (later / f"{M}_CDSS_{(T0 + timedelta(seconds=12)):%Y%m%d%H%M%S}.txt").write_bytes(
        cycle(T0, 0.9).replace(b"08:00:10~", b"08:00:12~", 1))
    run_landing(later, detect=False)
    assert direct == [True, False]  # the check saw the stored rows: no COPY attempted
    assert {v for _, _, v, _ in readings(db)} == {0.9}


def test_a_point_without_definition_is_held_as_before(db, landing, direct):
    stranger = f"{M}01MN0001099A99"
    (landing / name(T0)).write_bytes(cycle(T0, 0.2, POINTS + [stranger]))
    outcome = run_landing(landing.parent, detect=False)
    assert direct == [False]
    assert outcome.rows_rejected == 1 and outcome.rows_loaded == 5 + 5
    assert query(db, "SELECT reason FROM quarantine.record WHERE status = 'held'") == [("unknown_point",)]


def test_a_file_still_uploading_in_a_batch_leaves_nothing_behind(db, landing, direct):
    for k in range(3):
        (landing / name(T0 + timedelta(seconds=10 * k))).write_bytes(cycle(T0 + timedelta(seconds=10 * k), 0.3))
    (landing / name(T0 + timedelta(seconds=30))).write_bytes(cycle(T0 + timedelta(seconds=30), 0.3)[:-2])  # no trailer
    outcome = run_landing(landing.parent, detect=False)
    assert outcome.files["pending"] == 1 and outcome.files["loaded"] == 4
    assert direct == [True]
    assert sorted({at for _, at, _, _ in readings(db)}) == [(T0 + timedelta(seconds=10 * k) - CN).replace(tzinfo=UTC)
                                                          for k in range(3)]


def test_checker_process_and_second_connection_give_the_same_warehouse(db, landing, monkeypatch, direct):
    monkeypatch.setenv("MINEWATCH_BATCH_MB", "0.002")  # about 2 kB: several batches, so the checker process is used
    submitted: list[str] = []
    real_submit = pipeline.Checker.submit

    def submit(self, batch, work):
        submitted.append(len(work.parsed))
        return real_submit(self, batch, work)

    monkeypatch.setattr(pipeline.Checker, "submit", submit)
    for k in range(12):
        at = T0 + timedelta(seconds=10 * k)
        (landing / name(at)).write_bytes(cycle(at, round(0.1 * k + 0.1, 1)))
    (landing / f"{M}_CDSS_20260318080555.txt").write_bytes(b"not a networking file")  # no trailer: pending
    outcome = run_landing(landing.parent, detect=False)
    assert len(submitted) > 2 and sum(submitted) >= 12, submitted  # several batches parsed here, validated there
    assert outcome.files["loaded"] == 13 and outcome.files["pending"] == 1, outcome.problems
    assert outcome.rows_loaded == 5 + 60
    assert len(readings(db)) == 60 and all(direct)
    assert query(db, "SELECT count(*) FROM ledger.file WHERE status = 'loading'") == [(0,)]


def test_without_overlap_the_result_is_the_same(db, landing, monkeypatch):
    monkeypatch.setenv("MINEWATCH_OVERLAP", "0")
    for k in range(3):
        (landing / name(T0 + timedelta(seconds=10 * k))).write_bytes(cycle(T0 + timedelta(seconds=10 * k), 0.4))
    outcome = run_landing(landing.parent, detect=False)
    assert outcome.files["loaded"] == 4 and len(readings(db)) == 15


def test_a_bad_file_is_held_alone_while_other_batches_validate_alongside(db, landing, monkeypatch):
    # the first batch fails validation and is retried in halves on the committer's connection while the
    # main thread validates the next batch: each validation must see its own rows only
    monkeypatch.setenv("MINEWATCH_BATCH_MB", "0.002")
    for k in range(12):
        at = T0 + timedelta(seconds=10 * k)
        (landing / name(at)).write_bytes(cycle(at, round(0.1 * k, 1)))  # the first cycle reads all zero
    outcome = run_landing(landing.parent, detect=False)
    assert outcome.files["loaded"] == 12 and outcome.files["quarantined"] == 1
    failed = query(db, """SELECT v.file_ids, r.check_name FROM quality.validation v
                           JOIN quality.expectation_result r USING (validation_id) WHERE NOT r.success""")
    zero_file = query(db, f"SELECT file_id FROM ledger.file WHERE name = '{name(T0)}'")[0][0]
    assert failed == [([zero_file], "analog_not_all_zero")]


def _warehouse(db) -> dict:
    return {
        "readings": query(db, """SELECT point_code, sampled_at, value, raw_status, conditions, f.name, r.record_no
                                   FROM core.safety_reading r JOIN ledger.file f USING (file_id)
                                  ORDER BY point_code, sampled_at"""),
        "quarantine": query(db, """SELECT f.name, q.record_no, q.reason, q.detail, q.raw_text FROM quarantine.record q
                                     JOIN ledger.file f USING (file_id) ORDER BY f.name, q.record_no"""),
        "files": query(db, "SELECT name, status, rows_loaded, rows_rejected FROM ledger.file ORDER BY name"),
    }


@pytest.mark.parametrize("bulk", [True, False], ids=["read in bulk", "record by record"])
def test_a_batch_read_in_bulk_stores_what_record_by_record_reading_stores(db, landing, monkeypatch, bulk):
    if not bulk:
        monkeypatch.setattr(load, "BLOCK_FILES", 10**9)
    monkeypatch.setattr(load, "BLOCK_BYTES", 2500)  # read in groups of about three files
    read_in_bulk: list[int] = []
    real = load._parse_block

    def spy(batch, work, archive_dir):
        rest = real(batch, work, archive_dir)
        read_in_bulk.append(len(batch) - len(rest))
        return rest

    monkeypatch.setattr(load, "_parse_block", spy)
    for k in range(12):
        at = T0 + timedelta(seconds=10 * k)
        data = cycle(at, round(0.1 * k + 0.1, 1))
        if k == 4:  # a bad number: its record to quarantine, the rest of the file loads
            data = data.replace(f"{POINTS[2]};甲烷;回风巷;0.5;".encode(), f"{POINTS[2]};甲烷;回风巷;x5;".encode())
        if k == 7:  # line breaks after records, as some vendors write them
            data = data.replace(b"~", b"~\r\n")
        (landing / name(at)).write_bytes(data)
    outcome = run_landing(landing.parent, detect=False)
    assert outcome.files["loaded"] == 13 and outcome.rows_rejected == 1, outcome.problems
    assert read_in_bulk == ([11] if bulk else [])  # all but the file with the bad number
    stored = _warehouse(db)
    # the same rows either way, down to the record numbers and the quarantined record's reason and text
    expected = sorted((p, (T0 + timedelta(seconds=10 * k) - CN).replace(tzinfo=UTC), round(0.1 * k + 0.1, 1), 0, 0,
                       name(T0 + timedelta(seconds=10 * k)), i + 1)
                      for k in range(12) for i, p in enumerate(POINTS) if (k, i) != (4, 2))
    assert stored["readings"] == expected
    bad_line = f"{POINTS[2]};甲烷;回风巷;x5;%CH4;0;2026-03-18 08:00:40"
    assert stored["quarantine"] == [(name(T0 + timedelta(seconds=40)), 3, "bad_number", "value 'x5' is not a number",
                                     bad_line)]
    assert [status for _, status, _, _ in stored["files"]].count("loaded") == 13
    # group after group, the bulk-read rows went into the table cycle by cycle: the key's order (the file
    # read record by record comes after them)
    heap = query(db, f"""SELECT sampled_at, point_code FROM core.safety_reading_p20260318 r JOIN ledger.file f
                            USING (file_id) WHERE f.name <> '{name(T0 + timedelta(seconds=40))}' ORDER BY r.ctid""")
    assert heap == sorted(heap)


def test_a_large_load_leaves_fresh_statistics_for_detection(db, landing, monkeypatch):
    monkeypatch.setattr(pipeline, "ANALYZE_AFTER_ROWS", 50)
    for k in range(12):
        at = T0 + timedelta(seconds=10 * k)
        (landing / name(at)).write_bytes(cycle(at, 0.3))
    run_landing(landing.parent, detect=False)
    analyzed = query(db, """SELECT relname FROM pg_stat_user_tables
                             WHERE relname = 'safety_reading_p20260318' AND last_analyze IS NOT NULL""")
    assert analyzed == [("safety_reading_p20260318",)]
    assert query(db, "SELECT reltuples FROM pg_class WHERE relname = 'safety_reading_p20260318'") == [(60.0,)]


def test_files_are_archived_chunk_by_chunk_ahead_and_a_vanished_one_is_said_not_skipped(db, landing, monkeypatch):
    from minewatch.config import load_settings
    from minewatch.pipeline import ingest, landing_files

    monkeypatch.setattr(pipeline, "REGISTER_FILES", 2)  # six chunks: the archiver runs ahead of the loader
    for i in range(9):
        at = T0 + timedelta(seconds=10 * i)
        (landing / name(at)).write_bytes(cycle(at, 0.1 + i / 100))
    paths = landing_files(landing.parent)
    gone = paths[5]
    gone.unlink()  # listed, then taken away before it was read
    outcome = ingest(db, load_settings(), paths)
    assert outcome.files["unreadable"] == 1
    assert any(str(gone) in p and "cannot be read" in p for p in outcome.problems)
    assert outcome.files["loaded"] == 9
    assert query(db, "SELECT count(*) FROM core.safety_reading") == [(8 * len(POINTS),)]
    assert query(db, "SELECT count(*) FROM ledger.file") == [(9,)]


def test_a_failure_to_archive_reaches_the_loader_as_itself(tmp_path):
    blocked = tmp_path / "archive"
    blocked.write_text("a file where the archive's folder should be")
    source = tmp_path / "a.txt"
    source.write_bytes(b"x")
    archiver = pipeline.Archiver(blocked, [[source], [source]])
    try:
        with pytest.raises(OSError):
            archiver.take(0)
    finally:
        archiver.close()


def test_the_checker_process_answers_in_order_and_ends_cleanly_when_its_input_closes(db, landing):
    from minewatch.config import load_settings
    from minewatch.load import LoadPath, Outcome, archived, parse_files

    for i in range(2):
        at = T0 + timedelta(seconds=10 * i)
        (landing / name(at)).write_bytes(cycle(at, 0.1))
    settings = load_settings()
    path = LoadPath(db, settings)
    outcome = Outcome()
    deliveries = path.enter(archived(settings.archive_dir, sorted(landing.iterdir()), outcome), outcome)
    path.load_batch([d for d in deliveries if "CDDY" in d.path])  # the points' definitions first
    batches = [[d] for d in deliveries if "CDSS" in d.path]
    checker = pipeline.Checker(settings)
    try:
        works = [parse_files(b, settings.archive_dir) for b in batches]
        answers = [checker.submit(b, w) for b, w in zip(batches, works, strict=True)]
        verdicts = [a.result() for a in answers]
    finally:
        checker.close()
    assert [v.file_ids for v in verdicts] == [[b[0].file_id] for b in batches]  # one per job, in job order
    assert all(not v.failed("critical") and not v.held for v in verdicts)
    assert checker.proc.returncode == 0  # it ended by itself, not killed
    for w in works:
        w.close()
