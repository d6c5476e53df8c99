"""The fast parts of the load path do exactly what the plain ones would.

COPY text, spools read by another process, lines sorted for the COPY and taken back,
validation over a sample, validation in two threads.
"""

from __future__ import annotations

import io
import math
import pickle
import random
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import schemas.safety  # noqa: F401 - registers the safety schemas
from connectors.catalog import match
from minewatch import load, validation
from minewatch.load import DIRECT, Delivery, Seen, Spool, _copy_text, _WithoutLastColumn, line_encoder
from schemas import SCHEMAS, FileInfo

CN = timezone(timedelta(hours=8))
MINE = "140211001234"


def _values(rng: random.Random):
    """Values of every kind a connector yields, including the awkward ones."""
    return rng.choice([
        None, "", "plain", "tab\there", "new\nline", "back\\slash", "nul\x00", "甲烷", "\ud800", True, False, 0, -7,
        2**40, 0.0, -0.0, 1.5, 1e300, math.inf, Decimal("0.10"), datetime(2026, 3, 18, 8, 0, tzinfo=CN),
        datetime(2026, 3, 18, 0, 0, tzinfo=UTC), datetime(2026, 3, 18, 8, 0), date(2026, 3, 18),
        {"k": "v\t"}, [1, "a"],
    ])


@pytest.mark.parametrize("types", [
    ["text", "text", "timestamptz", "double precision", "integer", "smallint", "text"],
    ["date", "timestamp", "boolean", "bigint", "real", "numeric", "jsonb", "timestamp with time zone"],
])
def test_the_compiled_line_encoder_writes_what_copy_text_writes(types):
    encode = line_encoder(types)
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    for n in range(5000):
        values = tuple(_values(rng) for _ in types)
        if n % 97 == 0:
            values = values[:-1]  # a record of another width: written as given
        assert encode("12\t", n, values) == "12\t" + str(n) + "\t" + "\t".join(map(_copy_text, values)) + "\n"


def test_remembered_texts_keep_minus_zero_and_other_types_apart():
    encode = line_encoder(["double precision", "text"])
    assert encode("", 1, (0.0, "a")) == "1\t0.0\ta\n"
    assert encode("", 2, (-0.0, "a")) == "2\t-0.0\ta\n"
    assert encode("", 3, (1, None)) == "3\t1\t\\N\n"  # an int where a float is expected: as _copy_text writes it
    assert encode("", 4, (1.0, 1)) == "4\t1.0\t1\n"


def test_a_spool_is_handed_over_as_a_named_copy_which_its_maker_removes():
    import os

    spool = Spool()
    spool.write("1\t1\t", ("a", 1))
    assert spool.path is None  # nothing on disk until another process needs it
    path, rows = pickle.loads(pickle.dumps(spool.handed()))  # noqa: S301 - what crosses the process boundary
    other = Spool.reading(path, rows)
    assert other.rows == 1 and other.buf.tell() == len(b"1\t1\ta\t1\n")  # at its end, like a spool being written
    other.buf.seek(0)
    assert other.buf.read() == b"1\t1\ta\t1\n"
    other.close()
    assert os.path.exists(path)  # the reader leaves it
    assert spool.reader().read() == b"1\t1\ta\t1\n"  # the maker still has its own text, for the COPY
    spool.close()
    assert not os.path.exists(path)  # the maker removes it
    empty = Spool.reading(None, 5)  # rows the reader has another way (a bulk read's block): no text
    assert empty.rows == 5 and empty.buf.tell() == 0


def _two_file_block():
    import numpy as np

    from schemas import Block

    at = datetime(2026, 3, 18, 8, 0, tzinfo=CN)
    return Block("safety_readings", {0: None, 1: None}, np.array([0, 0, 1], dtype=np.int32),
                 np.array([1, 2, 1], dtype=np.int32),
                 ((np.zeros(3, dtype=np.int32), [MINE]), (np.array([0, 1, 0], dtype=np.int32), ["A", "B"]),
                  (np.zeros(3, dtype=np.int32), [at]), (np.array([0, 1, 2], dtype=np.int32), [0.5, None, 2.0]),
                  (np.zeros(3, dtype=np.int32), [0]), (np.zeros(3, dtype=np.int32), [0]),
                  (np.zeros(3, dtype=np.int32), ["national"])))


def test_a_spool_keeps_a_block_compact_and_reads_it_as_the_copy_text_of_its_rows_then_its_lines():
    block = _two_file_block()
    spool = Spool()
    spool.write_block(block, [70, 71])
    mark = spool.mark()
    spool.write("72\t1\t", (MINE, "C", datetime(2026, 3, 18, 8, 0, tzinfo=CN), 1.0, 0, 0, "national"))
    kept = spool.blocks[0][0]
    assert [kept.file_of.dtype.itemsize, *(codes.dtype.itemsize for codes, _ in kept.columns)] == [1] * 8
    time = "2026-03-18T08:00:00+08:00"
    lines = [f"70\t1\t{MINE}\tA\t{time}\t0.5\t0\t0\tnational", f"70\t2\t{MINE}\tB\t{time}\t\\N\t0\t0\tnational",
             f"71\t1\t{MINE}\tA\t{time}\t2.0\t0\t0\tnational", f"72\t1\t{MINE}\tC\t{time}\t1.0\t0\t0\tnational"]
    assert (spool.rows, spool.reader().read().decode()) == (4, "".join(f"{x}\n" for x in lines))
    source, got = spool.reader(["national"]), b""
    while piece := source.read(5):  # as the COPY reads it, in chunks, without the last column
        got += piece
    assert got.decode() == "".join(x.rsplit("\t", 1)[0] + "\n" for x in lines)
    with pytest.raises(ValueError):
        spool.write_block(block, [70, 71])  # after a text line: blocks come first
    spool.rewind_to(mark)  # a file's lines taken back; the block stays
    assert (spool.rows, spool.reader().read().decode().count("\n")) == (3, 3)
    with pytest.raises(ValueError):
        spool.rewind_to((0, 1))
    spool.rewind_to((0, 0))
    assert (spool.rows, spool.reader().read()) == (0, b"")
    spool.close()


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_the_last_column_is_stripped_on_the_way_to_copy_whatever_the_chunk(chunk):
    lines = [f"{i}\t{i}\t{'x' * (i % 50)}\tnational\n" for i in range(300)]
    lines[5] = "5\t5\tlast is csv\tcsv\n"
    source = _WithoutLastColumn(io.BytesIO("".join(lines).encode()), ["national", "csv"])
    out = b""
    while piece := source.read(chunk):
        out += piece
    assert out.decode() == "".join(line.rsplit("\t", 1)[0] + "\n" for line in lines)


def test_readings_are_spooled_cycle_by_cycle_and_a_file_can_be_taken_back():
    seen = Seen(SCHEMAS["safety_readings"].column_names, DIRECT["safety_readings"])
    t1, t2 = datetime(2026, 3, 18, 8, 0, 10, tzinfo=CN), datetime(2026, 3, 18, 8, 0, tzinfo=CN)
    for fid, at in ((1, t1), (2, t2), (3, t1)):  # file 3 re-sends file 1's cycle
        for p in ("B", "A"):
            seen.lines.setdefault((MINE, at), []).append(f"{fid}\t1\t{MINE}\t{p}\t...\n")
            seen.held += 1
    seen.forget("3\t")
    assert seen.held == 4
    spool = Spool()
    seen.write(spool)
    # the earlier cycle first (the key's order, mine then time), each as its file lists its points
    assert [line.split("\t")[:4:3] for line in spool.reader().read().decode().splitlines()] == [
        ["2", "B"], ["2", "A"], ["1", "B"], ["1", "A"]]
    assert seen.times == {t1, t2} and not seen.lines


def _readings(spool: Spool, file_id: int, n: int, value, conditions: int = 0) -> None:
    at = datetime(2026, 3, 18, 8, 0, tzinfo=CN)
    for i in range(1, n + 1):
        point, sampled = f"{MINE}01MN0001{i % 400:03d}A01", at + timedelta(seconds=10 * (i // 400))
        mask = conditions if i == n // 2 else 0
        spool.write(f"{file_id}\t{i}\t", (MINE, point, sampled, value(i), 0, mask, "national"))


class _Settings:
    validate = True


class _Path:
    settings = _Settings()
    accept_failed_expectations = False
    conn = None


def _batch(file_ids):
    m = match(f"{MINE}_CDSS_20260318080010.txt")
    return [Delivery(fid, f"/landing/{fid}.txt", "0" * 64, m) for fid in file_ids]


def test_an_exact_check_fails_on_a_sample_when_one_row_breaks_it(monkeypatch):
    monkeypatch.setattr(validation, "GX_ROWS", 500)
    spool = Spool()
    _readings(spool, 1, 20_000, lambda i: 0.1 + (i % 7) / 100, conditions=200)  # one mask outside 0..127
    verdict = validation.validate_batch(_Path(), _batch([1]), {"safety_readings": spool}, Spool(),
                                        {1: (20_000, 0, FileInfo(MINE, datetime(2026, 3, 18, 8, 0, tzinfo=CN)))})
    failed = [c.check for _, c in verdict.failed("critical")]
    assert failed == ["conditions_known"]
    run = next(r for r in verdict.runs if r.suite == "safety.safety_readings")
    assert run.rows == 20_000  # recorded as the batch's rows; GX saw a sample of about 500 and the bad one
    check = next(c for c in run.checks if c.check == "conditions_known")
    assert check.unexpected_count == 1 and check.element_count < 1000


def test_validations_in_two_threads_see_their_own_rows():
    def batch(file_ids, zero):
        spool = Spool()
        for fid in file_ids:
            _readings(spool, fid, 40, (lambda i: 0.0) if fid == zero else (lambda i: 0.2))
        at = datetime(2026, 3, 18, 8, 0, tzinfo=CN)
        return _batch(file_ids), {"safety_readings": spool}, {fid: (40, 0, FileInfo(MINE, at)) for fid in file_ids}

    results: dict[str, list] = {"good": [], "bad": []}

    def run(label, file_ids, zero):
        b, spools, parsed = batch(file_ids, zero)
        for _ in range(15):
            try:
                verdict = validation.validate_batch(_Path(), b, spools, Spool(), parsed)
                results[label].append(verdict.outcome)
            except validation.ValidationFailed as exc:
                results[label].append(str(exc))

    threads = [threading.Thread(target=run, args=("good", [1, 2], None)),
               threading.Thread(target=run, args=("bad", [3, 4, 5], 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results["good"]) == {"passed"}
    assert len(set(results["bad"])) == 1 and "(1 of 3 files)" in results["bad"][0]


def test_examples_of_a_failed_check_come_in_file_order_whatever_the_spool_order():
    spool = Spool()  # spooled by point, as the load path does for readings: file 2 before file 1
    at = datetime(2026, 3, 18, 8, 0, tzinfo=CN)
    for p in range(6, 0, -1):  # points in reverse record order, file 2 before file 1
        for fid in (2, 1):
            spool.write(f"{fid}\t{p}\t", (MINE, f"{MINE}01MN0001{p:03d}A01", at, 0.0, 0, 0, "national"))
    b = _batch([1, 2])
    parsed = {fid: (6, 0, FileInfo(MINE, datetime(2026, 3, 18, 8, 0, 10, tzinfo=CN))) for fid in (1, 2)}
    with pytest.raises(validation.ValidationFailed):
        validation.validate_batch(_Path(), b, {"safety_readings": spool}, Spool(), parsed)
    verdict = validation.validate_batch(_Path(), b[:1], {"safety_readings": spool}, Spool(), {1: parsed[1]})
    ((_, check),) = verdict.failed("critical")
    assert check.check == "analog_not_all_zero"
    assert [(s["file_id"], s["record_no"]) for s in check.sample] == [(1, 1), (1, 2), (1, 3)]


def test_direct_targets_drop_only_their_last_column():
    for target, direct in DIRECT.items():
        names = SCHEMAS[target].column_names
        assert names[-1] == direct.dropped
        assert {*direct.scope, direct.time} <= set(names)
    assert load.COPY_CHUNK >= 64 * 1024


def test_an_archive_copy_that_changed_on_disk_is_refused(tmp_path):
    from minewatch import archive

    sha, place = archive.store(tmp_path, b"410403004688;x;2026-03-18 08:00:00~||", durable=False)
    assert archive.fetch(tmp_path, sha).endswith(b"||")  # written by this process: read back as is
    archive._STORED.clear()  # a later run: the copy is checked against its name
    place.write_bytes(b"410403004688;y;2026-03-18 08:00:00~||")
    with pytest.raises(OSError, match="corrupt"):
        archive.fetch(tmp_path, sha)
