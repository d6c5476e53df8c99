"""A mine's life over the sample period: how hard each area works, what it draws, who is where.

Pure functions of the seed, the time and the planned effects, so every feed
writer sees the same mine whichever order they run in.
"""

from __future__ import annotations

import bisect
import random

from minewatch.sample.episodes import Effects, Stay
from minewatch.sample.province import (
    AREA_KINDS,
    CONCEALED_KW,
    DAY,
    IDLE_FACE_KW,
    MAINTENANCE_SHIFT,
    SHIFT,
    Mine,
    Province,
    make_rng,
)


class Scenario:
    """Work levels (0 idle … 1 full production) and power per area of one mine."""

    def __init__(self, province: Province, mine: Mine, fx: Effects):
        self.t0 = province.t0
        self.t1 = province.t1
        self.seed = province.seed
        self.mine = mine
        self.fx = fx
        self.declared = [a.code for a in mine.areas if a.declared]
        self.support = [a.code for a in mine.areas if a.kind in ("shaft", "roadway")]
        self.quiet = [a.code for a in mine.areas if not a.declared and a.kind not in ("shaft", "roadway")]
        self.kind = {a.code: a.kind for a in mine.areas}
        self._stops: dict[tuple[str, int, int], tuple[int, int]] = {}
        self._cache: tuple[int, dict[str, float]] = (-1, {})

    def _work(self, area: str, ts: int, always_production: bool = False) -> float:
        rel = ts - self.t0
        day, sd = divmod(rel, DAY)
        shift, pos = divmod(sd, SHIFT)
        if pos < 1800 or pos >= SHIFT - 1800:
            return 0.15  # shift change: the outgoing crew stops, the incoming one has not started
        key = (area, day, shift)
        stop = self._stops.get(key)
        if stop is None:
            r = make_rng("stop", self.seed, area, day, shift)
            if r.random() < 0.3:
                a = r.randrange(3600, SHIFT - 7200)
                stop = (a, a + r.randrange(1800, 5400))
            else:
                stop = (0, 0)
            self._stops[key] = stop
        if stop[0] <= pos < stop[1]:
            return 0.2  # a breakdown or a wait for supplies
        return 1.0 if (always_production or shift != MAINTENANCE_SHIFT) else 0.3

    def levels(self, ts: int) -> dict[str, float]:
        """Work level of every area at a time."""
        if self._cache[0] == ts:
            return self._cache[1]
        lv: dict[str, float] = {}
        top = 0.0
        for a in self.declared:
            v = self._work(a, ts)
            lv[a] = v
            top = v if v > top else top
        for a in self.support:
            lv[a] = 0.35 + 0.65 * top
        for a in self.quiet:
            lv[a] = 0.0
        for area, a, b in self.fx.concealed:
            if a <= ts < b:
                lv[area] = self._work(area, ts, always_production=True)
        self._cache = (ts, lv)
        return lv

    def kw(self, area: str, ts: int) -> float:
        """Power drawn by an area at a time, kW (before metering noise)."""
        kind = self.kind[area]
        level = self.levels(ts).get(area, 0.0)
        base, work = AREA_KINDS[kind][1], AREA_KINDS[kind][2]
        if kind in ("sealed", "goaf") or (kind == "working_face" and area not in self.declared):
            if kind == "working_face":
                base = IDLE_FACE_KW
            return base + CONCEALED_KW * level
        return base + work * level


def distance(key: int, ts: int) -> int:
    """A card's signed distance from its station: changes every minute, same for cards in lock-step."""
    return (key * 7919 + (ts // 60) * 104729) % 241 - 120


def build_stays(province: Province, mine: Mine, fx: Effects) -> list[Stay]:
    """Every trip underground in the period, sorted by first read."""
    stays: list[Stay] = []
    by_day: dict[tuple[str, int], Stay] = {}
    persons = {p.card: p for p in mine.persons}
    a2, a3, a4 = mine.area(2), mine.area(3), mine.area(4)
    mouth, bottom = mine.stations_in(a2)[0].code, mine.stations_in(a2)[1].code
    road = [s.code for s in mine.stations_in(a3)]
    ret = mine.stations_in(a4)[0].code
    declared = [a.code for a in mine.areas if a.declared]

    def trip(card: str, r: random.Random, start: int, end: int, plan: list[tuple[str, list[str]]], deep: bool) -> Stay:
        p = persons[card]
        t_mouth = start - 55 * 60 + r.randrange(0, 600)
        t_enter = t_mouth + r.randrange(120, 360)
        segs = [(t_mouth, a2, mouth), (t_enter + 180, a2, bottom), (t_enter + 480, a3, road[0])]
        t = t_enter + 1200
        if deep:
            segs.append((t, a3, road[2]))
        t += 600 + r.randrange(0, 300)
        leave = end - 25 * 60 + r.randrange(0, 600)
        k = 0
        while t < leave - 600:
            area, stations = plan[k % len(plan)]
            st = stations[r.randrange(len(stations))]
            if st != segs[-1][2]:
                segs.append((t, area, st))
            t += r.randrange(2400, 7200)
            k += 1
        t = max(leave, segs[-1][0] + 60)
        if deep:
            segs.append((t, a3, road[2]))
            t += 600
        segs += [(t, a3, road[0]), (t + 700, a2, bottom)]
        t_exit = t + 1100
        segs.append((t_exit, a2, mouth))
        return Stay(
            card,
            p.name,
            p.is_leader,
            p.is_special,
            t_mouth,
            t_enter,
            t_exit,
            t_exit + r.randrange(60, 240),
            segs,
            distance_key=int(card[-5:]) + mine.index * 100000,
        )

    def stations(area: str) -> list[str]:
        return [s.code for s in mine.stations_in(area)]

    for d in range(province.days + 1):
        for p in mine.persons:
            if p.shift is None or p.off_day == d % 7:
                continue
            start = province.t0 + d * DAY + p.shift * SHIFT
            if start - 3600 >= province.t1:
                continue
            r = make_rng("stay", province.seed, p.card, d)
            if p.role == "crew":
                plan, deep = [(p.work_area, stations(p.work_area))], True
            elif p.role == "inspector":
                plan, deep = [(p.work_area, stations(p.work_area)), (a4, [ret])], True
            elif p.role == "roadway":
                plan, deep = [(p.work_area, stations(p.work_area))], False
            elif p.role == "shaft":
                plan, deep = [(a2, [bottom]), (mine.area(1), stations(mine.area(1)))], False
            else:  # leader: walks the working places
                plan, deep = [(a, stations(a)) for a in declared] + [(a3, road)], True
            s = trip(p.card, r, start, start + SHIFT, plan, deep)
            stays.append(s)
            by_day[(p.card, d)] = s

    for cards, a, b, area, mode in fx.crews:
        for card in cards:
            r = make_rng("crew", province.seed, card, a)
            if mode == "read":
                s = trip(card, r, a, b, [(area, stations(area))], True)
            else:
                s = trip(card, r, a, b, [(a3, [road[2]])], True)
                s.frozen.append((a - 15 * 60, b - 20 * 60))
                s.hidden.append((a - 15 * 60, b - 20 * 60))
            stays.append(s)
    for card, a, b in fx.frozen_cards:
        for s in stays:
            if s.card == card and s.t_enter <= a < s.t_exit:
                s.frozen.append((a, b))
                s.hidden.append((a, b))
    for carrier, extra, day_ts in fx.lockstep:
        d = (day_ts - province.t0) // DAY
        base = by_day.get((carrier, d)) or by_day.get((carrier, d + 1))
        if base is None:
            continue
        for card in extra:
            p = persons[card]
            stays.append(
                Stay(
                    card,
                    p.name,
                    p.is_leader,
                    p.is_special,
                    base.t_mouth,
                    base.t_enter,
                    base.t_exit,
                    base.t_out,
                    list(base.segments),
                    list(base.frozen),
                    list(base.hidden),
                    base.distance_key,
                )
            )
    stays.sort(key=lambda s: (s.t_mouth, s.card))
    return stays


class StayState:
    """What the positioning system shows for one stay at one time."""

    __slots__ = ("flag", "area", "station", "station_at", "area_at", "track", "distance", "left_at", "read")


def state_at(stay: Stay, ts: int) -> StayState | None:
    """The card's state in a snapshot at ts, or None when it is not listed."""
    if ts < stay.t_mouth or ts >= stay.t_out + 600:
        return None
    eff = ts
    read = True
    for a, b in stay.frozen:
        if a <= ts < b:
            eff, read = a, False
            break
    segs = stay.segments
    i = bisect.bisect_right(segs, (eff, "\uffff", "\uffff")) - 1
    i = max(i, 0)
    st = StayState()
    st.read = read
    t, st.area, st.station = segs[i]
    st.station_at = t
    j = i
    while j > 0 and segs[j - 1][1] == st.area:
        j -= 1
    st.area_at = segs[j][0]
    st.track = segs[: i + 1]
    st.distance = distance(stay.distance_key, eff)
    st.left_at = None
    if ts >= stay.t_out:
        st.flag = 2
        st.left_at = stay.t_out
    elif stay.t_enter <= ts < stay.t_exit:
        st.flag = 1
    else:
        st.flag = 0
    return st


def hidden(stay: Stay, ts: int) -> bool:
    return any(a <= ts < b for a, b in stay.hidden)
