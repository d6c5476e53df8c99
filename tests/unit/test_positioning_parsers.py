"""Personnel positioning parsers (contract C.1 files, C.2 REST): bytes in, canonical values and rejects out."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from connectors.base import FileContext, FileIncomplete, FileRejected
from connectors.catalog import identify
from connectors.networking import CHINA_TZ
from connectors.positioning_files import CATALOG, FILE_PATTERN, STREAMS, RyssStream, RyxxStream, parse_track
from connectors.positioning_rest import PositionsPageStream, position_records, received_at
from schemas import SCHEMAS, FileInfo, Record, Reject
from schemas.positioning import ALL, OBSERVATIONS, TRACK_ITEMS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "positioning"
M, OTHER = "410403004688", "410403004689"
A3, A7 = M + "0003", M + "0007"
S11, S31, S32, S712 = M + "0001000001", M + "0003000001", M + "0003000002", M + "0007000012"


def t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)


def ctx_for(name: str) -> FileContext:
    kind, mine, stamp = identify(name)
    return FileContext(name=name, mine_code=mine, stamp=stamp)


def read(name: str, stream=None, data: bytes | None = None):
    kind = identify(name)[0]
    s = stream or STREAMS[kind]()
    return list(s.read(data if data is not None else (FIXTURES / name).read_bytes(), ctx_for(name)))


def records(items, target=None):
    """Records as dicts by column name."""
    return [
        dict(zip(SCHEMAS[it.target].column_names, it.values, strict=True))
        for it in items
        if isinstance(it, Record) and (target is None or it.target == target)
    ]


def rejects(items):
    return [(r.record_no, r.reason) for r in items if isinstance(r, Reject)]


def networking(header: str, recs: list[str]) -> bytes:
    return ("~\r\n".join([header, *recs]) + "~\r\n||").encode()


# ---------------------------------------------------------------- catalog and schemas


def test_streams_cover_the_c1_file_types_and_resolve_from_the_catalog_entries():
    assert sorted(STREAMS) == ["JZSS", "RYJZ", "RYQY", "RYSS", "RYXX"]
    for kind, (feed, phase, ref) in CATALOG.items():
        module, _, attr = ref.partition(":")
        cls = getattr(__import__(module, fromlist=[attr]), attr)
        assert cls is STREAMS[kind] and feed == "positioning" and cls.feed == "positioning"
        assert phase == (1 if kind in ("RYQY", "RYJZ", "RYXX") else 2)
    for name in sorted(p.name for p in FIXTURES.iterdir()):
        m = FILE_PATTERN.match(name)
        assert m and identify(name) == (m["kind"], m["mine"], datetime.strptime(m["stamp"], "%Y%m%d%H%M%S"))
    assert FILE_PATTERN.match("12345_RYSS_20260318080030.txt") is None  # mine codes are 6..20 digits


def test_schemas_are_registered_with_their_natural_keys():
    for s in ALL:
        assert SCHEMAS[s.name] is s
        assert set(s.key) <= set(s.column_names)
    assert OBSERVATIONS.key == ("mine_code", "card_code", "observed_at")
    assert "person_name" in SCHEMAS["positioning_persons"].column_names
    assert "birth_date" in SCHEMAS["positioning_persons"].column_names


# ---------------------------------------------------------------- RYQY areas


def test_ryqy_areas_map_type_words_and_reject_bad_codes():
    items = read(f"{M}_RYQY_20260318080000.txt")
    info = items[0]
    assert isinstance(info, FileInfo) and info.mine_code == M and info.extra["mine_name"] == "龙山煤矿"
    assert info.produced_at == t("2026-03-18 08:00:00") and info.produced_at.utcoffset().total_seconds() == 8 * 3600
    areas = {a["area_code"]: a for a in records(items)}
    assert {c: (a["area_type"], a["rated_persons"], a["area_name"]) for c, a in areas.items()} == {
        M + "0001": ("shaft_mouth", 200, "主井井口"),
        A3: ("key", 40, "15103综采工作面"),
        A7: ("restricted", 0, "北翼采空区密闭"),
        M + "0004": ("other", 80, "总回风巷"),
        M + "0005": ("other", 60, "中央变电所"),  # 其他区域, the variant spelling
        M + "0006": (None, 30, "15105掘进工作面"),  # a word outside C.1 is kept, typed NULL
    }
    assert areas[M + "0006"]["area_type_text"] == "采掘区域"
    assert all(a["snapshot_at"] == t("2026-03-18 08:00:00") for a in areas.values())
    assert rejects(items) == [(7, "mine_mismatch"), (8, "duplicate_key"), (9, "bad_number")]
    detail = next(r.detail for r in items if isinstance(r, Reject) and r.record_no == 7)
    assert OTHER in detail and M in detail


def test_ryqy_in_gb18030_reads_the_same_names():
    items = read(f"{M}_RYQY_20260319080000.txt")
    assert [(a["area_code"], a["area_type"], a["area_name"]) for a in records(items)] == [
        (M + "0001", "shaft_mouth", "主井井口"),
        (A7, "restricted", "北翼采空区密闭"),
    ]


# ---------------------------------------------------------------- RYJZ stations


def test_ryjz_one_line_file_gives_stations_with_their_area():
    data = (FIXTURES / f"{M}_RYJZ_20260318080000.txt").read_bytes()
    assert b"\n" not in data
    items = read(f"{M}_RYJZ_20260318080000.txt")
    st = records(items)
    assert [s["station_code"] for s in st] == [S11, S31, S32, S712]
    assert st[1] == {
        "mine_code": M, "station_code": S31, "snapshot_at": t("2026-03-18 08:00:00"), "area_code": A3,
        "station_name": "15103运输巷1号基站", "x": 38402345.10, "y": 3742345.60, "z": -452.3,
        "location": "15103运输巷口",
    }  # fmt: skip
    assert (st[3]["area_code"], st[3]["x"], st[3]["y"], st[3]["z"]) == (A7, None, None, None)
    assert rejects(items) == [(5, "bad_number"), (6, "mine_mismatch")]
    assert "+ 10 digits" in [r.detail for r in items if isinstance(r, Reject)][1]


# ---------------------------------------------------------------- RYXX persons


def test_ryxx_eight_part_header_and_persons():
    items = read(f"{M}_RYXX_20260318080000.txt")
    info = items[0]
    assert info.produced_at == t("2026-03-18 08:00:00")
    assert (info.extra["system_model"], info.extra["vendor"], info.extra["certificate_valid_until"]) == (
        "KJ236(A)", "北京龙软", "2027-06-30",
    )  # fmt: skip
    assert info.extra["reserved"] is None
    persons = records(items)
    assert persons[0] == {
        "mine_code": M, "card_code": M + "00123", "snapshot_at": t("2026-03-18 08:00:00"), "person_name": "张伟",
        "job": "采煤机司机", "title": "技术员", "team": "综采一队", "birth_date": date(1985, 4, 12),
        "education": "高中", "is_leader": False, "is_special": True,
    }  # fmt: skip
    assert persons[2]["is_leader"] is True and persons[2]["person_name"] == "王强"
    assert persons[3]["birth_date"] == date(1988, 7, 15) and persons[3]["title"] is None  # yyyyMMdd, empty title
    assert rejects(items) == [(5, "bad_time"), (6, "mine_mismatch")]


def test_ryxx_with_a_three_part_header_is_read_too():
    data = networking(f"{M};龙山煤矿;2026-03-18 08:00:00", [f"{M}00123;张伟;采煤机司机;;综采一队;1985-04-12;高中;0;1"])
    items = list(RyxxStream().read(data, ctx_for(f"{M}_RYXX_20260318080000.txt")))
    assert items[0].produced_at == t("2026-03-18 08:00:00")
    assert records(items)[0]["card_code"] == M + "00123"


def test_header_of_another_mine_rejects_the_file():
    data = networking(f"{OTHER};邻矿;2026-03-18 08:00:00", [])
    with pytest.raises(FileRejected) as err:
        list(STREAMS["RYQY"]().read(data, ctx_for(f"{M}_RYQY_20260318080000.txt")))
    assert err.value.reason == "mine_mismatch"


# ---------------------------------------------------------------- RYSS snapshots


def test_ryss_observations_round_trip_with_read_inputs():
    items = read(f"{M}_RYSS_20260318080030.txt")
    info = items[0]
    assert info.produced_at == t("2026-03-18 08:00:30")
    obs = records(items, OBSERVATIONS.name)
    assert [o["card_code"][-3:] for o in obs] == ["123", "124", "125", "126"]
    assert obs[0] == {
        "mine_code": M, "card_code": M + "00123", "observed_at": t("2026-03-18 08:00:30"), "source_kind": "RYSS",
        "person_name": "张伟", "in_mine_flag": 1, "entered_mine_at": t("2026-03-18 07:05:12"), "left_mine_at": None,
        "area_code": A3, "entered_area_at": t("2026-03-18 07:25:40"), "station_code": S32,
        "entered_station_at": t("2026-03-18 07:52:10"), "labour_org": "三八制", "distance_m": -35.5,
        "work_status": 0, "is_leader": False, "is_special": True, "track_items": 3,
        "last_track_station": S32, "last_track_at": t("2026-03-18 07:52:10"), "is_read": None,
    }  # fmt: skip
    assert obs[1]["work_status"] == 0 and obs[1]["distance_m"] == 12.0  # 正常
    assert obs[2]["work_status"] == 1 and obs[2]["area_code"] == A7 and obs[2]["is_leader"] is True  # 求救
    out = obs[3]  # out of the mine: empty place and track
    assert (out["in_mine_flag"], out["left_mine_at"], out["area_code"], out["station_code"]) == (
        2, t("2026-03-18 07:40:00"), None, None,
    )  # fmt: skip
    assert (out["distance_m"], out["track_items"], out["last_track_station"]) == (None, 0, None)
    assert all(o["observed_at"].utcoffset().total_seconds() == 8 * 3600 for o in obs)


def test_ryss_track_items_carry_station_area_and_snapshot():
    items = read(f"{M}_RYSS_20260318080030.txt")
    track = records(items, TRACK_ITEMS.name)
    first = [(r["station_code"], r["passed_at"], r["area_code"]) for r in track if r["card_code"] == M + "00123"]
    assert first == [
        (S11, t("2026-03-18 07:05:12"), M + "0001"),
        (S31, t("2026-03-18 07:25:40"), A3),
        (S32, t("2026-03-18 07:52:10"), A3),
    ]
    assert {r["observed_at"] for r in track} == {t("2026-03-18 08:00:30")}
    assert len(track) == 3 + 2 + 1
    # the record number of a track item is its RYSS record's
    assert {it.record_no for it in items if isinstance(it, Record) and it.target == TRACK_ITEMS.name} == {1, 2, 3}
    lean = read(f"{M}_RYSS_20260318080030.txt", RyssStream(track_items=False))
    assert records(lean, TRACK_ITEMS.name) == [] and len(records(lean, OBSERVATIONS.name)) == 4


def test_ryss_rejects_carry_the_right_reasons():
    items = read(f"{M}_RYSS_20260318080030.txt")
    assert rejects(items) == [
        (5, "bad_time"),  # entered_mine_at 25:61
        (6, "mine_mismatch"),  # a card of mine 410403004689
        (7, "field_count"),  # 14 fields
        (8, "time_outside_window"),  # station time 4.5 min after the upload
        (9, "duplicate_key"),  # card 123 twice in one snapshot
        (10, "bad_number"),  # work_status 报警
    ]
    by_no = {r.record_no: r for r in items if isinstance(r, Reject)}
    assert by_no[6].raw.startswith(OTHER + "00128;赵磊;")
    assert "14 fields, expected 15" in by_no[7].detail


def test_ryss_without_trailer_is_incomplete():
    with pytest.raises(FileIncomplete):
        read(f"{M}_RYSS_20260318080100.txt")


def test_ryss_with_the_trailer_appended_loads():
    data = (FIXTURES / f"{M}_RYSS_20260318080100.txt").read_bytes() + b"||"
    items = read(f"{M}_RYSS_20260318080100.txt", data=data)
    obs = records(items, OBSERVATIONS.name)
    assert [o["distance_m"] for o in obs] == [-33.0, 12.0] and rejects(items) == []


def test_track_parsing():
    assert parse_track(f"{S31}&2026-03-18 07:25:40，{S32}&2026-03-18 07:52:10,{S32}&2026-03-18 07:52:10,", M) == [
        (t("2026-03-18 07:25:40"), S31),
        (t("2026-03-18 07:52:10"), S32),
    ]
    bad = {
        f"{S31} 2026-03-18 07:25:40": "field_count",
        f"{OTHER}0003000001&2026-03-18 07:25:40": "mine_mismatch",
        f"{S31}&2026-03-18 7点25分": "bad_time",
        f"{S31}&": "bad_time",
    }
    for track, reason in bad.items():
        rec = f"{M}00123;张伟;1;;;{A3};;{S32};2026-03-18 07:52:10;三八制;1;0;0;1;{track}"
        data = networking(f"{M};龙山煤矿;2026-03-18 08:00:30", [rec])
        items = list(RyssStream().read(data, ctx_for(f"{M}_RYSS_20260318080030.txt")))
        assert rejects(items) == [(1, reason)], track


def test_ryss_latest_track_item_is_the_greatest_time():
    rec = (f"{M}00123;张伟;1;;;{A3};;{S32};;三八制;;0;0;1;"
           f"{S32}&2026-03-18 07:52:10,{S31}&2026-03-18 07:25:40")  # fmt: skip
    items = list(RyssStream().read(networking(f"{M};龙山煤矿;2026-03-18 08:00:30", [rec]),
                                   ctx_for(f"{M}_RYSS_20260318080030.txt")))  # fmt: skip
    (o,) = records(items, OBSERVATIONS.name)
    assert (o["last_track_station"], o["last_track_at"]) == (S32, t("2026-03-18 07:52:10"))
    assert (o["entered_station_at"], o["distance_m"], o["in_mine_flag"]) == (None, None, 1)


# ---------------------------------------------------------------- JZSS station state


def test_jzss_station_states():
    items = read(f"{M}_JZSS_20260318080100.txt")
    states = records(items)
    assert [(s["station_code"], s["area_code"], s["run_status"], s["power_status"]) for s in states] == [
        (S11, M + "0001", 0, 1), (S31, A3, 0, 1), (S32, A3, 1, 0), (S712, A7, 2, 2),
    ]  # fmt: skip
    assert {s["data_at"] for s in states} == {t("2026-03-18 08:00:00")}
    assert rejects(items) == [(5, "time_outside_window"), (6, "bad_number")]


# ---------------------------------------------------------------- C.2 REST onto the same records


def rest_item(card: str, area: str, station: str, at: str, in_mine, status) -> dict:
    return {"card": card, "area": area, "station": station, "read_at": at, "in_mine": in_mine, "status": status}


def test_rest_items_map_onto_the_ryss_records():
    ryss = {o["card_code"]: o for o in records(read(f"{M}_RYSS_20260318080030.txt"), OBSERVATIONS.name)}
    items = [
        rest_item(M + "00123", A3, S32, "2026-03-18T08:00:30+08:00", 1, 0),
        rest_item(M + "00124", A3, S32, "2026-03-18 08:00:30", "1", "正常"),  # no offset: China time
        rest_item(M + "00125", A7, S712, "2026-03-18T00:00:30Z", 1, 1),  # UTC
        {"card": M + "00126", "read_at": "2026-03-18T08:00:30+08:00", "in_mine": 2, "status": 0},
    ]
    rest = {o["card_code"]: o for o in records(position_records(M, items))}
    assert set(rest) == set(ryss)
    same = ("mine_code", "card_code", "observed_at", "in_mine_flag", "area_code", "station_code", "work_status")
    for card in rest:
        assert {k: rest[card][k] for k in same} == {k: ryss[card][k] for k in same}, card
        assert rest[card]["source_kind"] == "REST" and rest[card]["is_read"] is True
        assert rest[card]["person_name"] is None
    assert rest[M + "00125"]["observed_at"].tzinfo == CHINA_TZ


def test_rest_rejects_malformed_items():
    good = rest_item(M + "00123", A3, S32, "2026-03-18T08:00:30+08:00", 1, 0)
    items = [
        good,
        {**good, "read_at": "2026-03-18T25:00:00+08:00"},  # 2 bad_time
        {**good, "read_at": None},  # 3 bad_time
        {**good, "card": M + "0123"},  # 4 16 digits: mine_mismatch
        {**good, "card": OTHER + "00123"},  # 5 another mine
        {**good, "area": M + "00031"},  # 6 area of 17 digits
        {**good, "station": A3 + "00002"},  # 7 station of 21 digits
        {**good, "card": None},  # 8 field_count
        {**good, "in_mine": 3},  # 9 bad_number
        {**good, "status": True},  # 10 bad_number
        "not an object",  # 11 field_count
        dict(good),  # 12 duplicate_key
    ]
    out = list(position_records(M, items))
    assert rejects(out) == [
        (2, "bad_time"), (3, "bad_time"), (4, "mine_mismatch"), (5, "mine_mismatch"), (6, "mine_mismatch"),
        (7, "mine_mismatch"), (8, "field_count"), (9, "bad_number"), (10, "bad_number"), (11, "field_count"),
        (12, "duplicate_key"),
    ]  # fmt: skip
    assert [r.record_no for r in out if isinstance(r, Record)] == [1]
    raw = next(r.raw for r in out if isinstance(r, Reject) and r.record_no == 5)
    assert json.loads(raw)["card"] == OTHER + "00123"


def test_rest_page_stream_and_receive_time():
    page = {"items": [rest_item(M + "00123", A3, S32, "2026-03-18T08:00:30+08:00", 1, 0)], "next_page_token": None}
    out = list(PositionsPageStream().read(json.dumps(page).encode(), FileContext(name="p1.json", mine_code=M)))
    assert isinstance(out[0], FileInfo) and out[0].mine_code == M
    assert [r.values[:4] for r in out[1:]] == [(M, M + "00123", t("2026-03-18 08:00:30"), "REST")]
    with pytest.raises(FileRejected) as err:
        list(PositionsPageStream().read(b"<html>", FileContext(name="p1.json", mine_code=M)))
    assert err.value.reason == "bad_encoding"
    assert received_at({"read_at": "2026-03-18T08:00:30+08:00"}) == t("2026-03-18 08:00:30")
    assert received_at({"read_at": "2026-03-18T08:00:30+08:00", "received_at": "2026-03-18T08:02:00+08:00"}) == t(
        "2026-03-18 08:02:00"
    )
