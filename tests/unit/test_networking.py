"""The B.0 networking layout reader and its field helpers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import FileContext, FileIncomplete, FileRejected
from connectors.networking import (
    CHINA_TZ,
    NATIONAL_HEADER_PARTS,
    BadNumber,
    BadTime,
    count_detail,
    count_ok,
    integer,
    local_time,
    number,
    read_header,
    read_networking,
    smallint,
    status,
    window,
)

HEADER = "140211001234;山西某某煤业有限公司;2026-03-18 08:00:10"
RECORDS = [
    "14021100123401MN0001001A01;甲烷;15103综采工作面回风巷;0.52;%CH4;0;2026-03-18 08:00:00",
    "14021100123401KG1011001K01;馈电;15103综采工作面回风巷;1;;0;2026-03-18 08:00:00",
]


def build(sep: str = "\n", header: str = HEADER, records=RECORDS, trailer: str = "||") -> str:
    return sep.join([header + "~"] + [r + "~" for r in records]) + sep + trailer + sep


def parse(data: bytes):
    header, records = read_networking(data)
    return header, list(records)


EXPECTED = (
    ["140211001234", "山西某某煤业有限公司", "2026-03-18 08:00:10"],
    [(1, RECORDS[0].split(";"), RECORDS[0]), (2, RECORDS[1].split(";"), RECORDS[1])],
)


@pytest.mark.parametrize(
    "data",
    [
        build("\n").encode("utf-8"),
        build("\r\n").encode("utf-8"),
        build("").encode("utf-8"),  # one-line file, `||` right after the last `~`
        b"\xef\xbb\xbf" + build("\r\n").encode("utf-8"),
        build("\r\n").encode("gb18030"),
    ],
    ids=["lf", "crlf", "one-line", "bom", "gb18030"],
)
def test_layout_variants_read_the_same(data):
    assert parse(data) == EXPECTED


def test_empty_fields_keep_their_place():
    _, records = parse(build(records=["P1;;;;;;2026-03-18 08:00:00"]).encode())
    assert records[0][1] == ["P1", "", "", "", "", "", "2026-03-18 08:00:00"]


def test_blank_records_are_skipped_and_not_counted():
    text = HEADER + "~\n~\n" + RECORDS[0] + "~~\n" + RECORDS[1] + "~\n||"
    _, records = parse(text.encode())
    assert [r[0] for r in records] == [1, 2]
    assert records[1][2] == RECORDS[1]


def test_last_record_without_tilde_before_trailer_is_kept():
    text = HEADER + "~" + RECORDS[0] + "~" + RECORDS[1] + "||"
    _, records = parse(text.encode())
    assert [r[2] for r in records] == RECORDS


def test_missing_trailer_is_incomplete():
    with pytest.raises(FileIncomplete) as exc:
        read_networking(build(trailer="").encode())
    assert exc.value.reason == "truncated"
    with pytest.raises(FileIncomplete):
        read_networking(b"")
    with pytest.raises(FileIncomplete):  # cut inside the trailer
        read_networking(build(trailer="|").encode())


def test_trailer_only_has_no_header():
    with pytest.raises(FileRejected) as exc:
        read_networking(b"||\r\n")
    assert exc.value.reason == "field_count"


def test_undecodable_bytes_are_bad_encoding():
    with pytest.raises(FileRejected) as exc:
        read_networking(HEADER.encode() + b"~\xff\xfe\xff;1~||")
    assert exc.value.reason == "bad_encoding"


def test_header_with_national_parts_and_unknown_extras():
    fields = HEADER.split(";") + ["KJ95X", "煤矿安全监控系统", "某某科技", "2027-12-31", "V2.1", ""]
    info = read_header(fields, FileContext("f.txt", mine_code="140211001234"), NATIONAL_HEADER_PARTS)
    assert info.mine_code == "140211001234"
    assert info.produced_at == datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)
    assert info.produced_at.utcoffset() == timedelta(hours=8)
    assert info.extra == {
        "mine_name": "山西某某煤业有限公司",
        "system_model": "KJ95X",
        "system_name": "煤矿安全监控系统",
        "vendor": "某某科技",
        "certificate_valid_until": "2027-12-31",
        "header_extra": ["V2.1"],
    }


def test_header_optional_parts_may_be_absent_or_empty():
    info = read_header(HEADER.split(";") + ["", "x"], FileContext("f.txt"), NATIONAL_HEADER_PARTS)
    assert info.extra == {
        "mine_name": "山西某某煤业有限公司",
        "system_model": None,
        "system_name": "x",
        "vendor": None,
        "certificate_valid_until": None,
    }


def test_header_mine_must_match_file_name():
    with pytest.raises(FileRejected) as exc:
        read_header(HEADER.split(";"), FileContext("f.txt", mine_code="140211009999"))
    assert exc.value.reason == "mine_mismatch"


@pytest.mark.parametrize(
    "header,reason",
    [
        ("140211001234；山西某某煤业有限公司；2026-03-18 08:00:10", "field_count"),
        ("140211001234;山西某某煤业有限公司", "field_count"),
        ("140211001234;山西某某煤业有限公司;2026-03-18 08:00:61", "bad_time"),
        ("140211001234;山西某某煤业有限公司;", "bad_time"),
    ],
)
def test_bad_headers_reject_the_file(header, reason):
    with pytest.raises(FileRejected) as exc:
        read_header(header.split(";"), FileContext("f.txt", mine_code="140211001234"))
    assert exc.value.reason == reason


def test_field_count_tolerates_one_trailing_semicolon_only():
    assert count_ok(["a", "b"], 2)
    assert count_ok(["a", "b", ""], 2)
    assert not count_ok(["a", "b", "c"], 2)
    assert not count_ok(["a"], 2)
    raw = "P1;甲烷；回风巷;0.5;%CH4;0;2026-03-18 08:00:00"
    assert "full-width" in count_detail(raw.split(";"), 7, raw)


@pytest.mark.parametrize("text", ["", " ", "-9999", "-9999.0", "-9999.00"])
def test_no_value_numbers(text):
    assert number(text) is None
    assert integer(text) is None


@pytest.mark.parametrize("text,value", [("0.52", 0.52), ("12", 12.0), ("-3.5", -3.5), (" 1.25 ", 1.25), ("1e2", 100.0)])
def test_numbers(text, value):
    assert number(text) == value


@pytest.mark.parametrize("text", ["abc", "N/A", "0,52", "nan", "inf", "1_000", "0.5.2"])
def test_bad_numbers(text):
    with pytest.raises(BadNumber) as exc:
        number(text, "value")
    assert exc.value.reason == "bad_number"
    assert "value" in str(exc.value)


def test_integers_and_statuses():
    assert integer("3") == 3
    assert integer("3.0") == 3
    assert status("140") == 140
    assert status("") is None
    assert smallint("9") == 9
    for bad in ("3.5", "x", "1_0"):
        with pytest.raises(BadNumber):
            integer(bad)
    with pytest.raises(BadNumber):
        status("-1")
    with pytest.raises(BadNumber):
        status("4294967296")
    with pytest.raises(BadNumber):
        smallint("70000")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-03-18 08:00:10", datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)),
        ("2026-03-18T08:00:10", datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)),
        ("2026-03-18T08:00:10+08:00", datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)),
        ("2026-03-18T00:00:10Z", datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)),
        ("2026/03/18 08:00:10", datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)),
        ("2026-3-18 8:00:10", datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)),
        ("2026-03-18 08:00:10.500", datetime(2026, 3, 18, 8, 0, 10, 500000, tzinfo=CHINA_TZ)),
    ],
)
def test_times_are_china_time(text, expected):
    at = local_time(text)
    assert at == expected
    assert at.utcoffset() == timedelta(hours=8)


def test_utc_offset_times_are_the_same_instant():
    at = local_time("2026-03-18T00:00:10+00:00")
    assert at.astimezone(UTC) == datetime(2026, 3, 18, 0, 0, 10, tzinfo=UTC)
    assert at.hour == 8


@pytest.mark.parametrize(
    "text", ["2026-03-18 25:00:00", "2026-02-30 08:00:00", "2026-03-18", "08:00:10", "yesterday", "20260318080010"]
)
def test_bad_times(text):
    with pytest.raises(BadTime) as exc:
        local_time(text, "data_time")
    assert exc.value.reason == "bad_time"
    assert "data_time" in str(exc.value)


def test_empty_time_is_none():
    assert local_time("") is None
    assert local_time("  ") is None


def test_window_is_two_cycles_before_and_60s_after():
    up = datetime(2026, 3, 18, 8, 0, 10, tzinfo=CHINA_TZ)
    assert window(up, timedelta(seconds=60)) == (up - timedelta(seconds=120), up + timedelta(seconds=60))
    assert window(up, None) == (None, up + timedelta(seconds=60))


def test_a_few_thousand_records_parse_in_milliseconds():
    records = [
        f"14021100123401MN0001{i:06d};甲烷;回风巷;0.{i % 100:02d};%CH4;0;2026-03-18 08:00:00" for i in range(5000)
    ]
    data = build("\r\n", records=records).encode()
    start = time.perf_counter()
    header, it = read_networking(data)
    n = sum(1 for _ in it)
    elapsed = time.perf_counter() - start
    assert n == 5000
    assert elapsed < 0.5  # about 5 ms on one core; generous for slow CI
