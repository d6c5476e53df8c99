"""Safety monitoring parsers (contract B.1 to B.6): bytes in, canonical values and rejects out."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import FileContext, FileIncomplete, FileRejected
from connectors.national_safety import CdssStream, YcbjStream, split_point_code
from connectors.networking import CHINA_TZ
from connectors.provincial_safety import AqssStream
from connectors.safety_catalog import STREAMS, match
from connectors.safety_codes import (
    ABNORMAL_TYPES,
    CONDITIONS,
    condition_names,
    conditions_mask,
    national_conditions,
    provincial_conditions,
    sensor_type,
)
from schemas import SCHEMAS, FileInfo, Record, Reject
from schemas.safety import ALL

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "safety"
M, PM = "140211001234", "14021100123"
P1, P2, P3 = M + "01MN0001001A01", M + "01MN0004001A02", M + "01MN0012001A03"
P4, P5, P6, P7 = M + "01KG1011001K01", M + "01MN0099001A05", M + "02MN0023002G01", M + "01MN0002001A07"
LOC1 = "15103综采工作面回风巷"


def t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)


def read(name: str, stream=None):
    found = match(name)
    assert found is not None, name
    cls, ctx = found
    return list((stream or cls()).read((FIXTURES / name).read_bytes(), ctx))


def records(items, target=None):
    """Records as dicts by column name."""
    out = []
    for it in items:
        if isinstance(it, Record) and (target is None or it.target == target):
            out.append(dict(zip(SCHEMAS[it.target].column_names, it.values, strict=True)))
    return out


def rejects(items):
    return [(r.record_no, r.reason) for r in items if isinstance(r, Reject)]


# ---------------------------------------------------------------- catalog and schemas


def test_catalog_knows_every_safety_file_type():
    assert set(STREAMS) == {
        "CDDY",
        "CDSS",
        "TJSJ",
        "YCBJ",
        "FZDY",
        "FZSS",
        "AQMC",
        "AQKC",
        "AQSS",
        "AQKD",
        "AQMT",
        "safety",
    }
    cls, ctx = match("140211001234_CDSS_20260318080010.txt")
    assert cls is CdssStream
    assert ctx == FileContext("140211001234_CDSS_20260318080010.txt", "140211001234", datetime(2026, 3, 18, 8, 0, 10))
    cls, ctx = match("14021100123_AQSS_20260318080010.TXT")
    assert cls is AqssStream and ctx.mine_code == "14021100123"
    cls, ctx = match("140211001234_safety_20260318.csv")
    assert cls is STREAMS["safety"] and ctx.stamp == datetime(2026, 3, 18)


@pytest.mark.parametrize(
    "name",
    [
        "12345_CDSS_20260318080010.txt",  # mine too short
        "140211001234_RYSS_20260318080010.txt",  # positioning, not safety
        "140211001234_CDSS_20261318080010.txt",  # no 13th month
        "140211001234_CDSS_20260318080010.txt.part",
        "１４０２１１００１２３４_CDSS_20260318080010.txt",  # full-width digits
        "140211001234_video_20260318.csv",
    ],
)
def test_catalog_ignores_other_names(name):
    assert match(name) is None


def test_every_fixture_yields_values_of_its_schema_types():
    py_types = {
        "text": str,
        "double precision": float,
        "integer": int,
        "smallint": int,
        "boolean": bool,
        "timestamptz": datetime,
    }
    seen_targets = set()
    for path in sorted(FIXTURES.iterdir()):
        cls, ctx = match(path.name)
        try:
            items = list(cls().read(path.read_bytes(), ctx))
        except FileRejected:
            continue
        assert isinstance(items[0], FileInfo)
        for it in items[1:]:
            assert isinstance(it, (Record, Reject))
            if isinstance(it, Reject):
                continue
            schema = SCHEMAS[it.target]
            assert schema in cls.outputs
            seen_targets.add(it.target)
            assert len(it.values) == len(schema.columns), (path.name, it)
            for col, v in zip(schema.columns, it.values, strict=True):
                if v is None:
                    assert col.name not in schema.key, (path.name, col.name)
                    continue
                assert type(v) is py_types[col.pg_type] or (col.pg_type == "double precision" and type(v) is int), (
                    path.name, col.name, v)  # fmt: skip
                if isinstance(v, datetime):
                    assert v.utcoffset() == timedelta(hours=8), (path.name, col.name, v)
    assert seen_targets == {s.name for s in ALL}


def test_schemas_declare_keys_from_their_columns():
    for s in ALL:
        assert set(s.key) <= set(s.column_names)
        assert s.description
    assert SCHEMAS["safety_readings"].column_names == (
        "mine_code", "point_code", "sampled_at", "value", "raw_status", "conditions", "dialect")  # fmt: skip
    assert SCHEMAS["safety_abnormal_events"].key == ("mine_code", "point_code", "abnormal_type", "started_at")


# ---------------------------------------------------------------- codes


def test_point_code_decomposition():
    assert split_point_code("41040300468802MN0023011A08") == ("410403004688", "02", "MN", "0023", "011A08")
    assert split_point_code(P4, M) == (M, "01", "KG", "1011", "001K01")
    assert split_point_code("001A03") is None
    assert split_point_code(M + "01XX0001001A01") is None


@pytest.mark.parametrize(
    "code,quantity,unit,kind,known",
    [
        ("0001", "methane", "%CH4", "analog", True),
        ("1", "methane", "%CH4", "analog", True),
        ("0004", "carbon_monoxide", "ppm", "analog", True),
        ("0019", "air_volume", "m³/min", "analog", True),
        ("1011", "feed_sensor", None, "switch", True),
        ("0023", None, None, "analog", True),
        ("1013", None, None, "switch", True),
        ("3002", None, None, "cumulative", True),
        ("4001", None, None, "outstation", True),
        ("0099", None, None, "unknown", False),
        ("X1", None, None, "unknown", False),
    ],
)
def test_sensor_types(code, quantity, unit, kind, known):
    st = sensor_type(code)
    assert (st.quantity, st.unit, st.kind, st.known) == (quantity, unit, kind, known)


# same situation: (national B.5 status, provincial B.6 status, named conditions)
SITUATIONS = [
    (0, 0, ()),
    (1, 1, ("alarm",)),
    (3, 3, ("alarm", "power_cut")),
    (5, 17, ("alarm", "calibrating")),
    (8, 32, ("over_range",)),
    (16, 8, ("fault",)),
    (128, 8, ("fault",)),
    (144, 8, ("fault",)),
    (32, 64, ("switched_off",)),
    (64, 64, ("switched_off",)),
    (96, 64, ("switched_off",)),
    (140, 56, ("fault", "calibrating", "over_range")),
    (35, 67, ("alarm", "power_cut", "switched_off")),
]


@pytest.mark.parametrize("national,provincial,names", SITUATIONS)
def test_status_bits_map_to_one_set_of_conditions(national, provincial, names):
    assert condition_names(national_conditions(national)) == names
    assert condition_names(provincial_conditions(provincial)) == names
    assert national_conditions(national) == provincial_conditions(provincial) == conditions_mask(names)


def test_condition_helpers():
    assert national_conditions(None) is None and provincial_conditions(None) is None
    assert condition_names(provincial_conditions(4)) == ("feed_abnormal",)
    assert condition_names(sum(CONDITIONS.values())) == tuple(CONDITIONS)
    assert national_conditions(256) == 0  # undefined bit: raw status keeps it, no condition
    assert ABNORMAL_TYPES["007"] == ("calibrating", CONDITIONS["calibrating"])


def test_national_and_provincial_records_of_the_same_situation_agree():
    """Alarm + power cut, calibrating over range, a faulty sensor and a switched-off point, in both dialects."""
    head = "2026-03-18 08:00:10"
    national = (
        f"{M};某矿;{head}~"
        f"{P1};甲烷;{LOC1};1.6;%CH4;3;{head}~"
        f"{P2};一氧化碳;{LOC1};600;ppm;12;{head}~"
        f"{P3};氧气;{LOC1};0;%O2;128;{head}~"
        f"{P7};风速;{LOC1};0;m/s;64;{head}~||"
    ).encode()
    provincial = (f"{PM};某矿;{head}~001A01;0001;1.6;3~002A02;0004;600;48~003A03;0012;0;8~007A07;0002;0;64~||").encode(
        "gb18030"
    )
    n = records(CdssStream().read(national, FileContext("n.txt", M)))
    p = records(AqssStream().read(provincial, FileContext("p.txt", PM)))
    assert [(r["value"], r["sampled_at"], condition_names(r["conditions"])) for r in n] == [
        (r["value"], r["sampled_at"], condition_names(r["conditions"])) for r in p
    ]
    assert [condition_names(r["conditions"]) for r in n] == [
        ("alarm", "power_cut"), ("calibrating", "over_range"), ("fault",), ("switched_off",)]  # fmt: skip
    assert [r["raw_status"] for r in n] == [3, 12, 128, 64]
    assert [r["raw_status"] for r in p] == [3, 48, 8, 64]


# ---------------------------------------------------------------- national dialect


def test_cddy_point_definitions():
    items = read("140211001234_CDDY_20260318080000.txt")
    info = items[0]
    assert info.mine_code == M and info.produced_at == t("2026-03-18 08:00:00")
    assert info.extra["vendor"] == "某某科技股份有限公司"
    assert info.extra["system_model"] == "KJ95X"
    assert info.extra["certificate_valid_until"] == "2027-12-31"
    assert info.extra["header_extra"] == ["V2.1"]
    defs = {r["point_code"]: r for r in records(items)}
    assert rejects(items) == []
    assert len(defs) == 6
    p1 = defs[P1]
    assert p1 == {
        "mine_code": M, "point_code": P1, "snapshot_at": t("2026-03-18 08:00:00"), "dialect": "national",
        "source_kind": "CDDY", "system_code": "01", "value_type": "MN", "sensor_type": "0001", "sensor_known": True,
        "vendor_point_code": "001A01", "outstation_code": M + "00001", "unit": "%CH4",
        "range_low": 0.0, "range_high": 4.0, "alarm_high": 1.0, "alarm_high_clear": 0.8,
        "alarm_low": None, "alarm_low_clear": None, "cutoff_high": 1.5, "restore_high": 1.0,
        "cutoff_low": None, "restore_low": None, "label_0": None, "label_1": None,
        "location": "15103综采工作面回风巷甲烷", "area_code": None,
        "x": 37512345.12, "y": 4012345.67, "z": -350.5,
        "relations": f"D-{M}01KG1009001D01-回风巷断电器:K-{P4}◇B-{P2}",
        "defined_at": t("2026-01-05 10:00:00"),
    }  # fmt: skip
    assert (defs[P3]["alarm_low"], defs[P3]["cutoff_low"], defs[P3]["restore_low"]) == (18.5, 18.0, 19.0)
    assert (defs[P4]["value_type"], defs[P4]["label_1"], defs[P4]["label_0"], defs[P4]["unit"]) == (
        "KG",
        "有电",
        "无电",
        None,
    )
    assert (defs[P5]["sensor_type"], defs[P5]["sensor_known"], defs[P5]["unit"]) == ("0099", False, "ppm")
    assert defs[P5]["defined_at"] is None
    # value type left empty by the vendor: taken from the point code
    assert (defs[P6]["system_code"], defs[P6]["value_type"], defs[P6]["sensor_known"]) == ("02", "MN", True)


CDSS_EXPECTED = [
    (P1, t("2026-03-18 08:00:00"), 0.52, 0, ()),
    (P2, t("2026-03-18 08:00:00"), 12.0, 0, ()),
    (P3, t("2026-03-18 08:00:00"), 20.6, 0, ()),
    (P4, t("2026-03-18 08:00:00"), 1.0, 0, ()),
    (P5, t("2026-03-18 08:00:00"), 3.5, 3, ("alarm", "power_cut")),
    (P6, t("2026-03-18 08:00:05"), None, 140, ("fault", "calibrating", "over_range")),
    (P7, t("2026-03-18 08:00:05"), None, 32, ("switched_off",)),
]


@pytest.mark.parametrize(
    "name",
    [
        "140211001234_CDSS_20260318080010.txt",  # CRLF
        "140211001234_CDSS_20260318080011.txt",  # one line
        "140211001234_CDSS_20260318080012.txt",  # BOM, LF
    ],
)
def test_cdss_readings(name):
    items = read(name)
    info = items[0]
    assert (info.mine_code, info.produced_at, info.extra["mine_name"]) == (
        M,
        t("2026-03-18 08:00:10"),
        "山西某某煤业有限公司",
    )
    rows = records(items)
    assert rejects(items) == []
    assert [
        (r["point_code"], r["sampled_at"], r["value"], r["raw_status"], condition_names(r["conditions"])) for r in rows
    ] == CDSS_EXPECTED
    assert {r["dialect"] for r in rows} == {"national"} and {r["mine_code"] for r in rows} == {M}
    assert [it.record_no for it in items[1:]] == list(range(1, 8))


def test_cdss_rejects_bad_records_and_keeps_the_good_ones():
    items = read("140211001234_CDSS_20260318080110.txt")
    assert rejects(items) == [
        (2, "bad_number"),  # value N/A
        (3, "field_count"),  # unit missing
        (4, "field_count"),  # full-width ；
        (5, "bad_time"),  # 25 o'clock
        (6, "duplicate_key"),  # P1 again at the same time
        (7, "time_outside_window"),  # 121 s before the upload time
        (8, "time_outside_window"),  # 61 s after
        (10, "bad_number"),  # status x
    ]
    by_no = {r.record_no: r for r in items if isinstance(r, Reject)}
    assert "；" in by_no[4].detail and by_no[4].raw.startswith(P4 + ";馈电；")
    assert by_no[6].raw.endswith(";0.60;%CH4;0;2026-03-18 08:01:00")
    kept = [(it.record_no, it.values[1], it.values[3]) for it in items if isinstance(it, Record)]
    assert kept == [
        (1, P1, 0.55),  # the first of the duplicates wins
        (9, P6, 15.3),  # exactly 120 s before: inside
        (11, P2, 13.0),  # trailing ';' before '~' tolerated
    ]


def test_cdss_window_follows_the_cycle_option():
    items = read("140211001234_CDSS_20260318080110.txt", CdssStream(cycle=timedelta(seconds=90)))
    assert (7, "time_outside_window") not in rejects(items)
    assert (8, "time_outside_window") in rejects(items)  # 60 s after stays the limit


def test_file_without_trailer_is_incomplete_before_any_record():
    cls, ctx = match("140211001234_CDSS_20260318080013.txt")
    it = cls().read((FIXTURES / "140211001234_CDSS_20260318080013.txt").read_bytes(), ctx)
    with pytest.raises(FileIncomplete) as exc:
        next(it)
    assert exc.value.reason == "truncated"


def test_header_mine_differing_from_file_name_rejects_the_file():
    with pytest.raises(FileRejected) as exc:
        read("140211009999_CDSS_20260318080010.txt")
    assert exc.value.reason == "mine_mismatch"


def test_tjsj_statistics():
    items = read("140211001234_TJSJ_20260318080500.txt")
    rows = records(items)
    assert rows[0] == {
        "mine_code": M, "point_code": P1, "period_end": t("2026-03-18 08:05:00"),
        "period_start": t("2026-03-18 08:00:00"), "dialect": "national", "sensor_type": "0001", "unit": "%CH4",
        "avg_value": 0.51, "max_value": 0.63, "max_at": t("2026-03-18 08:02:10"),
        "min_value": 0.42, "min_at": t("2026-03-18 08:04:40"),
    }  # fmt: skip
    assert (rows[1]["min_value"], rows[1]["min_at"], rows[1]["unit"]) == (None, None, "ppm")


def test_ycbj_abnormal_events():
    items = read("140211001234_YCBJ_20260318090000.txt")
    assert rejects(items) == []
    rows = records(items)
    open_alarm, calibration, feed = rows
    assert (open_alarm["abnormal_type"], open_alarm["started_at"], open_alarm["ended_at"]) == (
        "001",
        t("2026-03-18 08:55:20"),
        None,
    )
    assert condition_names(open_alarm["conditions"]) == ("alarm",)
    assert (open_alarm["value"], open_alarm["alarm_threshold"], open_alarm["clear_threshold"]) == (1.12, 1.0, 0.8)
    assert open_alarm["reported_at"] == t("2026-03-18 08:59:50")
    assert calibration["ended_at"] == t("2026-03-18 07:25:00")
    assert condition_names(calibration["conditions"]) == ("calibrating",)
    assert (calibration["cause"], calibration["measures"], calibration["entered_by"]) == (
        "标校",
        "定期标校，已恢复",
        "张三",
    )
    assert calibration["entered_at"] == t("2026-03-18 07:30:00")
    assert (feed["abnormal_type"], condition_names(feed["conditions"]), feed["unit"]) == (
        "003",
        ("feed_abnormal",),
        None,
    )


def test_ycbj_rejects():
    head = f"{M};某矿;2026-03-18 09:00:00~"
    base = [
        P1,
        "甲烷",
        LOC1,
        "%CH4",
        "001",
        "1.1",
        "1",
        "0.8",
        "2026-03-18 08:00:00",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "2026-03-18 08:59:00",
    ]

    def rec(**changes):
        f = list(base)
        for i, v in changes.items():
            f[int(i[1:])] = v
        return ";".join(f) + "~"

    data = (
        head + rec() + rec(f5="x") + rec(f8="") + rec() + rec(f19="2026-03-18 09:01:01") + rec(f4="002") + "||"
    ).encode()
    items = list(YcbjStream().read(data, FileContext("y.txt", M)))
    assert rejects(items) == [(2, "bad_number"), (3, "bad_time"), (4, "duplicate_key"), (5, "time_outside_window")]
    assert [r["abnormal_type"] for r in records(items)] == ["001", "002"]
    # with a cycle, an event reported long before the upload is outside the window
    items = list(YcbjStream(cycle=timedelta(seconds=10)).read(data, FileContext("y.txt", M)))
    assert (1, "time_outside_window") in rejects(items)


def test_fzdy_outstations():
    items = read("140211001234_FZDY_20260318080000.txt")
    rows = records(items)
    assert rows[0] == {
        "mine_code": M, "outstation_code": M + "00001", "snapshot_at": t("2026-03-18 08:00:00"),
        "location": "15103回风巷分站", "x": 37512340.0, "y": 4012340.0, "z": -352.0,
        "defined_at": t("2025-11-01 09:00:00"),
    }  # fmt: skip
    assert (rows[1]["location"], rows[1]["x"]) == ("胶带大巷分站", None)


def test_fzss_outstation_states():
    items = read("140211001234_FZSS_20260318080100.txt")
    rows = records(items)
    assert [(r["outstation_code"], r["observed_at"], r["run_status"], r["power_status"]) for r in rows] == [
        (M + "00001", t("2026-03-18 08:00:55"), 0, 1),
        (M + "00002", t("2026-03-18 08:00:55"), 1, 0),
        (M + "00003", t("2026-03-18 08:00:55"), 2, 2),
    ]
    assert rejects(items) == [(4, "time_outside_window")]  # 31 min before; default window is 2 x 5 min


# ---------------------------------------------------------------- provincial dialect (GB18030)


def test_provincial_fixtures_are_gb18030():
    raw = (FIXTURES / "14021100123_AQMC_20260318080000.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "综采工作面".encode("gb18030") in raw


def test_aqmc_analog_definitions():
    items = read("14021100123_AQMC_20260318080000.txt")
    assert items[0].mine_code == PM and items[0].extra == {"mine_name": "晋城某某煤矿"}
    defs = {r["point_code"]: r for r in records(items)}
    methane = defs["001A01"]
    assert {k: methane[k] for k in (
        "dialect", "source_kind", "value_type", "sensor_type", "sensor_known", "outstation_code", "unit",
        "range_low", "range_high", "alarm_high", "alarm_low", "cutoff_high", "restore_high", "cutoff_low",
        "location", "area_code", "snapshot_at", "system_code")} == {
        "dialect": "provincial", "source_kind": "AQMC", "value_type": "MN", "sensor_type": "0001",
        "sensor_known": True, "outstation_code": "001", "unit": "%CH4", "range_low": 0.0, "range_high": 4.0,
        "alarm_high": 1.0, "alarm_low": None, "cutoff_high": 1.5, "restore_high": 1.0, "cutoff_low": None,
        "location": "15103综采工作面回风巷", "area_code": PM + "0007", "snapshot_at": t("2026-03-18 08:00:00"),
        "system_code": None,
    }  # fmt: skip
    oxygen = defs["003A03"]
    assert (oxygen["alarm_low"], oxygen["cutoff_low"], oxygen["restore_low"], oxygen["cutoff_high"]) == (
        18.5,
        18.0,
        19.0,
        None,
    )
    unknown = defs["005A05"]
    assert (unknown["sensor_type"], unknown["sensor_known"], unknown["unit"], unknown["location"]) == (
        "0099",
        False,
        None,
        "胶带大巷",
    )


def test_aqkc_switch_definitions_keep_full_width_semicolon_in_free_text():
    items = read("14021100123_AQKC_20260318080000.txt")
    assert rejects(items) == []
    defs = {r["point_code"]: r for r in records(items)}
    assert (defs["001K01"]["label_0"], defs["001K01"]["label_1"], defs["001K01"]["value_type"]) == (
        "无电",
        "有电",
        "KG",
    )
    assert defs["002K02"]["location"] == "主通风机房；1号风机"
    assert (defs["002K02"]["sensor_type"], defs["002K02"]["area_code"]) == ("1010", PM + "0001")


def test_aqss_header_time_is_every_sample_time():
    items = read("14021100123_AQSS_20260318080010.txt")
    rows = records(items)
    at = t("2026-03-18 08:00:10")
    assert {r["sampled_at"] for r in rows} == {at}
    assert [(r["point_code"], r["value"], r["raw_status"], condition_names(r["conditions"])) for r in rows] == [
        ("001A01", 0.52, 0, ()),
        ("002A02", 12.0, 0, ()),
        ("003A03", 20.6, 0, ()),
        ("001K01", 1.0, 0, ()),
        ("005A05", 3.5, 3, ("alarm", "power_cut")),
        ("002K02", 0.0, 64, ("switched_off",)),
        ("004A04", None, 56, ("fault", "calibrating", "over_range")),
        ("006A06", None, None, ()),
    ]
    assert rows[-1]["conditions"] is None
    assert rejects(items) == [(9, "duplicate_key")]


def test_aqss_keeps_undefined_status_bits_raw():
    data = f"{PM};某矿;2026-03-18 08:00:10~001A01;0001;0.5;130~||".encode("gb18030")
    rows = records(AqssStream().read(data, FileContext("p.txt", PM)))
    assert (rows[0]["raw_status"], condition_names(rows[0]["conditions"])) == (130, ("power_cut",))


def test_aqss_rejects():
    text = f"{PM};某矿;2026-03-18 08:00:10~001A01;0001;abc;0~002A02;0004;1;zz~003A03;0012;20.6~004A04;0012；20.6;0~||"
    data = text.encode("gb18030")
    items = list(AqssStream().read(data, FileContext("p.txt", PM)))
    assert rejects(items) == [(1, "bad_number"), (2, "bad_number"), (3, "field_count"), (4, "field_count")]


def test_aqkd_switch_changes():
    items = read("14021100123_AQKD_20260318080010.txt")
    rows = records(items)
    assert rows == [
        {"mine_code": PM, "point_code": "001K01", "changed_at": t("2026-03-18 08:00:05"), "state": 0,
         "raw_status": 4, "conditions": provincial_conditions(4), "sensor_type": "1011"},
        {"mine_code": PM, "point_code": "002K02", "changed_at": t("2026-03-18 07:59:40"), "state": 1,
         "raw_status": 0, "conditions": 0, "sensor_type": "1010"},
    ]  # fmt: skip
    assert condition_names(rows[0]["conditions"]) == ("feed_abnormal",)
    assert rejects(items) == [(3, "time_outside_window")]


def test_aqmt_statistics():
    rows = records(read("14021100123_AQMT_20260318080510.txt"))
    assert rows[0] == {
        "mine_code": PM, "point_code": "001A01", "period_end": t("2026-03-18 08:05:00"),
        "period_start": t("2026-03-18 08:00:00"), "dialect": "provincial", "sensor_type": "0001", "unit": None,
        "avg_value": 0.51, "max_value": 0.63, "max_at": t("2026-03-18 08:02:10"),
        "min_value": 0.42, "min_at": t("2026-03-18 08:04:40"),
    }  # fmt: skip
    assert (rows[1]["min_value"], rows[1]["min_at"]) == (None, None)


# ---------------------------------------------------------------- CSV dialect


def test_csv_readings_and_rejects():
    items = read("140211001234_safety_20260318.csv")
    assert items[0] == FileInfo(mine_code=M, produced_at=None, extra={"file_date": date(2026, 3, 18)})
    rows = records(items, "safety_readings")
    assert [
        (r["point_code"], r["sampled_at"], r["value"], r["raw_status"], condition_names(r["conditions"])) for r in rows
    ] == [
        (P1, t("2026-03-18 08:00:00"), 0.52, 0, ()),
        (P1, t("2026-03-18 08:00:10"), 0.53, 1, ("alarm",)),
        (P2, t("2026-03-18 08:00:00"), 12.0, 0, ()),  # no offset: China time
        (P4, t("2026-03-18 08:00:10"), 1.0, 0, ()),  # Z: same instant, shown in UTC+8
        (P6, t("2026-03-18 08:00:00"), None, 128, ("fault",)),  # national bits
        (P1, t("2026-03-18 08:00:05"), 0.5, 0, ()),  # out of order, not a duplicate
    ]
    assert {r["dialect"] for r in rows} == {"csv"}
    # line 6 is blank; header is line 0
    assert rejects(items) == [(7, "bad_number"), (8, "bad_time"), (9, "field_count"), (10, "duplicate_key")]
    areas = records(items, "safety_point_areas")
    assert [
        (a["point_code"], a["area_code"], a["sensor_type"], a["first_sampled_at"], a["last_sampled_at"]) for a in areas
    ] == [
        (P1, M + "0007", "0001", t("2026-03-18 08:00:00"), t("2026-03-18 08:00:10")),
        (P2, M + "0007", "0004", t("2026-03-18 08:00:00"), t("2026-03-18 08:00:00")),
        (P4, M + "0008", "1011", t("2026-03-18 08:00:10"), t("2026-03-18 08:00:10")),
        (P6, None, "0023", t("2026-03-18 08:00:00"), t("2026-03-18 08:00:00")),
    ]


def test_csv_gb18030_with_reordered_columns_and_quotes():
    raw = (FIXTURES / "14021100123_safety_20260318.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    items = read("14021100123_safety_20260318.csv")
    assert rejects(items) == []
    rows = records(items, "safety_readings")
    assert [(r["mine_code"], r["point_code"], r["value"], r["sampled_at"]) for r in rows] == [
        (PM, "001A01", 0.52, t("2026-03-18 08:00:10")),
        (PM, "003A03", 20.6, t("2026-03-18 08:00:10")),
    ]
    assert [a["area_code"] for a in records(items, "safety_point_areas")] == [PM + "0007", PM + "0007"]


def test_csv_with_bom():
    rows = records(read("140211001234_safety_20260319.csv"), "safety_readings")
    assert [(r["point_code"], r["value"]) for r in rows] == [(P1, 0.41)]


def test_csv_without_required_columns_is_rejected():
    cls, ctx = match("140211001234_safety_20260320.csv")
    with pytest.raises(FileRejected) as exc:
        list(cls().read(b"point_code,value\nP1,1\n", ctx))
    assert exc.value.reason == "field_count"
    assert "sampled_at" in exc.value.detail
