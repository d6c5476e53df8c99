"""Personnel positioning: C.1 files (RYQY, RYJZ, RYXX daily; RYSS and JZSS every cycle) and C.2 REST positions."""

from __future__ import annotations

import json

from minewatch.sample.episodes import Effects, Stay
from minewatch.sample.province import DAY, Mine, Province, iso, local, stamp
from minewatch.sample.scenario import hidden, state_at
from minewatch.sample.writers import Out, day_folder, networking

JZSS_PERIOD = 300
SYSTEM = ("KJ236(A)", "煤矿人员位置监测系统", "北京龙软", "2027-06-30")


def _active(stays: list[Stay], ts: int, start: int) -> tuple[list[Stay], int]:
    """Stays listed in a snapshot at ts; `start` skips stays that ended long ago (stays sorted by first read)."""
    out = []
    while start < len(stays) and stays[start].t_mouth <= ts - DAY:
        start += 1
    for s in stays[start:]:
        if s.t_mouth > ts:
            break
        if ts < s.t_out + 600:
            out.append(s)
    return out, start


def write_positioning_files(out: Out, province: Province, mine: Mine, fx: Effects, stays: list[Stay]) -> None:
    """C.1 national dialect, UTF-8, CRLF between records."""
    words = mine.index % 2 == 1  # some systems write 正常/求救 instead of 0/1

    def write(kind: str, ts: int, recs: list[str], header: list[str] | None = None) -> None:
        out.write(
            f"{day_folder(mine, ts)}/{mine.code}_{kind}_{stamp(ts)}.txt",
            networking(header or [mine.code, mine.name, local(ts)], recs, "\r\n").encode(),
            f"positioning.{kind}",
            len(recs),
        )

    for d in range(province.days):
        day = province.t0 + d * DAY
        rated = {"井口区域": 200, "重点区域": 40, "限制区域": 0, "其它区域": 80}
        write("RYQY", day + 10, [f"{a.ryqy_type};{a.code};{rated[a.ryqy_type]};{a.name}" for a in mine.areas])
        write(
            "RYJZ",
            day + 11,
            [f"{s.code};{s.name};{s.xyz[0]:.2f};{s.xyz[1]:.2f};{s.xyz[2]:.1f};{s.name}" for s in mine.stations],
        )
        write(
            "RYXX",
            day + 12,
            [
                f"{p.card};{p.name};{p.job};{p.title};{p.team};{p.birth};{p.education};{p.is_leader};{p.is_special}"
                for p in mine.persons
            ],
            header=[mine.code, mine.name, "", *SYSTEM, local(day + 12)],
        )
    start = 0
    ts = province.t0
    while ts < province.t1:
        if not any(a <= ts <= b for a, b in fx.ryss_gaps):
            active, start = _active(stays, ts, start)
            recs = []
            for s in active:
                st = state_at(s, ts)
                if st is None:
                    continue
                track = ",".join(f"{code}&{local(t)}" for t, _, code in st.track)
                recs.append(
                    f"{s.card};{s.person_name};{st.flag};{local(s.t_enter) if ts >= s.t_enter else ''};"
                    f"{local(st.left_at) if st.left_at else ''};{st.area};{local(st.area_at)};{st.station};"
                    f"{local(st.station_at)};三八制;{st.distance};{'正常' if words else '0'};"
                    f"{s.is_leader};{s.is_special};{track}"
                )
            write("RYSS", ts + 5, recs)
        if (ts - province.t0) % JZSS_PERIOD == 0:
            recs = []
            for station in mine.stations:
                down = any(code == station.code and a <= ts <= b for code, a, b in fx.station_down)
                recs.append(f"{station.code};{1 if down else 0};1;{local(ts)}")
            write("JZSS", ts + 7, recs)
        ts += mine.ryss_cadence


def write_positioning_rest(out: Out, province: Province, mine: Mine, stays: list[Stay]) -> None:
    """C.2: every read of every card, sorted by read time, as JSON lines beside the landing folder."""
    items = []
    start = 0
    ts = province.t0
    while ts < province.t1:
        active, start = _active(stays, ts, start)
        for s in active:
            st = state_at(s, ts)
            if st is None or hidden(s, ts):
                continue
            read_at = ts + s.distance_key % 47
            items.append((read_at, s.card, st.area, st.station, st.flag))
        ts += mine.ryss_cadence
    items.sort()
    with open(out.api_path(f"positions_{mine.code}.jsonl"), "w", encoding="utf-8") as f:
        for read_at, card, area, station, flag in items:
            f.write(
                json.dumps(
                    {
                        "card": card,
                        "area": area,
                        "station": station,
                        "read_at": iso(read_at),
                        "in_mine": flag,
                        "status": 0,
                    }
                )
                + "\n"
            )
    out.count("positioning.rest", len(items), files=0)
