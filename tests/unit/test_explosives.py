"""The explosives ledger connector (F.1): CSV bytes to issue records and rejects, no database."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.catalog import stream_for

from connectors import explosives
from connectors.base import FileContext, FileRejected
from connectors.explosives import ExplosivesStream
from schemas import FileInfo, Record, Reject
from schemas.explosives import EXPLOSIVES_ISSUES

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "explosives"
NAME = "410403004688_explosives_20260318.csv"
CST = timezone(timedelta(hours=8))


def read(data: bytes, name: str = NAME):
    cls, ctx = stream_for(name)
    items = list(cls().read(data, ctx))
    assert isinstance(items[0], FileInfo)
    return items[0], [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Reject)]


def test_issues_carry_issued_returned_and_net_use():
    info, records, _ = read((FIX / NAME).read_bytes())
    assert info.mine_code == "410403004688"
    assert all(r.target == "explosives_issues" for r in records)
    rows = [dict(zip(EXPLOSIVES_ISSUES.column_names, r.values, strict=True)) for r in records]
    assert rows[0] == {
        "mine_code": "410403004688",
        "record_id": "HG20260318001",
        "issued_at": datetime(2026, 3, 18, 0, 25, 10, tzinfo=CST),
        "area_code": "4104030046880007",
        "explosive_kg": Decimal("24.0"),
        "detonators": 38,
        "returned_kg": Decimal("1.5"),
        "returned_detonators": 2,
        "net_kg": Decimal("22.5"),
        "net_detonators": 36,
    }
    # nothing returned: net use is the issue; a time without offset is China time
    assert (rows[1]["issued_at"], rows[1]["returned_kg"], rows[1]["net_kg"], rows[1]["net_detonators"]) == (
        datetime(2026, 3, 18, 8, 31, tzinfo=CST), None, Decimal("18.5"), 30,
    )
    # an area the registry may not know is kept as evidence; detonators only is an issue too
    assert (rows[2]["area_code"], rows[2]["net_kg"], rows[2]["net_detonators"]) == ("4104030046880099", 0, 20)
    assert [r.record_no for r in records] == [1, 2, 8]


def test_bad_lines_are_rejected_with_their_reason():
    _, _, rejects = read((FIX / NAME).read_bytes())
    assert [(r.record_no, r.reason) for r in rejects] == [
        (3, "bad_number"),  # returned 14.0 kg of 12.0 issued
        (4, "duplicate_key"),
        (5, "bad_time"),
        (6, "mine_mismatch"),
        (7, "bad_number"),  # 12.5 detonators
        (9, "bad_number"),  # negative kg
        (10, "bad_number"),  # 13 detonators returned of 12
        (11, "field_count"),
    ]
    assert "more than issued" in rejects[0].detail
    assert "line 1" in rejects[1].detail
    assert rejects[2].raw.startswith("HG20260318004,2026-03-18T25:70:00")
    assert "whole number" in rejects[4].detail


def test_bom_and_gb18030_and_empty_issue():
    text = ("record_id,issued_at,area_code,explosive_kg,detonators,returned_kg,returned_detonators\r\n"
            "领-001,2026-03-18T08:00:00+08:00,4104030046880007,10,16,0,0\r\n"
            "领-002,2026-03-18T08:05:00+08:00,4104030046880007,,,,\r\n"
            "领-003,2026-03-18T08:10:00+08:00,,10,16,0,0\r\n")
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("gb18030")):
        _, records, rejects = read(data)
        assert [r.values[1] for r in records] == ["领-001"]
        assert [(r.record_no, r.reason) for r in rejects] == [(2, "bad_number"), (3, "field_count")]


def test_missing_column_rejects_the_file():
    with pytest.raises(FileRejected) as exc:
        read(b"record_id,issued_at,area_code,explosive_kg,detonators\n")
    assert exc.value.reason == "field_count"


def test_match_maps_the_daily_name_to_the_stream():
    cls, ctx = stream_for(NAME)
    assert cls is ExplosivesStream
    assert (ctx.mine_code, ctx.stamp) == ("410403004688", datetime(2026, 3, 18))
    assert stream_for("14021100123_explosives_20260318.csv")[1].mine_code == "14021100123"
    assert stream_for("12345_explosives_20260318.csv") is None  # 5 digits
    assert stream_for("410403004688_explosives_20260332.csv") is None
    assert explosives.STREAMS == {"explosives": ExplosivesStream}


def test_a_file_read_without_its_mine_code_is_refused_clearly():
    with pytest.raises(FileRejected) as exc:
        list(ExplosivesStream().read(b"record_id,issued_at,area_code,explosive_kg,detonators,returned_kg,"
                                     b"returned_detonators\n", FileContext(name="ledger.csv")))
    assert exc.value.reason == "mine_mismatch"
