"""Labelled episodes (what a detector must find) and benign noise (what it must survive), planned per mine.

An episode is planned once and leaves its marks in several feeds through the
mine's `Effects`; its label names the flag codes (contract G.1) that
legitimately report it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from minewatch.sample.province import DAY, SHIFT, Area, Mine, Province, Station, iso, make_rng

EPISODE_KINDS = (
    "concealed_face",
    "flatline",
    "masked",
    "feed_gap",
    "unread_cards",
    "lockstep_cards",
    "seal_no_camera",
    "undeclared_explosives",
    "unregistered_area",
)

# where standalone episodes go: candidate start hours and length in hours
SLOTS = {
    "flatline": ((17, 1, 9), 6),
    "masked": ((1, 17, 9), 5),
    "feed_gap": ((10, 3, 20), 2),
    "unread_cards": ((18, 2, 10), 4),
    "lockstep_cards": ((16, 0, 8), 8),
    "undeclared_explosives": ((16, 0, 8), 1),
    "unregistered_area": ((8, 16, 0), 8),
}
RESERVE_CREWS = {
    "concealed_a": slice(0, 5),
    "concealed_b": slice(5, 10),
    "lockstep": slice(10, 12),
    "unregistered": slice(12, 16),
}


@dataclass
class Episode:
    kind: str
    mine_code: str
    subject_kind: str
    subject_code: str
    area_code: str | None
    start: int
    end: int
    flag_codes: list[str]
    verify_unsealing: bool
    details: dict = field(default_factory=dict)

    def label(self, number: int) -> dict:
        return {
            "id": f"ep-{number:03d}",
            "mine_code": self.mine_code,
            "kind": self.kind,
            "subject_kind": self.subject_kind,
            "subject_code": self.subject_code,
            "area_code": self.area_code,
            "start": iso(self.start),
            "end": iso(self.end),
            "flag_codes": self.flag_codes,
            "verify_unsealing": self.verify_unsealing,
            "details": self.details,
        }


@dataclass
class Stay:
    """One person's trip underground: the stations that read the card and when."""

    card: str
    person_name: str
    is_leader: int
    is_special: int
    t_mouth: int  # first read at the shaft mouth (flag 0)
    t_enter: int  # 入井
    t_exit: int  # back at the shaft mouth
    t_out: int  # out of the mine (flag 2)
    segments: list[tuple[int, str, str]]  # (from, area, station), time-ordered
    frozen: list[tuple[int, int]] = field(default_factory=list)  # reads stop changing in these windows
    hidden: list[tuple[int, int]] = field(default_factory=list)  # no read at all (REST) in these windows
    distance_key: int = 0  # cards in lock-step share their carrier's key


@dataclass
class Effects:
    """Everything planned for one mine that departs from its routine."""

    point: list[tuple[int, int, str, str, object]] = field(default_factory=list)  # (from, to, point, mode, param)
    safety_gaps: list[tuple[int, int]] = field(default_factory=list)
    ryss_gaps: list[tuple[int, int]] = field(default_factory=list)
    concealed: list[tuple[str, int, int]] = field(default_factory=list)  # (area, from, to)
    station_down: list[tuple[str, int, int]] = field(default_factory=list)
    issues: list[tuple[int, str, float, int, float, int]] = field(default_factory=list)
    camera_events: list[tuple[int, str, str]] = field(default_factory=list)
    meter_missing: list[tuple[str, int]] = field(default_factory=list)
    meter_replaced: list[tuple[str, int]] = field(default_factory=list)
    frozen_cards: list[tuple[str, int, int]] = field(default_factory=list)
    lockstep: list[tuple[str, list[str], int]] = field(default_factory=list)  # (carrier, extra cards, day start)
    crews: list[tuple[list[str], int, int, str, str]] = field(
        default_factory=list
    )  # (cards, from, to, area, read|unread)
    benign: list[dict] = field(default_factory=list)


def parse_kinds(spec: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """`all`, `none` or a comma list of episode kinds."""
    if spec is None or spec == "all":
        return list(EPISODE_KINDS)
    if isinstance(spec, str):
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    if list(spec) in (["none"], []):
        return []
    unknown = [s for s in spec if s not in EPISODE_KINDS]
    if unknown:
        raise ValueError(f"unknown episode kind(s) {', '.join(unknown)}; known: {', '.join(EPISODE_KINDS)}, all, none")
    return [k for k in EPISODE_KINDS if k in spec]


def plan(province: Province, kinds: list[str]) -> tuple[list[Episode], dict[str, Effects]]:
    """Place the requested episodes and the benign noise on the province's mines."""
    rng = make_rng("episodes", province.seed)
    effects = {m.code: Effects() for m in province.mines}
    busy: dict[str, list[tuple[int, int]]] = {m.code: [] for m in province.mines}
    episodes: list[Episode] = []
    mines = province.mines
    concealed_mines = [m for m in mines if m.index % 5 in (0, 1)] if "concealed_face" in kinds else []
    for k, mine in enumerate(concealed_mines):
        ep = _concealed(province, mine, effects[mine.code], variant="ab"[k % 2], rng=rng)
        busy[mine.code].append((ep.start, ep.end))
        episodes.append(ep)
    others = [m for m in mines if m not in concealed_mines]
    order = others[: max(1, len(others) // 2)] + concealed_mines if others else concealed_mines or mines
    standalone = [k for k in kinds if k != "concealed_face"]
    for n, kind in enumerate(standalone):
        mine = order[n % len(order)]
        ep = _standalone(province, mine, kind, effects[mine.code], busy[mine.code], rng)
        if ep:
            episodes.append(ep)
    for mine in mines:
        _benign(province, mine, effects[mine.code], rng)
    return episodes, effects


def _days_order(province: Province) -> list[int]:
    """Days to try for an episode: the middle first, the first day (the detector's baseline) last."""
    d = province.days
    mid = d // 2
    order = list(range(mid, d)) + list(range(mid - 1, -1, -1))
    if d >= 2 and order[0] == 0:
        order = order[1:] + [0]
    return order


def _slot(province: Province, kind: str, busy: list[tuple[int, int]]) -> tuple[int, int]:
    hours, length = SLOTS[kind]
    for d in _days_order(province):
        for h in hours:
            start = province.t0 + d * DAY + h * 3600
            end = start + length * 3600
            if end > province.t1 - 1800:
                continue
            if all(end + 3600 <= a or start >= b + 3600 for a, b in busy):
                busy.append((start, end))
                return start, end
    start = province.t0 + hours[0] * 3600
    return start, min(start + length * 3600, province.t1 - 600)


def _working(person, day_index: int) -> bool:
    return person.off_day != day_index % 7


def _concealed(province: Province, mine: Mine, fx: Effects, variant: str, rng: random.Random) -> Episode:
    """A working face behind seal M-01: power, explosives, a shielded methane sensor, a blind camera, hidden cards."""
    d = province.days // 2
    start = province.t0 + d * DAY + (0 if variant == "b" and d >= 1 else 16 * 3600)  # a night shift, or an evening
    end = min(start + 16 * 3600, province.t1 - 3600)
    seal = mine.seals[0]
    area = seal.area
    fx.concealed.append((area, start, end))
    ch4 = mine.points_in(area, "0001")[0]
    lead, tail = start - 35 * 60, end + 30 * 60
    camera = seal.camera_id
    meter = next(m.meter_id for m in mine.meters if m.area == area)
    codes = ["POWER_BEHIND_SEAL", "POWER_WITHOUT_MONITORING", "EXPLOSIVES_UNDECLARED", "SEAL_UNWATCHED"]
    if variant == "a":
        fx.point.append((start - 30 * 60, tail, ch4.code, "masked", 64))
        fx.camera_events += [(lead, camera, "OFFLINE"), (end + 20 * 60, camera, "ONLINE")]
        codes += ["POINT_MASKED", "CAMERA_OFFLINE", "PERSONNEL_BEHIND_SEAL"]
    else:
        fx.point.append((start - 30 * 60, tail, ch4.code, "flat", None))
        fx.camera_events += [(lead, camera, "SCENE_CHANGE"), (end + 20 * 60, camera, "ONLINE")]
        codes += ["POINT_FLATLINE", "CAMERA_TAMPER", "CARD_UNREAD", "POWER_WITHOUT_PERSONNEL"]
        if mine.positioning == "files":
            station = mine.stations_in(area)[0].code
            fx.station_down.append((station, lead, tail))
            codes.append("STATION_SILENT")
    reserve = [p for p in mine.persons if p.role == "reserve"]
    crews = [
        [p.card for p in reserve[RESERVE_CREWS["concealed_a"]]],
        [p.card for p in reserve[RESERVE_CREWS["concealed_b"]]],
    ]
    blocks = []
    t = start
    while t < end - 1800:
        shift_end = (t - province.t0) // SHIFT * SHIFT + SHIFT + province.t0
        b_end = min(shift_end, end)
        blocks.append((t, b_end))
        t = b_end
    cards = []
    for k, (a, b) in enumerate(blocks):
        crew = crews[k % 2]
        fx.crews.append((crew, a, b, area, "read" if variant == "a" else "unread"))
        cards += [c for c in crew if c not in cards]
        kg = round(rng.uniform(14, 26), 1)
        fx.issues.append(
            (
                a + 25 * 60,
                area,
                kg,
                int(kg * 1.5) + rng.randrange(0, 6),
                round(rng.uniform(0, 2), 1),
                rng.randrange(0, 3),
            )
        )
    return Episode(
        "concealed_face",
        mine.code,
        "area",
        area,
        area,
        lead,
        tail,
        codes,
        True,
        {
            "variant": variant,
            "seal_code": seal.code,
            "point_code": ch4.code,
            "camera_id": camera,
            "meter_id": meter,
            "cards": cards,
            "work_start": iso(start),
            "work_end": iso(end),
        },
    )


def _standalone(
    province: Province, mine: Mine, kind: str, fx: Effects, busy: list, rng: random.Random
) -> Episode | None:
    face = mine.areas_of("working_face", declared=True)[0]
    heading = mine.areas_of("heading", declared=True)[0]
    if kind == "seal_no_camera":
        seal = mine.seals[1]
        cam = seal.camera_id
        seal.camera_id = ""
        mine.cameras = [c for c in mine.cameras if c.camera_id != cam]
        return Episode(
            kind,
            mine.code,
            "seal",
            seal.code,
            seal.area,
            province.t0,
            province.t1,
            ["SEAL_UNWATCHED"],
            False,
            {"seal_code": seal.code},
        )
    start, end = _slot(province, kind, busy)
    day = (start - province.t0) // DAY
    shift = (start - province.t0) % DAY // SHIFT
    if kind == "flatline":
        p = mine.points_in(face.code, "0001")[1]
        fx.point.append((start, end, p.code, "flat", None))
        return Episode(
            kind,
            mine.code,
            "point",
            p.code,
            face.code,
            start,
            end,
            ["POINT_FLATLINE", "POWER_WITHOUT_MONITORING"],
            False,
            {"point_code": p.code},
        )
    if kind == "masked":
        p = mine.points_in(heading.code, "0001")[0]
        fx.point.append((start, end, p.code, "masked", 64 if mine.safety == "provincial" else 32))
        return Episode(
            kind,
            mine.code,
            "point",
            p.code,
            heading.code,
            start,
            end,
            ["POINT_MASKED", "POWER_WITHOUT_MONITORING"],
            False,
            {"point_code": p.code},
        )
    if kind == "feed_gap":
        fx.safety_gaps.append((start, end))
        return Episode(
            kind,
            mine.code,
            "mine",
            mine.code,
            None,
            start,
            end,
            ["SAFETY_FEED_GAP", "POINT_SILENT", "POWER_WITHOUT_MONITORING"],
            False,
            {},
        )
    if kind == "unread_cards":
        crew = [
            p
            for p in mine.persons
            if p.role == "crew" and p.work_area == face.code and p.shift == shift and _working(p, day)
        ]
        cards = [p.card for p in crew[:3]]
        for c in cards:
            fx.frozen_cards.append((c, start, end))
        return Episode(
            kind, mine.code, "card", cards[0], face.code, start, end, ["CARD_UNREAD"], False, {"cards": cards}
        )
    if kind == "lockstep_cards":
        carrier = next(
            p
            for p in mine.persons
            if p.role == "crew" and p.work_area == heading.code and p.shift == shift and _working(p, day)
        )
        extra = [p.card for p in mine.persons if p.role == "reserve"][RESERVE_CREWS["lockstep"]]
        fx.lockstep.append((carrier.card, extra, province.t0 + day * DAY))
        s_start = province.t0 + day * DAY + shift * SHIFT
        return Episode(
            kind,
            mine.code,
            "card",
            extra[0],
            heading.code,
            s_start - 3600,
            s_start + SHIFT + 3600,
            ["CARD_UNREAD"],
            False,
            {"carrier": carrier.card, "cards": extra},
        )
    if kind == "undeclared_explosives":
        idle = mine.areas_of("working_face", declared=False)[0]
        ts = start + 25 * 60
        kg = round(rng.uniform(8, 18), 1)
        fx.issues.append((ts, idle.code, kg, int(kg * 1.5) + rng.randrange(0, 5), 0.0, 0))
        return Episode(kind, mine.code, "area", idle.code, idle.code, ts, ts, ["EXPLOSIVES_UNDECLARED"], False, {})
    if kind == "unregistered_area":
        code = mine.area(31)
        mine.areas.append(Area(code, "临时作业点", "heading", declared=False, registered=False))
        mine.stations.append(Station(f"{code}000001", "临时作业点", code, (38_404_000.0, 3_744_000.0, -520.0)))
        cards = [p.card for p in mine.persons if p.role == "reserve"][RESERVE_CREWS["unregistered"]]
        fx.crews.append((cards, start, end, code, "read"))
        return Episode(kind, mine.code, "area", code, code, start, end, ["UNREGISTERED_AREA"], False, {"cards": cards})
    return None


def _benign(province: Province, mine: Mine, fx: Effects, rng: random.Random) -> None:
    """Routine departures: calibration, upload hiccups, a camera reboot, a missing meter reading, a sensor blip."""
    shielded = {code for _, _, code, _, _ in fx.point}
    ch4 = [
        p
        for p in mine.points
        if p.sensor_type == "0001"
        and any(a.declared and a.code == p.area for a in mine.areas)
        and p.code not in shielded
    ]
    cams = [c for c in mine.cameras if c.seal is None]
    cycle = mine.cadence
    for d in range(province.days):
        day = province.t0 + d * DAY
        if ch4:
            p = ch4[d % len(ch4)]
            a = day + 10 * 3600 + rng.randrange(0, 40) * 60
            b = a + rng.randrange(8, 15) * 60
            fx.point.append((a, b, p.code, "calibration", None))
            fx.benign.append(
                {"mine_code": mine.code, "kind": "calibration", "subject_code": p.code, "start": iso(a), "end": iso(b)}
            )
        a = day + rng.randrange(3600, 23 * 3600) // cycle * cycle
        b = a + rng.randrange(2, 4) * cycle
        fx.safety_gaps.append((a, b - 1))
        fx.benign.append(
            {
                "mine_code": mine.code,
                "kind": "upload_hiccup",
                "subject_code": mine.code,
                "feed": "safety",
                "start": iso(a),
                "end": iso(b - 1),
            }
        )
        if mine.positioning == "files":
            a = day + rng.randrange(3600, 23 * 3600) // mine.ryss_cadence * mine.ryss_cadence
            fx.ryss_gaps.append((a, a + mine.ryss_cadence - 1))
            fx.benign.append(
                {
                    "mine_code": mine.code,
                    "kind": "upload_hiccup",
                    "subject_code": mine.code,
                    "feed": "positioning",
                    "start": iso(a),
                    "end": iso(a + mine.ryss_cadence - 1),
                }
            )
        if cams:
            cam = cams[d % len(cams)]
            a = day + rng.randrange(3600, 23 * 3600)
            b = a + rng.randrange(120, 300)
            fx.camera_events += [(a, cam.camera_id, "OFFLINE"), (b, cam.camera_id, "ONLINE")]
            fx.benign.append(
                {
                    "mine_code": mine.code,
                    "kind": "camera_reboot",
                    "subject_code": cam.camera_id,
                    "start": iso(a),
                    "end": iso(b),
                }
            )
        meter = mine.meters[d % len(mine.meters)]
        t = day + rng.randrange(8, 90) * 900
        fx.meter_missing.append((meter.meter_id, t))
        fx.benign.append(
            {
                "mine_code": mine.code,
                "kind": "missing_meter_reading",
                "subject_code": meter.meter_id,
                "start": iso(t),
                "end": iso(t + 900),
            }
        )
    co = [p for p in mine.points if p.sensor_type == "0004"]
    if co:
        p = co[len(co) // 2]
        a = province.t0 + 14 * 3600 + rng.randrange(0, 60) * 60
        a = a // cycle * cycle
        fx.point.append((a, a + 2 * cycle - 1, p.code, "fault", None))
        fx.benign.append(
            {
                "mine_code": mine.code,
                "kind": "sensor_fault_blip",
                "subject_code": p.code,
                "start": iso(a),
                "end": iso(a + 2 * cycle - 1),
            }
        )
    if mine.meters_kind == "registers" and province.days >= 3:
        meter = mine.meters[2]
        t = province.t0 + 2 * DAY + 10 * 3600
        fx.meter_replaced.append((meter.meter_id, t))
        fx.benign.append(
            {
                "mine_code": mine.code,
                "kind": "meter_replaced",
                "subject_code": meter.meter_id,
                "start": iso(t),
                "end": iso(t),
            }
        )
