"""Writers for the small feeds (registry, video, meters, explosives) and the shared file helpers.

The safety and positioning writers live in `safety.py` and `positioning.py`.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from xml.sax.saxutils import escape

from minewatch.sample.episodes import Effects
from minewatch.sample.province import DAY, PROVINCE, SHIFT, Mine, Province, daystamp, iso, make_rng
from minewatch.sample.scenario import Scenario

BOM = b"\xef\xbb\xbf"


class Out:
    """The landing folder (and the REST folder beside it): writes files and counts them per kind."""

    def __init__(self, root: str, api: str | None = None):
        self.root = root
        self.api = api
        self.files: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self._dirs: set[str] = set()

    def path(self, rel: str) -> str:
        path = os.path.join(self.root, rel)
        d = os.path.dirname(path)
        if d not in self._dirs:
            os.makedirs(d, exist_ok=True)
            self._dirs.add(d)
        return path

    def count(self, kind: str, rows: int, files: int = 1) -> None:
        self.files[kind] = self.files.get(kind, 0) + files
        self.rows[kind] = self.rows.get(kind, 0) + rows

    def write(self, rel: str, data: bytes, kind: str, rows: int) -> None:
        with open(self.path(rel), "wb") as f:
            f.write(data)
        self.count(kind, rows)

    def api_path(self, name: str) -> str:
        assert self.api is not None
        os.makedirs(self.api, exist_ok=True)
        return os.path.join(self.api, name)


def networking(header: list[str], records: list[str], newline: str = "\r\n") -> str:
    """A B.0 file: header record, `~`-terminated records, the `||` trailer; records are pre-joined with `;`."""
    end = "~" + newline
    return ";".join(header) + end + end.join(records) + (end if records else "") + "||"


def csv_bytes(header: str, rows: list[str], newline: str = "\n", encoding: str = "utf-8", bom: bool = False) -> bytes:
    text = newline.join([header, *rows]) + newline
    data = text.encode(encoding)
    return BOM + data if bom else data


def day_folder(mine: Mine, ts: int) -> str:
    return f"{mine.code}/{daystamp(ts)}"


# ---------------------------------------------------------------- registry (F.2)


def write_registry(out: Out, province: Province) -> None:
    """registry/mines, areas, points, seals, meters: the regulator's reference data."""
    rng = make_rng("registry", province.seed)
    mines = [
        f"{m.code},{m.name},{PROVINCE},{m.county},producing,{rng.choice(('0.90', '1.20', '1.50', '2.40', '0.60'))}"
        for m in province.mines
    ]
    out.write(
        "registry/mines.csv",
        csv_bytes("mine_code,mine_name,province,county,status,capacity_mtpa", mines, "\r\n", "gb18030"),
        "registry.mines",
        len(mines),
    )
    areas = [
        f"{m.code},{a.code},{a.name},{a.kind},{'true' if a.declared else 'false'}"
        for m in province.mines
        for a in m.areas
        if a.registered
    ]
    out.write(
        "registry/areas.csv",
        csv_bytes("mine_code,area_code,area_name,kind,declared_active", areas, "\r\n", bom=True),
        "registry.areas",
        len(areas),
    )
    points = [f"{m.code},{p.code},{p.area}" for m in province.mines for p in m.points]
    out.write(
        "registry/points.csv", csv_bytes("mine_code,point_code,area_code", points), "registry.points", len(points)
    )
    seals = [
        f"{m.code},{s.code},{s.area},{s.built_on},{s.design_ref},{s.camera_id}" for m in province.mines for s in m.seals
    ]
    out.write(
        "registry/seals.csv",
        csv_bytes("mine_code,seal_code,area_code,built_on,design_ref,camera_id", seals),
        "registry.seals",
        len(seals),
    )
    meters = []
    for m in province.mines:
        for k, mt in enumerate(m.meters):
            up = mt.usage_point
            if up and k % 2 == 1:
                up = usage_point_href(m, up)  # the registry holds either the href or its last segment
            meters.append(f"{m.code},{mt.meter_id},{up},{mt.area},{mt.multiplier}")
    out.write(
        "registry/meters.csv",
        csv_bytes("mine_code,meter_id,usage_point,area_code,multiplier", meters),
        "registry.meters",
        len(meters),
    )


def usage_point_href(mine: Mine, up: str) -> str:
    return f"/espi/1_1/resource/RetailCustomer/{mine.code}/UsagePoint/{up}"


# ---------------------------------------------------------------- explosives (F.1)


def write_explosives(out: Out, province: Province, mine: Mine, fx: Effects) -> None:
    """`{mine}_explosives_{yyyyMMdd}.csv`: issues to the declared headings each production shift, plus planned ones."""
    rng = make_rng("explosives", province.seed, mine.code)
    headings = [a.code for a in mine.areas if a.declared and a.kind == "heading"]
    for d in range(province.days):
        day = province.t0 + d * DAY
        issues = []
        for shift in (0, 2):
            for area in headings:
                ts = day + shift * SHIFT + 25 * 60 + rng.randrange(0, 600)
                kg = round(rng.uniform(12, 30), 1)
                issues.append(
                    (
                        ts,
                        area,
                        kg,
                        int(kg * 1.6) + rng.randrange(0, 8),
                        round(rng.uniform(0, 3), 1),
                        rng.randrange(0, 5),
                    )
                )
        issues += [i for i in fx.issues if day <= i[0] < day + DAY]
        issues.sort()
        rows = [
            f"HG{daystamp(day)}{n:03d},{iso(ts)},{area},{kg:.1f},{det},{rkg:.1f},{rdet}"
            for n, (ts, area, kg, det, rkg, rdet) in enumerate(issues, start=1)
        ]
        out.write(
            f"{day_folder(mine, day)}/{mine.code}_explosives_{daystamp(day)}.csv",
            csv_bytes(
                "record_id,issued_at,area_code,explosive_kg,detonators,returned_kg,returned_detonators", rows, "\r\n"
            ),
            "explosives",
            len(rows),
        )


# ---------------------------------------------------------------- video (D.1, D.2)


def video_events(mine: Mine, fx: Effects) -> list[dict]:
    cams = {c.camera_id: c for c in mine.cameras}
    events = []
    for n, (ts, cam, kind) in enumerate(sorted(fx.camera_events), start=1):
        c = cams.get(cam)
        if c is None:
            continue
        events.append(
            {
                "event_id": f"e-{mine.code[-6:]}-{n:05d}",
                "camera_id": cam,
                "area_code": c.area,
                "seal_code": c.seal,
                "type": kind,
                "at": iso(ts),
                "_ts": ts,
            }
        )
    return events


def write_video(out: Out, province: Province, mine: Mine, fx: Effects) -> None:
    """D.2 daily CSV for file mines; D.1 camera list and events (JSON) beside the landing folder for REST mines."""
    events = video_events(mine, fx)
    if mine.video == "csv":
        for d in range(province.days):
            day = province.t0 + d * DAY
            rows = [
                f"{e['event_id']},{e['camera_id']},{e['area_code']},{e['seal_code'] or ''},{e['type']},{e['at']}"
                for e in events
                if day <= e["_ts"] < day + DAY
            ]
            out.write(
                f"{day_folder(mine, day)}/{mine.code}_video_{daystamp(day)}.csv",
                csv_bytes("event_id,camera_id,area_code,seal_code,type,at", rows, "\r\n", bom=True),
                "video.csv",
                len(rows),
            )
        return
    cameras = [
        {
            "camera_id": c.camera_id,
            "name": c.name,
            "area_code": c.area,
            "seal_code": c.seal,
            "online": True,
            "preset": c.preset,
        }
        for c in mine.cameras
    ]
    with open(out.api_path(f"cameras_{mine.code}.json"), "w", encoding="utf-8") as f:
        json.dump(cameras, f, ensure_ascii=False, indent=1)
    with open(out.api_path(f"events_{mine.code}.jsonl"), "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps({k: e[k] for k in ("event_id", "camera_id", "type", "at")}, ensure_ascii=False) + "\n")
    out.count("video.rest", len(events), files=0)


# ---------------------------------------------------------------- meters (E.1, E.2)


def interval_kwh(scen: Scenario, area: str, ts: int, rng: random.Random) -> float:
    """Energy of one 15-minute interval, kWh, with metering noise."""
    kw = (scen.kw(area, ts + 150) + scen.kw(area, ts + 450) + scen.kw(area, ts + 750)) / 3.0
    return max(0.0, kw * 0.25 * (1.0 + rng.gauss(0, 0.02)))


def write_meters(out: Out, province: Province, scenarios: dict[str, Scenario], effects: dict[str, Effects]) -> None:
    """E.2 `meter_readings_{yyyyMMdd}.csv` for the register meters of all mines; one ESPI feed per ESPI mine and day."""
    state: dict[str, list] = {}
    for m in province.mines:
        for mt in m.meters:
            r = make_rng("meter", province.seed, mt.meter_id)
            state[mt.meter_id] = [r, r.uniform(1500, 60000)]
    for d in range(province.days):
        day = province.t0 + d * DAY
        rows = []
        for m in province.mines:
            scen, fx = scenarios[m.code], effects[m.code]
            missing = set(fx.meter_missing)
            if m.meters_kind == "registers":
                for mt in m.meters:
                    st = state[mt.meter_id]
                    r = st[0]
                    for k in range(96):
                        ts = day + k * 900
                        if (mt.meter_id, ts) in fx.meter_replaced:
                            st[1] = r.uniform(0, 0.5)
                        if (mt.meter_id, ts) not in missing:
                            rows.append(f"{mt.meter_id},{iso(ts)},{st[1]:.2f}")
                        st[1] += interval_kwh(scen, mt.area, ts, r) / mt.multiplier
            else:
                xml = espi_feed(m, scen, day, state, missing)
                out.write(
                    f"meters/greenbutton_{m.code}_{daystamp(day)}.xml",
                    xml.encode("utf-8"),
                    "meters.espi",
                    len(m.meters) * 96,
                )
        if rows:
            out.write(
                f"meters/meter_readings_{daystamp(day)}.csv",
                csv_bytes("meter_id,read_at,import_kwh_register", rows),
                "meters.registers",
                len(rows),
            )


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "minewatch-sample:" + ":".join(map(str, parts)))).upper()


def _entry(self_href: str, up_href: str, title: str, content: str, related: list[str], updated: str) -> str:
    links = "".join(f'<link rel="related" href="{h}"/>' for h in related)
    return (
        f'<entry><id>urn:uuid:{_uuid(self_href)}</id><link rel="self" href="{self_href}"/>'
        f'<link rel="up" href="{up_href}"/>{links}<title>{escape(title)}</title>'
        f"<content>{content}</content><published>{updated}</published><updated>{updated}</updated></entry>\n"
    )


def espi_feed(mine: Mine, scen: Scenario, day: int, state: dict, missing: set) -> str:
    """A Green Button Atom feed of one mine and day.

    LocalTimeParameters, one ReadingType (Wh, 15 min), and per meter a UsagePoint, MeterReading and IntervalBlock.
    """
    updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day + DAY))
    p10 = mine.espi_power
    rt = f"/espi/1_1/resource/ReadingType/{mine.code[-4:]}01"
    ltp = "/espi/1_1/resource/LocalTimeParameters/01"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n',
        f"<id>urn:uuid:{_uuid(mine.code, day)}</id><title>Green Button Subscription Feed</title>"
        f"<updated>{updated}</updated>"
        f'<link rel="self" href="/espi/1_1/resource/Subscription/{mine.code}"/>\n',
        _entry(
            ltp,
            "/espi/1_1/resource/LocalTimeParameters",
            "China Standard Time",
            '<LocalTimeParameters xmlns="http://naesb.org/espi"><dstEndRule>B40E2000</dstEndRule><dstOffset>0</dstOffset>'
            "<dstStartRule>360E2000</dstStartRule><tzOffset>28800</tzOffset></LocalTimeParameters>",
            [],
            updated,
        ),
        _entry(
            rt,
            "/espi/1_1/resource/ReadingType",
            "Fifteen Minute Electricity Consumption",
            '<ReadingType xmlns="http://naesb.org/espi"><accumulationBehaviour>4</accumulationBehaviour><commodity>1</commodity>'
            "<currency>156</currency><dataQualifier>12</dataQualifier><flowDirection>1</flowDirection>"
            f"<intervalLength>900</intervalLength><kind>12</kind><phase>769</phase><powerOfTenMultiplier>{p10}</powerOfTenMultiplier>"
            "<timeAttribute>0</timeAttribute><uom>72</uom></ReadingType>",
            [],
            updated,
        ),
    ]
    area_names = {a.code: a.name for a in mine.areas}
    for mt in mine.meters:
        up = usage_point_href(mine, mt.usage_point)
        mr = f"{up}/MeterReading/01"
        parts.append(
            _entry(
                up,
                f"/espi/1_1/resource/RetailCustomer/{mine.code}/UsagePoint",
                f"{mt.meter_id} {area_names[mt.area]}",
                '<UsagePoint xmlns="http://naesb.org/espi"><ServiceCategory><kind>0</kind></ServiceCategory></UsagePoint>',
                [f"{up}/MeterReading", ltp],
                updated,
            )
        )
        parts.append(
            _entry(
                mr,
                f"{up}/MeterReading",
                "Fifteen Minute Electricity Consumption",
                '<MeterReading xmlns="http://naesb.org/espi"/>',
                [f"{mr}/IntervalBlock", rt],
                updated,
            )
        )
        r = state[mt.meter_id][0]
        readings = []
        for k in range(96):
            ts = day + k * 900
            wh = interval_kwh(scen, mt.area, ts, r) * 1000.0
            if (mt.meter_id, ts) in missing:
                continue
            readings.append(
                f"<IntervalReading><timePeriod><duration>900</duration><start>{ts}</start></timePeriod>"
                f"<value>{round(wh / 10**p10)}</value></IntervalReading>"
            )
        block = (
            f'<IntervalBlock xmlns="http://naesb.org/espi"><interval><duration>86400</duration><start>{day}</start></interval>'
            + "".join(readings)
            + "</IntervalBlock>"
        )
        parts.append(_entry(f"{mr}/IntervalBlock/{daystamp(day)}", f"{mr}/IntervalBlock", "", block, [], updated))
    parts.append("</feed>\n")
    return "".join(parts)
