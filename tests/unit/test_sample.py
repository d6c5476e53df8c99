"""The sample province follows the contract, is deterministic, and its labels agree with its data."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from datetime import datetime

import pytest
from defusedxml import ElementTree as SafeET

from connectors.base import FileRejected, decode_text
from minewatch.sample import generate
from minewatch.sample.episodes import EPISODE_KINDS, parse_kinds

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"

NAME_PATTERNS = [
    re.compile(
        r"^(?P<mine>\d{6,20})_(?P<kind>CDDY|CDSS|TJSJ|YCBJ|FZDY|FZSS|AQMC|AQKC|AQSS|AQKD|AQMT|RYQY|RYJZ|RYXX|RYSS|JZSS)_(?P<stamp>\d{14})\.txt$"
    ),
    re.compile(r"^(?P<mine>\d{6,20})_(?P<kind>safety|video|explosives)_(?P<stamp>\d{8})\.csv$"),
    re.compile(r"^(?P<kind>meter_readings)_(?P<stamp>\d{8})\.csv$"),
    re.compile(r"^(?P<kind>mines|areas|points|seals|meters)\.csv$"),
    re.compile(r"^(?P<kind>.+)\.xml$"),
]
FIELDS = {
    "CDDY": 24,
    "CDSS": 7,
    "TJSJ": 11,
    "YCBJ": 20,
    "FZDY": 6,
    "FZSS": 4,
    "AQMC": 12,
    "AQKC": 7,
    "AQSS": 4,
    "AQKD": 5,
    "AQMT": 8,
    "RYQY": 4,
    "RYJZ": 6,
    "RYXX": 9,
    "RYSS": 15,
    "JZSS": 4,
}
CSV_HEADERS = {
    "safety": "point_code,sensor_type,area_code,sampled_at,value,status",
    "video": "event_id,camera_id,area_code,seal_code,type,at",
    "explosives": "record_id,issued_at,area_code,explosive_kg,detonators,returned_kg,returned_detonators",
    "meter_readings": "meter_id,read_at,import_kwh_register",
    "mines": "mine_code,mine_name,province,county,status,capacity_mtpa",
    "areas": "mine_code,area_code,area_name,kind,declared_active",
    "points": "mine_code,point_code,area_code",
    "seals": "mine_code,seal_code,area_code,built_on,design_ref,camera_id",
    "meters": "mine_code,meter_id,usage_point,area_code,multiplier",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "landing"
    summary = generate(str(out), mines=3, days=1, seed=7, cadence=300, malformed=True)
    with open(summary["labels"], encoding="utf-8") as f:
        labels = json.load(f)
    files = {}
    for dp, _, names in os.walk(summary["landing"]):
        for n in names:
            files[os.path.relpath(os.path.join(dp, n), summary["landing"]).replace(os.sep, "/")] = os.path.join(dp, n)
    return summary, labels, files


def _kind(name: str) -> str | None:
    for p in NAME_PATTERNS:
        m = p.match(name)
        if m:
            return m["kind"]
    return None


def _networking(path: str) -> tuple[list[str], list[list[str]], bytes]:
    data = open(path, "rb").read()
    text = decode_text(data)
    assert text.endswith("||"), path
    recs = [r.strip("\r\n") for r in text[:-2].split("~")]
    assert recs[-1] == "", path
    recs = recs[:-1]
    return recs[0].split(";"), [r.split(";") for r in recs[1:]], data


def _malformed(labels: dict) -> dict[str, dict]:
    return {m["path"]: m for m in labels["malformed"]}


def _mine(labels: dict, **kw) -> dict:
    return next(m for m in labels["mines"] if all(m[k] == v for k, v in kw.items()))


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _local(text: str) -> float:
    return datetime.fromisoformat(text + "+08:00").timestamp()


def test_layout_labels_and_api_sit_beside_the_landing_folder(sample):
    summary, labels, files = sample
    assert os.path.dirname(summary["labels"]) == os.path.dirname(summary["landing"])
    assert os.path.dirname(summary["api"]) == os.path.dirname(summary["landing"])
    assert not any(p.endswith((".json", ".jsonl")) for p in files)
    assert {
        "registry/mines.csv",
        "registry/areas.csv",
        "registry/points.csv",
        "registry/seals.csv",
        "registry/meters.csv",
    } <= set(files)
    assert len({m["safety"] for m in labels["mines"]}) == 3
    assert {m["positioning"] for m in labels["mines"]} == {"files", "rest"}
    assert {m["video"] for m in labels["mines"]} == {"csv", "rest"}
    assert {m["meters"] for m in labels["mines"]} == {"espi", "registers"}


def test_every_file_name_follows_section_a_or_is_labelled_unmatched(sample):
    _, labels, files = sample
    unmatched = {p for p, m in _malformed(labels).items() if m["expected_status"] == "unmatched"}
    assert unmatched
    for rel in files:
        name = os.path.basename(rel)
        kind = _kind(name)
        if rel in unmatched:
            assert kind is None
            continue
        assert kind is not None, rel
        m = re.match(r"^(\d+)_", name)
        if m and not rel.startswith("meters/"):
            assert rel.split("/")[0] == m[1], "per-mine files sit in their mine's folder"
            assert len(m[1]) == 12


def test_networking_files_have_header_trailer_and_field_counts(sample):
    _, labels, files = sample
    broken = _malformed(labels)
    seen: dict[str, int] = {}
    for rel, path in files.items():
        name = os.path.basename(rel)
        kind = _kind(name)
        if kind not in FIELDS or rel in broken:
            continue
        header, recs, data = _networking(path)
        mine = name.split("_")[0]
        assert header[0] == mine
        assert len(header) == (8 if kind == "RYXX" else 3) or (
            len(header) == 7 and kind in ("CDDY", "CDSS", "TJSJ", "YCBJ", "FZDY", "FZSS")
        )
        upload = header[7] if kind == "RYXX" else header[2]
        datetime.strptime(upload, "%Y-%m-%d %H:%M:%S")
        if kind != "AQSS":
            assert upload.replace("-", "").replace(" ", "").replace(":", "") == name.split("_")[2][:14]
        for r in recs:
            assert len(r) == FIELDS[kind], (rel, r)
        assert "；".encode() not in data
        seen[kind] = seen.get(kind, 0) + 1
    assert set(seen) == set(FIELDS), "every networking file type is written"


def test_encodings_dialects_and_line_breaks(sample):
    _, labels, files = sample
    broken = _malformed(labels)
    one_line = crlf = gb = 0
    for rel, path in files.items():
        kind = _kind(os.path.basename(rel))
        if kind not in FIELDS or rel in broken:
            continue
        data = open(path, "rb").read()
        if kind.startswith("AQ"):
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            data.decode("gb18030")
            gb += 1
        else:
            data.decode("utf-8")
            assert not data.startswith(b"\xef\xbb\xbf")
        if kind == "CDSS" and b"\n" not in data:
            one_line += 1
        if b"~\r\n" in data:
            crlf += 1
    assert one_line and crlf and gb
    assert open(files["registry/areas.csv"], "rb").read().startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        open(files["registry/mines.csv"], "rb").read().decode("utf-8")


def test_codes_follow_the_national_schemes(sample):
    _, labels, files = sample
    national = _mine(labels, safety="national")["mine_code"]
    cdds = sorted(p for r, p in files.items() if "_CDDY_" in r and r.startswith(national))
    _, recs, _ = _networking(cdds[0])
    for r in recs:
        code = r[0]
        assert len(code) <= 28 and code.startswith(national + "01")
        assert code[14:16] in ("MN", "KG") and code[16:20] == r[3] and r[4] == code[14:16]
    ryss = sorted(p for r, p in files.items() if "_RYSS_" in r)
    _, recs, _ = _networking(ryss[len(ryss) // 2])
    assert recs
    for r in recs:
        mine = os.path.basename(ryss[len(ryss) // 2]).split("_")[0]
        assert re.fullmatch(mine + r"\d{5}", r[0])
        assert re.fullmatch(mine + r"\d{4}", r[5]) and r[7].startswith(r[5]) and len(r[7]) == 22
        assert r[2] in ("0", "1", "2")
        for item in r[14].split(","):
            station, at = item.split("&")
            assert len(station) == 22
            datetime.strptime(at, "%Y-%m-%d %H:%M:%S")


def test_csv_files_have_the_contract_headers(sample):
    _, labels, files = sample
    seen = set()
    for rel, path in files.items():
        kind = _kind(os.path.basename(rel))
        if kind not in CSV_HEADERS or not rel.endswith(".csv"):
            continue
        text = decode_text(open(path, "rb").read())
        header = text.splitlines()[0]
        assert header == CSV_HEADERS[kind], rel
        rows = list(csv.reader(io.StringIO(text)))
        assert all(len(r) == len(header.split(",")) for r in rows if r), rel
        seen.add(kind)
    assert seen == set(CSV_HEADERS)


def test_safety_csv_values_are_iso_times_and_national_status(sample):
    _, labels, files = sample
    mine = _mine(labels, safety="csv")["mine_code"]
    path = next(p for r, p in files.items() if r.endswith(f"{mine}_safety_20260316.csv"))
    rows = list(csv.DictReader(io.StringIO(decode_text(open(path, "rb").read()))))
    assert len(rows) > 1000
    for row in rows[:500]:
        assert datetime.fromisoformat(row["sampled_at"]).utcoffset().total_seconds() == 8 * 3600
        assert row["area_code"].startswith(mine) and len(row["area_code"]) == 16
        assert row["value"] == "" or float(row["value"]) >= 0
        assert 0 <= int(row["status"]) < 256


def test_espi_feed_parses_and_ties_to_the_registry(sample):
    _, labels, files = sample
    broken = _malformed(labels)
    feeds = [p for r, p in files.items() if r.endswith(".xml") and r not in broken]
    assert feeds
    registry = list(csv.DictReader(io.StringIO(decode_text(open(files["registry/meters.csv"], "rb").read()))))
    ups = {r["usage_point"] for r in registry if r["usage_point"]}
    for path in feeds:
        root = SafeET.parse(path).getroot()
        assert root.tag == f"{ATOM}feed"
        entries = root.findall(f"{ATOM}entry")
        points = [e for e in entries if e.find(f"{ATOM}content/{ESPI}UsagePoint") is not None]
        assert len(points) >= 3
        for e in points:
            href = next(link.get("href") for link in e.findall(f"{ATOM}link") if link.get("rel") == "self")
            assert href in ups or href.rsplit("/", 1)[1] in ups
        rt = next(
            e.find(f"{ATOM}content/{ESPI}ReadingType")
            for e in entries
            if e.find(f"{ATOM}content/{ESPI}ReadingType") is not None
        )
        assert rt.findtext(f"{ESPI}uom") == "72" and rt.findtext(f"{ESPI}flowDirection") == "1"
        assert int(rt.findtext(f"{ESPI}powerOfTenMultiplier")) != 0
        readings = root.findall(f".//{ESPI}IntervalReading")
        assert len(readings) >= 90 * len(points)
        for r in readings[:200]:
            start = int(r.findtext(f"{ESPI}timePeriod/{ESPI}start"))
            assert start % 900 == 0 and int(r.findtext(f"{ESPI}timePeriod/{ESPI}duration")) == 900
            assert int(r.findtext(f"{ESPI}value")) >= 0


def _power(labels, files, mine_code: str, area: str) -> list[tuple[float, float]]:
    """(interval start epoch, kWh) of the meter feeding an area, from ESPI or register readings."""
    registry = list(csv.DictReader(io.StringIO(decode_text(open(files["registry/meters.csv"], "rb").read()))))
    meter = next(r for r in registry if r["mine_code"] == mine_code and r["area_code"] == area)
    out = []
    if meter["usage_point"]:
        up = meter["usage_point"].rsplit("/", 1)[-1]
        path = next(
            p for r, p in files.items() if r.startswith(f"meters/greenbutton_{mine_code}_") and r.count("_") == 2
        )
        root = SafeET.parse(path).getroot()
        p10 = int(root.find(f".//{ESPI}powerOfTenMultiplier").text)
        for e in root.findall(f"{ATOM}entry"):
            href = next(link.get("href") for link in e.findall(f"{ATOM}link") if link.get("rel") == "self")
            if f"/UsagePoint/{up}/MeterReading/01/IntervalBlock/" in href:
                for r in e.iter(f"{ESPI}IntervalReading"):
                    out.append(
                        (
                            int(r.findtext(f"{ESPI}timePeriod/{ESPI}start")),
                            int(r.findtext(f"{ESPI}value")) * 10**p10 / 1000,
                        )
                    )
    else:
        regs = []
        for r, p in files.items():
            if "meter_readings_" in r:
                regs += [
                    row
                    for row in csv.DictReader(io.StringIO(decode_text(open(p, "rb").read())))
                    if row["meter_id"] == meter["meter_id"]
                ]
        regs.sort(key=lambda row: row["read_at"])
        mult = int(meter["multiplier"])
        for a, b in zip(regs, regs[1:], strict=False):
            ta, tb = _ts(a["read_at"]), _ts(b["read_at"])
            if tb - ta == 900:
                out.append((ta, (float(b["import_kwh_register"]) - float(a["import_kwh_register"])) * mult))
    return out


def test_concealed_face_labels_agree_with_the_data(sample):
    _, labels, files = sample
    concealed = [e for e in labels["episodes"] if e["kind"] == "concealed_face"]
    assert len(concealed) == 2 and {e["details"]["variant"] for e in concealed} == {"a", "b"}
    for ep in concealed:
        mine, area, d = ep["mine_code"], ep["area_code"], ep["details"]
        assert ep["verify_unsealing"] and "POWER_BEHIND_SEAL" in ep["flag_codes"]
        assert {"mine_code": mine, "day": ep["start"][:10]} in labels["verify_mine_days"]
        w0, w1 = _ts(d["work_start"]), _ts(d["work_end"])
        power = _power(labels, files, mine, area)
        inside = [kwh for t, kwh in power if w0 + 1800 <= t < w1 - 1800]
        outside = [kwh for t, kwh in power if t < _ts(ep["start"]) - 900 or t > _ts(ep["end"])]
        assert inside and outside
        assert min(inside) > 20 * max(1.0, max(outside)), "the sealed area draws working-level power in the window only"
        # explosives issued to the sealed area in the window
        issues = [
            row
            for r, p in files.items()
            if r.endswith(".csv") and "_explosives_" in r and r.startswith(mine)
            for row in csv.DictReader(io.StringIO(decode_text(open(p, "rb").read())))
        ]
        assert any(row["area_code"] == area and w0 <= _ts(row["issued_at"]) <= w1 for row in issues)


def test_concealed_face_sensor_camera_and_cards(sample):
    _, labels, files = sample
    for ep in (e for e in labels["episodes"] if e["kind"] == "concealed_face"):
        mine, d = ep["mine_code"], ep["details"]
        a, b = _ts(ep["start"]), _ts(ep["end"])
        info = _mine(labels, mine_code=mine)
        values, statuses = [], []
        if info["safety"] == "provincial":
            for r, p in sorted(files.items()):
                if r.startswith(mine) and "_AQSS_" in r:
                    header, recs, _ = _networking(p)
                    if a + 1800 <= _local(header[2]) <= b - 1800:
                        rec = next(x for x in recs if x[0] == d["point_code"])
                        values.append(rec[2])
                        statuses.append(int(rec[3]))
        else:
            for r, p in sorted(files.items()):
                if r.startswith(mine) and "_CDSS_" in r and r not in _malformed(labels):
                    _, recs, _ = _networking(p)
                    rec = next(x for x in recs if x[0] == d["point_code"])
                    if a + 1800 <= _local(rec[6]) <= b - 1800:
                        values.append(rec[3])
                        statuses.append(int(rec[5]))
        assert len(values) > 5
        if d["variant"] == "a":
            assert all(s & 64 for s in statuses), "the sealed area's methane point is masked"
        else:
            assert len(set(values)) == 1 and not any(statuses), "the sealed area's methane point is flat"
        cams = []
        for r, p in files.items():
            if r.startswith(mine) and "_video_" in r:
                cams += list(csv.DictReader(io.StringIO(decode_text(open(p, "rb").read()))))
        if cams:
            dark = [c for c in cams if c["camera_id"] == d["camera_id"] and abs(_ts(c["at"]) - a) < 60]
            assert dark and dark[0]["type"] in ("OFFLINE", "SCENE_CHANGE", "VIDEO_LOSS", "OCCLUSION")
            assert dark[0]["seal_code"] == d["seal_code"]


def test_cards_behind_the_seal_or_unread(sample, tmp_path):
    summary, labels, files = sample
    for ep in (e for e in labels["episodes"] if e["kind"] == "concealed_face"):
        mine, d = ep["mine_code"], ep["details"]
        w0, w1 = _ts(d["work_start"]), _ts(d["work_end"])
        info = _mine(labels, mine_code=mine)
        reads = []  # (time, card, area)
        if info["positioning"] == "files":
            for r, p in sorted(files.items()):
                if r.startswith(mine) and "_RYSS_" in r and r not in _malformed(labels):
                    header, recs, _ = _networking(p)
                    reads += [(_local(header[2]), x[0], x[5]) for x in recs]
        else:
            with open(os.path.join(summary["api"], f"positions_{mine}.jsonl"), encoding="utf-8") as f:
                reads += [(_ts(i["read_at"]), i["card"], i["area"]) for i in map(json.loads, f)]
        crew = set(d["cards"])
        behind = [x for x in reads if x[1] in crew and x[2] == ep["area_code"] and w0 <= x[0] <= w1]
        if d["variant"] == "a":
            assert behind, "crew cards are read behind the seal"
        else:
            assert not behind
            if info["positioning"] == "rest":
                assert not [x for x in reads if x[1] in crew and w0 + 1800 <= x[0] <= w1 - 1800], "crew cards go unread"


def test_standalone_episodes_are_in_the_data(sample):
    _, labels, files = sample
    kinds = {e["kind"]: e for e in labels["episodes"]}
    assert set(kinds) == set(EPISODE_KINDS)
    gap = kinds["feed_gap"]
    mine = gap["mine_code"]
    kind = {"national": "_CDSS_", "provincial": "_AQSS_"}.get(_mine(labels, mine_code=mine)["safety"])
    if kind:
        stamps = [
            datetime.strptime(r.rsplit("_", 1)[1][:14], "%Y%m%d%H%M%S")
            for r in files
            if r.startswith(mine) and kind in r
        ]
        times = [_local(s.strftime("%Y-%m-%d %H:%M:%S")) for s in stamps]
        assert not [t for t in times if _ts(gap["start"]) + 60 <= t <= _ts(gap["end"])]
    seal = kinds["seal_no_camera"]
    seals = list(csv.DictReader(io.StringIO(decode_text(open(files["registry/seals.csv"], "rb").read()))))
    row = next(s for s in seals if s["mine_code"] == seal["mine_code"] and s["seal_code"] == seal["subject_code"])
    assert row["camera_id"] == ""
    unreg = kinds["unregistered_area"]
    areas = decode_text(open(files["registry/areas.csv"], "rb").read())
    assert unreg["subject_code"] not in areas
    assert all(set(e["flag_codes"]) for e in labels["episodes"])
    assert not [
        d
        for d in labels["verify_mine_days"]
        if d["mine_code"] not in {e["mine_code"] for e in labels["episodes"] if e["verify_unsealing"]}
    ]


def test_malformed_files_are_broken_as_labelled(sample):
    summary, labels, files = sample
    broken = _malformed(labels)
    reasons = {m["expected_reason"] for m in broken.values()}
    assert {
        "truncated",
        "bad_number",
        "unknown_point",
        "bad_encoding",
        "hostile_xml",
        "field_count",
        "bad_time",
    } <= reasons
    for rel, m in broken.items():
        data = open(files[rel], "rb").read()
        if m["expected_reason"] == "truncated":
            assert not data.rstrip().endswith(b"||")
        elif m["expected_reason"] == "bad_encoding":
            with pytest.raises(FileRejected):
                decode_text(data)
        elif m["expected_reason"] == "hostile_xml":
            assert b"<!ENTITY" in data and b"SYSTEM" in data
        elif m["expected_status"] == "duplicate":
            assert data == open(files[m["duplicate_of"]], "rb").read() and rel != m["duplicate_of"]
        elif m["expected_reason"] in ("bad_number", "field_count", "unknown_point"):
            header, recs, _ = _networking(files[rel])
            rec = recs[m["record_no"] - 1]
            kind = _kind(os.path.basename(rel))
            if m["expected_reason"] == "field_count":
                assert len(rec) != FIELDS[kind]
            elif m["expected_reason"] == "bad_number":
                value = rec[3] if kind == "CDSS" else rec[2]
                with pytest.raises(ValueError):
                    float(value)
            else:
                assert rec[0] not in open(files["registry/points.csv"], encoding="utf-8").read()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    def digest(summary):
        h = {}
        for base in (summary["landing"], summary["api"]):
            for dp, _, names in os.walk(base):
                for n in names:
                    p = os.path.join(dp, n)
                    h[os.path.relpath(p, os.path.dirname(base))] = hashlib.sha256(open(p, "rb").read()).hexdigest()
        h["labels"] = hashlib.sha256(open(summary["labels"], "rb").read()).hexdigest()
        return h

    kw = dict(mines=3, days=1, cadence=900, malformed=True)
    a = digest(generate(str(tmp_path / "a" / "landing"), seed=3, **kw))
    b = digest(generate(str(tmp_path / "b" / "landing"), seed=3, **kw))
    c = digest(generate(str(tmp_path / "c" / "landing"), seed=4, mines=1, days=1, cadence=900))
    assert a == b and len(a) > 100
    assert set(c) - set(a), "another seed makes other mines"


def test_scale_writes_only_cdss_at_the_asked_volume(tmp_path):
    s = generate(str(tmp_path / "bench"), mines=1, days=1, seed=1, scale="40:120")
    assert s["rows"]["safety.CDDY"] == 40
    assert set(s["files"]) == {"safety.CDDY", "safety.CDSS"} | {k for k in s["files"] if k.startswith("registry.")}
    assert 700 <= s["files"]["safety.CDSS"] <= 720 and s["rows"]["safety.CDSS"] == 40 * s["files"]["safety.CDSS"]


def test_episode_selection_and_refusal_to_overwrite(tmp_path):
    assert parse_kinds("none") == [] and parse_kinds("all") == list(EPISODE_KINDS)
    assert parse_kinds("masked,feed_gap") == ["masked", "feed_gap"]
    with pytest.raises(ValueError):
        parse_kinds("masked,bogus")
    s = generate(str(tmp_path / "x"), mines=1, days=1, cadence=1800, episodes="none")
    assert s["episodes"] == 0
    with pytest.raises(FileExistsError):
        generate(str(tmp_path / "x"), mines=1, days=1, cadence=1800)
    generate(str(tmp_path / "x"), mines=1, days=1, cadence=1800, episodes="flatline", force=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate(str(tmp_path / "mine"), mines=1, days=1, cadence=1800, force=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    labels = json.load(open(str(tmp_path / "x") + ".labels.json", encoding="utf-8"))
    assert [e["kind"] for e in labels["episodes"]] == ["flatline"]


def test_generated_cdss_parses_with_the_national_connector(sample):
    national_safety = pytest.importorskip("connectors.national_safety")
    from connectors.base import FileContext
    from schemas import Record, Reject

    _, labels, files = sample
    broken = _malformed(labels)
    rel = next(r for r in sorted(files) if "_CDSS_" in r and r not in broken)
    name = os.path.basename(rel)
    ctx = FileContext(name=name, mine_code=name.split("_")[0], stamp=datetime.strptime(name[-18:-4], "%Y%m%d%H%M%S"))
    items = list(national_safety.CdssStream().read(open(files[rel], "rb").read(), ctx))
    assert [i for i in items if isinstance(i, Record)] and not [i for i in items if isinstance(i, Reject)]


def _card_reads(summary, labels, files, mine: str) -> dict[str, list[tuple]]:
    """card -> [(time, station, station read at, distance, track)] from RYSS or REST."""
    out: dict[str, list[tuple]] = {}
    if _mine(labels, mine_code=mine)["positioning"] == "files":
        for r, p in sorted(files.items()):
            if r.startswith(mine) and "_RYSS_" in r and r not in _malformed(labels):
                header, recs, _ = _networking(p)
                for x in recs:
                    out.setdefault(x[0], []).append((_local(header[2]), x[7], x[8], x[10], x[14]))
    else:
        with open(os.path.join(summary["api"], f"positions_{mine}.jsonl"), encoding="utf-8") as f:
            for i in map(json.loads, f):
                out.setdefault(i["card"], []).append((_ts(i["read_at"]), i["station"], i["read_at"], "", ""))
    return out


def test_unread_and_lockstep_cards_are_in_the_data(sample):
    summary, labels, files = sample
    kinds = {e["kind"]: e for e in labels["episodes"]}
    ep = kinds["unread_cards"]
    reads = _card_reads(summary, labels, files, ep["mine_code"])
    a, b = _ts(ep["start"]) + 300, _ts(ep["end"]) - 300
    for card in ep["details"]["cards"]:
        inside = [r[1:] for r in reads[card] if a <= r[0] <= b]
        if _mine(labels, mine_code=ep["mine_code"])["positioning"] == "files":
            assert len(inside) > 10 and len(set(inside)) == 1, "listed underground, but no station reads it"
        else:
            assert not inside
    ep = kinds["lockstep_cards"]
    reads = _card_reads(summary, labels, files, ep["mine_code"])
    carrier = {r[0]: r[1:] for r in reads[ep["details"]["carrier"]]}
    assert len(carrier) > 50
    for card in ep["details"]["cards"]:
        assert {r[0]: r[1:] for r in reads[card]} == carrier, "the extra cards move in lock-step with their carrier"
