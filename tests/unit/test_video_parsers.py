"""Video parsers (contract D.1 REST, D.2 CSV): bytes or JSON items in, canonical values and rejects out."""

from __future__ import annotations

import codecs
import json
from datetime import datetime
from pathlib import Path

import pytest

from connectors.base import FileContext, FileRejected
from connectors.catalog import identify
from connectors.networking import CHINA_TZ
from connectors.video_csv import CATALOG, FILE_PATTERN, STREAMS, VideoCsvStream
from connectors.video_rest import CamerasStream, EventsPageStream, camera_records, event_records
from schemas import SCHEMAS, FileInfo, Record, Reject
from schemas.video import ALL, EVENT_TYPES, EVENTS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "video"
M, OTHER = "410403004688", "410403004689"
A1, A3, A7, A8 = (M + f"{n:04d}" for n in (1, 3, 7, 8))


def t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)


def ctx_for(name: str) -> FileContext:
    kind, mine, stamp = identify(name)
    return FileContext(name=name, mine_code=mine, stamp=stamp)


def read_csv_fixture(name: str, data: bytes | None = None):
    kind = identify(name)[0]
    return list(STREAMS[kind]().read(data if data is not None else (FIXTURES / name).read_bytes(), ctx_for(name)))


def records(items):
    return [
        dict(zip(SCHEMAS[it.target].column_names, it.values, strict=True)) for it in items if isinstance(it, Record)
    ]


def rejects(items):
    return [(r.record_no, r.reason) for r in items if isinstance(r, Reject)]


def test_catalog_entry_and_schemas():
    assert identify(f"{M}_video_20260318.csv") == ("video", M, datetime(2026, 3, 18))
    assert FILE_PATTERN.match(f"{M}_video_20260318.csv")["mine"] == M
    ((kind, (feed, phase, ref)),) = CATALOG.items()
    assert (kind, feed, phase, ref) == ("video", "video", 2, "connectors.video_csv:VideoCsvStream")
    for s in ALL:
        assert SCHEMAS[s.name] is s and set(s.key) <= set(s.column_names)
    assert EVENTS.key == ("mine_code", "event_id")


def test_csv_events_round_trip_with_china_times():
    items = read_csv_fixture(f"{M}_video_20260318.csv")
    info = items[0]
    assert isinstance(info, FileInfo) and info.mine_code == M
    events = records(items)
    assert [e["event_id"][-2:] for e in events] == ["01", "02", "03", "04", "05", "06", "07"]
    assert events[0] == {
        "mine_code": M, "event_id": "e-004688-00001", "camera_id": "V468801", "event_type": "OFFLINE",
        "event_at": t("2026-03-18 02:10:00"), "area_code": A7, "seal_code": "M-01", "source_kind": "CSV",
    }  # fmt: skip
    assert [e["event_type"] for e in events] == ["OFFLINE", "ONLINE", "SCENE_CHANGE", "VIDEO_LOSS", "OCCLUSION",
                                                 "PRESET_CHANGE", "RELOCATED"]  # fmt: skip
    assert set(EVENT_TYPES) == {e["event_type"] for e in events}
    assert events[3]["event_at"] == t("2026-03-18 10:00:00") and events[3]["seal_code"] is None  # no offset: China
    assert events[4]["event_at"] == t("2026-03-18 18:05:00")  # 10:05Z
    assert all(e["event_at"].utcoffset().total_seconds() == 8 * 3600 for e in events)


def test_csv_rejects_carry_the_right_reasons():
    items = read_csv_fixture(f"{M}_video_20260318.csv")
    assert rejects(items) == [
        (8, "duplicate_key"),  # e-004688-00003 again
        (9, "unsupported_reading_type"),  # REBOOT
        (10, "bad_time"),  # 25:70
        (11, "mine_mismatch"),  # an area of mine 410403004689
        (12, "field_count"),  # five fields
        (13, "field_count"),  # no event_id (the blank line before it is no record)
    ]
    by_no = {r.record_no: r for r in items if isinstance(r, Reject)}
    assert "line 3" in by_no[8].detail
    assert "REBOOT" in by_no[9].detail
    assert by_no[11].raw == f"e-004688-00010,V468805,{OTHER}0003,,OFFLINE,2026-03-18T13:00:00+08:00"


def test_csv_in_gbk_with_reordered_and_extra_columns():
    data = (FIXTURES / f"{M}_video_20260319.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    events = records(read_csv_fixture(f"{M}_video_20260319.csv"))
    assert [(e["event_id"], e["event_type"], e["event_at"], e["seal_code"]) for e in events] == [
        ("e-004688-00020", "OFFLINE", t("2026-03-19 06:00:00"), "M-01"),
        ("e-004688-00021", "ONLINE", t("2026-03-19 06:20:00"), "M-01"),
    ]


def test_csv_bom_and_missing_column():
    body = "event_id,camera_id,area_code,seal_code,type,at\r\ne-1,V1,,,OFFLINE,2026-03-18T02:10:00+08:00\r\n"
    name = f"{M}_video_20260318.csv"
    for data in (body.encode(), codecs.BOM_UTF8 + body.encode(), body.encode("gb18030")):
        assert [e["event_id"] for e in records(read_csv_fixture(name, data))] == ["e-1"]
    with pytest.raises(FileRejected) as err:
        read_csv_fixture(name, b"event_id,camera_id,type\r\ne-1,V1,OFFLINE\r\n")
    assert err.value.reason == "field_count" and "at" in err.value.detail


def test_csv_needs_a_mine_code():
    with pytest.raises(FileRejected):
        list(VideoCsvStream().read(b"event_id,camera_id,area_code,seal_code,type,at\r\n", FileContext(name="x.csv")))


# ---------------------------------------------------------------- D.1 REST


def test_rest_events_map_onto_the_csv_records():
    csv_events = {e["event_id"]: e for e in records(read_csv_fixture(f"{M}_video_20260318.csv"))}
    page = [
        {"event_id": "e-004688-00001", "camera_id": "V468801", "type": "OFFLINE", "at": "2026-03-18T02:10:00+08:00"},
        {"event_id": "e-004688-00004", "camera_id": "V468803", "type": "VIDEO_LOSS", "at": "2026-03-18T10:00:00"},
        {"event_id": "e-004688-00005", "camera_id": "V468803", "type": "OCCLUSION", "at": "2026-03-18T10:05:00Z"},
    ]
    rest = records(event_records(M, page))
    same = ("mine_code", "event_id", "camera_id", "event_type", "event_at")
    for e in rest:
        assert {k: e[k] for k in same} == {k: csv_events[e["event_id"]][k] for k in same}
        assert (e["area_code"], e["seal_code"], e["source_kind"]) == (None, None, "REST")


def test_rest_event_rejects():
    good = {"event_id": "e-1", "camera_id": "V1", "type": "OFFLINE", "at": "2026-03-18T02:10:00+08:00"}
    page = [
        good,
        {**good, "event_id": "e-2", "type": "TAMPER"},
        {**good, "event_id": "e-3", "at": 1773792000},
        {**good, "event_id": "e-4", "camera_id": ""},
        {**good, "event_id": "e-5", "area_code": f"{OTHER}0007"},
        dict(good),
        ["e-7"],
    ]
    out = list(event_records(M, page))
    assert rejects(out) == [(2, "unsupported_reading_type"), (3, "bad_time"), (4, "field_count"),
                            (5, "mine_mismatch"), (6, "duplicate_key"), (7, "field_count")]  # fmt: skip
    assert json.loads(next(r.raw for r in out if isinstance(r, Reject) and r.record_no == 2))["type"] == "TAMPER"


def test_camera_inventory():
    cams = json.loads((FIXTURES / f"cameras_{M}.json").read_text(encoding="utf-8"))
    pulled = t("2026-03-18 08:00:00")
    out = list(camera_records(M, cams, pulled))
    got = records(out)
    assert got[0] == {
        "mine_code": M, "camera_id": "V468801", "snapshot_at": pulled, "camera_name": "M-01密闭墙",
        "area_code": A7, "seal_code": "M-01", "is_online": True, "preset": 1,
    }  # fmt: skip
    assert (got[1]["is_online"], got[1]["preset"]) == (False, 2)
    assert (got[2]["seal_code"], got[2]["preset"]) == (None, None)
    assert rejects(out) == [(4, "bad_number"), (5, "mine_mismatch"), (6, "duplicate_key")]
    with pytest.raises(ValueError):
        list(camera_records(M, cams, datetime(2026, 3, 18, 8)))


def test_archived_api_answers_load_as_streams():
    cams = (FIXTURES / f"cameras_{M}.json").read_bytes()
    ctx = FileContext(name=f"cameras_{M}.json", mine_code=M, stamp=datetime(2026, 3, 18, 8, 0, 0))
    out = list(CamerasStream().read(cams, ctx))
    assert out[0].produced_at == t("2026-03-18 08:00:00")
    assert {r["snapshot_at"] for r in records(out)} == {t("2026-03-18 08:00:00")}
    with pytest.raises(FileRejected) as err:
        list(CamerasStream().read(cams, FileContext(name="cameras.json", mine_code=M)))
    assert err.value.reason == "bad_time"
    page = {"events": [{"event_id": "e-1", "camera_id": "V1", "type": "ONLINE", "at": "2026-03-18T04:40:00+08:00"}],
            "next_cursor": None}  # fmt: skip
    out = list(EventsPageStream().read(json.dumps(page).encode(), FileContext(name="events.json", mine_code=M)))
    assert [r["event_at"] for r in records(out)] == [t("2026-03-18 04:40:00")]
