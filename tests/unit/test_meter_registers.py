"""Register readings (E.2): the parser's readings and rejects, and the reference interval derivation."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.catalog import stream_for

from connectors import meter_registers
from connectors.base import FileContext, FileRejected
from connectors.meter_registers import MeterInterval, MeterReadingsStream, intervals_from_registers
from schemas import Record, Reject

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "meters"
CST = timezone(timedelta(hours=8))
NAME = "meter_readings_20260318.csv"


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 3, 18, hh, mm, tzinfo=CST)


def read(data: bytes):
    items = list(MeterReadingsStream().read(data, FileContext(name=NAME)))
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Reject)]


# ---------------------------------------------------------------- the parser


def test_readings_are_emitted_as_sent_with_aware_times():
    records, _ = read((FIX / NAME).read_bytes())
    assert all(r.target == "meter_register_readings" for r in records)
    e0901 = [r.values for r in records if r.values[0] == "E-0901"]
    assert e0901 == [
        ("E-0901", at(0, 0), Decimal("1000.00")),
        ("E-0901", at(0, 15), Decimal("1001.25")),
        ("E-0901", at(0, 30), Decimal("1002.75")),  # no offset: China time
        ("E-0901", at(1, 15), Decimal("1006.75")),
        ("E-0901", at(1, 30), Decimal("1007.00")),  # 17:30Z
        ("E-0901", at(1, 45), Decimal("0.40")),
        ("E-0901", at(2, 0), Decimal("0.90")),
    ]
    assert all(v[1].utcoffset() == timedelta(hours=8) for v in e0901)
    assert [r.record_no for r in records if r.values[0] == "E-0701"] == [8, 11, 16]


def test_bad_lines_are_rejected_with_their_reason():
    _, rejects = read((FIX / NAME).read_bytes())
    assert [(r.record_no, r.reason) for r in rejects] == [
        (9, "bad_number"),
        (10, "bad_time"),
        (12, "duplicate_key"),  # 16:30Z is 00:30 China time, already on line 11
        (13, "bad_number"),
        (14, "field_count"),
        (15, "field_count"),
    ]
    assert rejects[0].raw == "E-0701,2026-03-18T00:15:00+08:00,abc"
    assert "line 11" in rejects[2].detail
    assert "negative" in rejects[3].detail
    assert "meter_id is empty" in rejects[4].detail


def test_gb18030_and_bom_files_are_decoded():
    text = "meter_id,read_at,import_kwh_register\r\n电表-01,2026-03-18 00:15:00,12.5\r\n"
    for data in (text.encode("gb18030"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        records, rejects = read(data)
        assert not rejects
        assert records[0].values == ("电表-01", at(0, 15), Decimal("12.5"))


def test_missing_column_rejects_the_file():
    with pytest.raises(FileRejected) as exc:
        read(b"meter_id,read_at,value\nE-1,2026-03-18T00:00:00+08:00,1\n")
    assert exc.value.reason == "field_count"
    assert "import_kwh_register" in exc.value.detail


def test_match_maps_the_daily_name_to_the_stream():
    cls, ctx = stream_for(NAME)
    assert cls is MeterReadingsStream
    assert ctx.stamp == datetime(2026, 3, 18) and ctx.mine_code is None
    assert stream_for("meter_readings_20261318.csv") is None
    assert stream_for("410403004688_meter_readings_20260318.csv") is None
    assert meter_registers.STREAMS == {"meter_readings": MeterReadingsStream}


# ---------------------------------------------------------------- the reference derivation


def test_fixture_meter_deltas_multiplier_gap_and_reset():
    records, _ = read((FIX / NAME).read_bytes())
    readings = [(v[1], v[2]) for r in records if (v := r.values)[0] == "E-0901"]
    assert list(intervals_from_registers(readings, Decimal(80))) == [
        MeterInterval(at(0, 0), at(0, 15), Decimal("100.00"), "measured"),
        MeterInterval(at(0, 15), at(0, 30), Decimal("120.00"), "measured"),
        MeterInterval(at(0, 30), at(1, 15), Decimal("320.00"), "gap_total"),  # 00:45 and 01:00 missing
        MeterInterval(at(1, 15), at(1, 30), Decimal("20.00"), "measured"),
        MeterInterval(at(1, 30), at(1, 45), None, "reset"),  # meter replaced: no negative energy
        MeterInterval(at(1, 45), at(2, 0), Decimal("40.00"), "measured"),  # counts on from the new register
    ]


def test_multiplier_one_and_zero_consumption():
    readings = [(at(0, 0), "5.5"), (at(0, 15), "5.5"), (at(0, 30), "6.0")]
    assert [(i.energy_kwh, i.quality) for i in intervals_from_registers(readings, 1)] == [
        (Decimal("0.0"), "measured"), (Decimal("0.5"), "measured"),
    ]


def test_order_jitter_and_replacement_of_a_repeated_time():
    readings = [
        (at(0, 30) + timedelta(seconds=4), Decimal("12")),
        (at(0, 0), Decimal("10")),
        (at(0, 15) - timedelta(seconds=7), Decimal("10.5")),
        (at(0, 0), Decimal("9")),  # a later delivery of 00:00 replaces the earlier one
    ]
    got = list(intervals_from_registers(readings, "2"))
    assert [(i.start, i.end, i.energy_kwh, i.quality) for i in got] == [
        (at(0, 0), at(0, 15) - timedelta(seconds=7), Decimal("3.0"), "measured"),
        (at(0, 15) - timedelta(seconds=7), at(0, 30) + timedelta(seconds=4), Decimal("3.0"), "measured"),
    ]


def test_gap_is_one_interval_never_spread_over_invented_steps():
    readings = [(at(0, 0), Decimal(100)), (at(3, 0), Decimal(124))]
    assert list(intervals_from_registers(readings, 10)) == [
        MeterInterval(at(0, 0), at(3, 0), Decimal(240), "gap_total"),
    ]
    # hourly meters: one hour is the expected step, not a gap
    hourly = list(intervals_from_registers(readings[:1] + [(at(1, 0), Decimal(101))], 1, timedelta(hours=1)))
    assert hourly == [MeterInterval(at(0, 0), at(1, 0), Decimal(1), "measured")]


def test_reset_across_a_gap_is_a_reset_and_a_lone_reading_opens_nothing():
    readings = [(at(0, 0), Decimal("99999.9")), (at(1, 0), Decimal("0.3")), (at(1, 15), Decimal("1.3"))]
    assert [(i.energy_kwh, i.quality) for i in intervals_from_registers(readings, 80)] == [
        (None, "reset"), (Decimal("80.0"), "measured"),
    ]
    assert list(intervals_from_registers([(at(0, 0), Decimal(1))], 80)) == []
