"""The registry connector: CSV bytes to registry records and rejects, no database."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.base import FileContext, FileRejected
from connectors.registry import AreasStream, MetersStream, MinesStream, SealsStream
from schemas import Record, Reject

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "registry"


def read(stream, data: bytes, name: str = "x.csv"):
    items = list(stream.read(data, FileContext(name=name)))
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Reject)]


def test_areas_round_trip_with_bad_code_rejected():
    records, rejects = read(AreasStream(), (FIX / "areas.csv").read_bytes())
    assert len(records) == 7
    first = records[0]
    assert first.target == "registry_area"
    assert first.values == ("410403004688", "4104030046880001", "主井口", "shaft", False)
    sealed = next(r for r in records if r.values[3] == "sealed")
    assert sealed.values[2] == "己15-22100老采区（密闭）"
    assert records[2].values[4] is True
    assert [(r.record_no, r.reason) for r in rejects] == [(6, "bad_number")]
    assert "41040300468800XX" in rejects[0].raw
    assert "plus 4 digits" in rejects[0].detail


def test_gb18030_crlf_file_is_decoded():
    records, rejects = read(AreasStream(), (FIX / "areas_gbk.csv.txt").read_bytes())
    assert not rejects
    assert records[0].values[2] == "主井口"


def test_bom_and_reordered_columns_are_accepted():
    data = "\ufeffmine_code,status,mine_name,province,county,capacity_mtpa\n410403004688,producing,十矿,河南,,1.8\n"
    records, rejects = read(MinesStream(), data.encode("utf-8"))
    assert not rejects
    assert records[0].values == ("410403004688", "十矿", "河南", None, "producing", Decimal("1.8"))


def test_every_bad_value_has_its_reason():
    data = (
        "mine_code,mine_name,province,county,status,capacity_mtpa\n"
        "41040300,甲矿,河南,,producing,abc\n"
        "410403004688,乙矿,河南,,closed,1\n"
        "12AB,丙矿,河南,,producing,1\n"
        "410403004689,丁矿,河南,producing,1\n"
        "410403004690,戊矿,河南,,producing,2\n"
        "410403004690,戊矿,河南,,producing,2\n"
    ).encode()
    records, rejects = read(MinesStream(), data)
    assert [r.values[0] for r in records] == ["410403004690"]
    assert [(r.record_no, r.reason) for r in rejects] == [
        (1, "bad_number"), (2, "expectation_failed"), (3, "bad_number"), (4, "field_count"), (6, "duplicate_key"),
    ]


def test_area_of_another_mine_is_a_mine_mismatch():
    data = b"mine_code,seal_code,area_code,built_on,design_ref,camera_id\n410403004688,M-1,4104030046990001,2024-01-01,,\n"
    _, rejects = read(SealsStream(), data)
    assert rejects[0].reason == "mine_mismatch"


def test_seal_without_camera_keeps_null_and_dates_parse():
    records, rejects = read(SealsStream(), (FIX / "seals.csv").read_bytes())
    assert not rejects
    assert records[0].values[3] == date(2024, 5, 1)
    assert records[1].values[5] is None


def test_meter_multiplier_must_be_positive():
    data = b"mine_code,meter_id,usage_point,area_code,multiplier\n410403004688,E1,,4104030046880001,0\n"
    _, rejects = read(MetersStream(), data)
    assert rejects[0].reason == "bad_number"


def test_missing_column_rejects_the_whole_file():
    with pytest.raises(FileRejected) as exc:
        read(AreasStream(), b"mine_code,area_code,area_name\n1,2,3\n")
    assert exc.value.reason == "field_count"
    assert "kind" in exc.value.detail


def test_undecodable_bytes_are_bad_encoding():
    with pytest.raises(FileRejected) as exc:
        read(AreasStream(), b"mine_code,area_code\n\xff\xfe\xff\xfe\x80\x80\n")
    assert exc.value.reason == "bad_encoding"
