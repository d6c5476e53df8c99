"""Utility meters (contract E) through the one load path into a real PostgreSQL: ESPI and register
readings become energy per meter and interval, and energy per area and hour, as computed by hand."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from connectors.meter_registers import intervals_from_registers
from minewatch.pipeline import run_landing
from minewatch.status import status
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "meters"
CST = timezone(timedelta(hours=8))
MINE = "410403004688"
FACE, HEADING, SEALED, ROADWAY = (f"{MINE}{n}" for n in ("0007", "0008", "0009", "0002"))
UP = "https://utility.example/espi/1_1/resource/RetailCustomer/9/UsagePoint"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A China-local time in March 2026."""
    return datetime(2026, 3, day, hour, minute, tzinfo=CST)


def registry(landing: Path, meters: list[str]) -> None:
    """registry/mines.csv, areas.csv and meters.csv (meters: `meter_id,usage_point,area_code,multiplier` rows)."""
    reg = landing / "registry"
    reg.mkdir(parents=True, exist_ok=True)
    (reg / "mines.csv").write_text("mine_code,mine_name,province,county,status,capacity_mtpa\n"
                                   f"{MINE},平煤十矿,河南,平顶山,producing,1.8\n")
    (reg / "areas.csv").write_text(
        "mine_code,area_code,area_name,kind,declared_active\n"
        f"{MINE},{ROADWAY},东翼大巷,roadway,false\n{MINE},{FACE},己15-24080工作面,working_face,true\n"
        f"{MINE},{HEADING},己16-17200掘进,heading,true\n{MINE},{SEALED},己15-22100老采区（密闭）,sealed,false\n"
    )
    (reg / "meters.csv").write_text("mine_code,meter_id,usage_point,area_code,multiplier\n"
                                    + "".join(f"{MINE},{m}\n" for m in meters))


def readings(landing: Path, name: str, rows: list[tuple[str, datetime, str]]) -> None:
    """A register readings file (E.2)."""
    folder = landing / "meters"
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{m},{t.isoformat()},{v}\n" for m, t, v in rows)
    (folder / name).write_text("meter_id,read_at,import_kwh_register\n" + body)


def intervals(db, meter: str | None = None) -> list[tuple]:
    where = "WHERE meter_id = %s" if meter else ""
    return query(db, f"""SELECT meter_id, interval_start, interval_end, energy_kwh, quality, source
                           FROM core.meter_interval {where} ORDER BY meter_id, interval_start""",
                 (meter,) if meter else None)


def hourly(db, area: str) -> list[tuple]:
    """(hour start, energy, measured, spread, unknown seconds) of one area, kWh rounded to 6 places."""
    rows = query(db, """SELECT hour_start, round(energy_kwh, 6), round(measured_kwh, 6), round(spread_kwh, 6),
                               unknown_s::int
                          FROM core.area_energy_hourly WHERE mine_code = %s AND area_code = %s ORDER BY hour_start""",
                 (MINE, area))
    return [(h.astimezone(CST), *rest) for h, *rest in rows]


def held(db) -> list[tuple]:
    return query(db, """SELECT f.name, q.record_no, q.reason FROM quarantine.record q JOIN ledger.file f USING (file_id)
                         WHERE q.status = 'held' ORDER BY f.name, q.record_no""")


# ---------------------------------------------------------------- Green Button (E.1)


def test_espi_feed_with_three_usage_points_gives_kwh_per_interval(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing, [f"E-0701,{UP}/7001,{FACE},1",            # the full href
                       f"E-0901,7009,{SEALED},80",               # its last segment; the multiplier is E.2's only
                       f"E-1001,/espi/1_1/resource/RetailCustomer/9/UsagePoint/7010,{HEADING},40"])  # relative href
    (landing / "meters").mkdir()
    shutil.copy(FIX / "espi_three_usage_points.xml", landing / "meters")
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 4, outcome.problems

    assert intervals(db) == [
        # powerOfTenMultiplier -3 (mWh), 15-minute intervals
        ("E-0701", at(18, 0), at(18, 0, 15), Decimal("12.345678"), "measured", "espi"),
        ("E-0701", at(18, 0, 15), at(18, 0, 30), Decimal("0.2505"), "measured", "espi"),
        ("E-0701", at(18, 0, 30), at(18, 0, 45), Decimal("0"), "measured", "espi"),
        ("E-0701", at(18, 0, 45), at(18, 1), Decimal("9.000001"), "measured", "espi"),
        # powerOfTenMultiplier 1 (tens of Wh), hourly; the registry multiplier 80 does not apply
        ("E-0901", at(18, 0), at(18, 1), Decimal("52.3"), "measured", "espi"),
        ("E-0901", at(18, 1), at(18, 2), Decimal("49.87"), "measured", "espi"),
        # a delivered register (bulkQuantity): 48 236.5 - 48 211 kWh between the ends of the two periods
        ("E-1001", at(18, 0, 15), at(18, 0, 30), Decimal("25.5"), "measured", "espi"),
    ]
    assert query(db, "SELECT reading_quality FROM core.meter_interval WHERE meter_id = 'E-0701' ORDER BY 1") \
        == [(7,), (8,), (None,), (None,)]
    # the duplicate start and the received-energy reading are held; the rest is loaded
    assert held(db) == [("espi_three_usage_points.xml", 3, "duplicate_key"),
                        ("espi_three_usage_points.xml", 10, "unsupported_reading_type")]
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE kind = 'espi'") == [(8, 2)]
    # every interval walks back to its vendor record
    assert query(db, """SELECT f.name, i.record_no FROM core.meter_interval i JOIN ledger.file f USING (file_id)
                         WHERE i.meter_id = 'E-0901' ORDER BY i.interval_start""") \
        == [("espi_three_usage_points.xml", 6), ("espi_three_usage_points.xml", 7)]

    assert hourly(db, FACE) == [(at(18, 0), Decimal("21.596179"), Decimal("21.596179"), Decimal("0"), 0)]
    assert hourly(db, SEALED) == [(at(18, 0), Decimal("52.3"), Decimal("52.3"), Decimal("0"), 0),
                                  (at(18, 1), Decimal("49.87"), Decimal("49.87"), Decimal("0"), 0)]
    assert status(db)["rows"]["meter_intervals"] == 7


def test_hostile_xml_is_held_whole_and_loads_nothing(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing, [f"E-0701,{UP}/X,{FACE},1"])
    (landing / "meters").mkdir()
    names = ["hostile_billion_laughs.xml", "hostile_external_dtd.xml", "hostile_xxe_passwd.xml"]
    for name in names:
        shutil.copy(FIX / name, landing / "meters")
    outcome = run_landing(landing)
    assert outcome.files["quarantined"] == 3
    assert query(db, "SELECT status, count(*) FROM ledger.file WHERE kind = 'espi' GROUP BY 1") == [("quarantined", 3)]
    assert held(db) == [(name, None, "hostile_xml") for name in names]
    assert query(db, "SELECT count(*) FROM core.meter_espi_reading")[0][0] == 0
    assert query(db, "SELECT count(*) FROM core.meter_interval")[0][0] == 0


def espi_feed(updated: str, readings_7001: list[tuple[datetime, int]]) -> str:
    """A Green Button feed of usage point 7001 in mWh (a later export of the same account)."""
    blocks = "".join(
        f"<IntervalReading><timePeriod><duration>900</duration><start>{int(t.timestamp())}</start></timePeriod>"
        f"<value>{v}</value></IntervalReading>" for t, v in readings_7001)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:uuid:2</id><updated>{updated}</updated>
<entry><link rel="self" href="{UP}/7001"/><link rel="related" href="{UP}/7001/MeterReading"/>
  <content><UsagePoint xmlns="http://naesb.org/espi"/></content></entry>
<entry><link rel="self" href="{UP}/7001/MeterReading/01"/><link rel="up" href="{UP}/7001/MeterReading"/>
  <link rel="related" href="https://utility.example/espi/1_1/resource/ReadingType/A1"/>
  <content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>
<entry><link rel="self" href="https://utility.example/espi/1_1/resource/ReadingType/A1"/>
  <content><ReadingType xmlns="http://naesb.org/espi"><accumulationBehaviour>4</accumulationBehaviour>
  <flowDirection>1</flowDirection><intervalLength>900</intervalLength><powerOfTenMultiplier>-3</powerOfTenMultiplier>
  <uom>72</uom></ReadingType></content></entry>
<entry><link rel="self" href="{UP}/7001/MeterReading/01/IntervalBlock/2"/>
  <link rel="up" href="{UP}/7001/MeterReading/01/IntervalBlock"/>
  <content><IntervalBlock xmlns="http://naesb.org/espi">{blocks}</IntervalBlock></content></entry>
</feed>"""


def test_espi_interval_sent_again_later_is_stored_once_with_the_later_value(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing, [f"E-0701,{UP}/7001,{FACE},1"])
    (landing / "meters").mkdir()
    shutil.copy(FIX / "espi_three_usage_points.xml", landing / "meters")  # header time 2026-03-18T16:05Z
    run_landing(landing)
    # a later export corrects 00:15 and adds 01:00
    (landing / "meters" / "export_2.xml").write_text(
        espi_feed("2026-03-19T16:05:00Z", [(at(18, 0, 15), 300000), (at(18, 1), 4000000)]))
    run_landing(landing)
    # an older export (earlier header time) that arrives last changes nothing
    (landing / "meters" / "export_0.xml").write_text(espi_feed("2026-03-18T10:00:00Z", [(at(18, 0, 15), 999999)]))
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 1

    got = [(s, e) for _, s, _, e, _, _ in intervals(db, "E-0701")]
    assert got == [(at(18, 0), Decimal("12.345678")), (at(18, 0, 15), Decimal("0.3")), (at(18, 0, 30), Decimal("0")),
                   (at(18, 0, 45), Decimal("9.000001")), (at(18, 1), Decimal("4"))]
    assert query(db, """SELECT f.name, count(*) OVER () FROM core.meter_espi_reading e
                          JOIN ledger.file f USING (file_id)
                         WHERE e.usage_point_href = %s AND e.interval_start = %s""",
                 (f"{UP}/7001", at(18, 0, 15))) == [("export_2.xml", 1)]
    assert hourly(db, FACE)[0][1] == Decimal("21.645679")  # 12.345678 + 0.3 + 0 + 9.000001


def test_unknown_usage_point_is_held_and_bound_when_the_registry_lists_it(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing, [f"E-0701,{UP}/7001,{FACE},1"])
    (landing / "meters").mkdir()
    shutil.copy(FIX / "espi_nested_prefixed.xml", landing / "meters")
    run_landing(landing)
    name = "espi_nested_prefixed.xml"
    # MAIN-1 (records 1-3) and AUX-2 (record 6) are in no registry usage_point: kept, held, no energy
    assert held(db) == [(name, 1, "unknown_point"), (name, 2, "unknown_point"), (name, 3, "unknown_point"),
                        (name, 4, "bad_number"), (name, 5, "bad_number"), (name, 6, "unknown_point"),
                        (name, 7, "unknown_point")]
    assert query(db, "SELECT count(*) FROM core.meter_espi_reading WHERE mine_code IS NULL")[0][0] == 4
    assert intervals(db) == []
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE kind = 'espi'") == [(0, 7)]

    # the regulator registers the main feeder by the usage point's last segment
    registry(landing, [f"E-0701,{UP}/7001,{FACE},1", f"E-0801,MAIN-1,{HEADING},1"])
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 1  # meters.csv only: the XML is not read again

    assert intervals(db) == [  # powerOfTenMultiplier 3: values are kWh x 1000 Wh
        ("E-0801", at(18, 0), at(18, 0, 15), Decimal("2"), "measured", "espi"),
        ("E-0801", at(18, 0, 15), at(18, 0, 30), Decimal("3"), "measured", "espi"),
        ("E-0801", at(18, 0, 30), at(18, 0, 45), Decimal("1"), "measured", "espi"),
    ]
    assert [r for r in held(db) if r[2] == "unknown_point"] == [(name, 6, "unknown_point"), (name, 7, "unknown_point")]
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE kind = 'espi'") == [(3, 4)]
    assert hourly(db, HEADING) == [(at(18, 0), Decimal("6"), Decimal("6"), Decimal("0"), 0)]


# ---------------------------------------------------------------- register readings (E.2)


def test_register_readings_give_deltas_times_multiplier_with_gaps_and_resets(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing, [f"E-0701,,{FACE},1", f"E-0901,,{SEALED},80"])
    (landing / "meters").mkdir()
    shutil.copy(FIX / "meter_readings_20260318.csv", landing / "meters")
    outcome = run_landing(landing)
    assert outcome.files["loaded"] == 4, outcome.problems

    assert intervals(db, "E-0901") == [
        ("E-0901", at(18, 0), at(18, 0, 15), Decimal("100"), "measured", "register"),   # 1.25 x 80
        ("E-0901", at(18, 0, 15), at(18, 0, 30), Decimal("120"), "measured", "register"),  # 1.5 x 80
        ("E-0901", at(18, 0, 30), at(18, 1, 15), Decimal("320"), "gap_total", "register"),  # 4 x 80 over 45 minutes
        ("E-0901", at(18, 1, 15), at(18, 1, 30), Decimal("20"), "measured", "register"),
        ("E-0901", at(18, 1, 30), at(18, 1, 45), None, "reset", "register"),  # 1007.00 -> 0.40: never negative
        ("E-0901", at(18, 1, 45), at(18, 2), Decimal("40"), "measured", "register"),  # counts from the new register
    ]
    # E-0701 lost its 00:15 and 00:45 readings to quarantine: two gaps known only as totals
    assert intervals(db, "E-0701") == [
        ("E-0701", at(18, 0), at(18, 0, 30), Decimal("1.5"), "gap_total", "register"),
        ("E-0701", at(18, 0, 30), at(18, 1), Decimal("1.0"), "gap_total", "register"),
    ]
    # the SQL reproduces the reference derivation of connectors.meter_registers
    stored = query(db, "SELECT read_at, import_kwh_register FROM core.meter_register_reading WHERE meter_id = 'E-0901'")
    reference = [(i.start, i.end, i.energy_kwh, i.quality) for i in intervals_from_registers(stored, 80)]
    assert [(s, e, k, q) for _, s, e, k, q, _ in intervals(db, "E-0901")] == reference

    # hand computation: the gap's 320 kWh spread evenly, 30 of its 45 minutes in hour 00, 15 in hour 01
    assert hourly(db, SEALED) == [
        (at(18, 0), Decimal("433.333333"), Decimal("220"), Decimal("213.333333"), 0),  # 100 + 120 + 320 x 2/3
        # 320 / 3 + 20 + 40, and the reset's 15 minutes unknown
        (at(18, 1), Decimal("166.666667"), Decimal("60"), Decimal("106.666667"), 900),
    ]
    daily = query(db, """SELECT day, round(energy_kwh, 6), round(measured_kwh, 6), round(spread_kwh, 6), meters
                           FROM core.area_energy_daily WHERE area_code = %s""", (SEALED,))
    assert daily == [(at(18, 0).date(), Decimal("600"), Decimal("280"), Decimal("320"), 1)]
    assert hourly(db, FACE) == [(at(18, 0), Decimal("2.5"), Decimal("0"), Decimal("2.5"), 0)]


def test_late_earlier_file_rebuilds_intervals_and_later_value_wins_once(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing, [f"R-01,,{ROADWAY},80"])
    readings(landing, "meter_readings_20260319.csv",
             [("R-01", at(19, 0), "110"), ("R-01", at(19, 0, 15), "112"), ("R-01", at(19, 0, 30), "115"),
              ("X-99", at(19, 0), "7"), ("X-99", at(19, 0, 15), "9")])  # not registered (yet)
    run_landing(landing)
    got = [(s, k) for _, s, _, k, _, _ in intervals(db)]
    assert got == [(at(19, 0), Decimal("160")), (at(19, 0, 15), Decimal("240"))]
    assert held(db) == [("meter_readings_20260319.csv", 4, "unknown_point"),
                        ("meter_readings_20260319.csv", 5, "unknown_point")]

    # the day before arrives late; its copy of 00:00 loses to the later file (name stamp 0319 > 0318)
    readings(landing, "meter_readings_20260318.csv",
             [("R-01", at(18, 23, 30), "100"), ("R-01", at(18, 23, 45), "105"), ("R-01", at(19, 0), "120")])
    # a later file corrects 00:15
    readings(landing, "meter_readings_20260320.csv", [("R-01", at(19, 0, 15), "111")])
    run_landing(landing)
    assert intervals(db, "R-01") == [
        ("R-01", at(18, 23, 30), at(18, 23, 45), Decimal("400"), "measured", "register"),  # 5 x 80
        ("R-01", at(18, 23, 45), at(19, 0), Decimal("400"), "measured", "register"),  # across the two files
        ("R-01", at(19, 0), at(19, 0, 15), Decimal("80"), "measured", "register"),  # 111 - 110, corrected
        ("R-01", at(19, 0, 15), at(19, 0, 30), Decimal("320"), "measured", "register"),  # 115 - 111
    ]
    assert query(db, """SELECT f.name, r.import_kwh_register FROM core.meter_register_reading r
                          JOIN ledger.file f USING (file_id) WHERE r.meter_id = 'R-01' AND r.read_at IN (%s, %s)
                         ORDER BY r.read_at""", (at(19, 0), at(19, 0, 15))) \
        == [("meter_readings_20260319.csv", Decimal("110")), ("meter_readings_20260320.csv", Decimal("111"))]
    assert query(db, "SELECT count(*) FROM core.meter_interval WHERE interval_start = %s", (at(19, 0, 15),))[0][0] == 1
    # days are China-local: 23:30 and 23:45 on the 18th, the rest on the 19th
    assert query(db, "SELECT day, round(energy_kwh, 6) FROM core.area_energy_daily ORDER BY day") \
        == [(at(18, 0).date(), Decimal("800")), (at(19, 0).date(), Decimal("400"))]

    # the registry lists X-99: its held readings are bound and their interval built, with no new delivery
    registry(landing, [f"R-01,,{ROADWAY},80", f"X-99,,{SEALED},2"])
    run_landing(landing)
    assert intervals(db, "X-99") == [("X-99", at(19, 0), at(19, 0, 15), Decimal("4"), "measured", "register")]
    assert held(db) == []
    assert query(db, "SELECT rows_loaded, rows_rejected FROM ledger.file WHERE name = 'meter_readings_20260319.csv'") \
        == [(5, 0)]
    assert status(db)["rows"]["meter_intervals"] == 5


def test_where_espi_and_registers_overlap_the_utility_intervals_win(db, tmp_path):
    landing = tmp_path / "landing"
    registry(landing, [f"E-0701,{UP}/7001,{FACE},1"])
    (landing / "meters").mkdir()
    shutil.copy(FIX / "espi_three_usage_points.xml", landing / "meters")  # E-0701 from 00:00 to 01:00
    readings(landing, "meter_readings_20260318.csv",
             [("E-0701", at(18, 0), "100"), ("E-0701", at(18, 0, 30), "103"), ("E-0701", at(18, 1), "104"),
              ("E-0701", at(18, 1, 15), "105.5")])
    run_landing(landing)
    got = [(s, e, k, q, src) for _, s, e, k, q, src in intervals(db, "E-0701")]
    assert got == [
        (at(18, 0), at(18, 0, 15), Decimal("12.345678"), "measured", "espi"),
        (at(18, 0, 15), at(18, 0, 30), Decimal("0.2505"), "measured", "espi"),
        (at(18, 0, 30), at(18, 0, 45), Decimal("0"), "measured", "espi"),
        (at(18, 0, 45), at(18, 1), Decimal("9.000001"), "measured", "espi"),
        (at(18, 1), at(18, 1, 15), Decimal("1.5"), "measured", "register"),  # no ESPI interval here
    ]
