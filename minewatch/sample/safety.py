"""Safety monitoring: the point signal model and the writers of its three dialects.

B.1 national (UTF-8), B.2 provincial (GB18030) and B.3 CSV.
"""

from __future__ import annotations

import math
import random

from minewatch.sample.episodes import Effects
from minewatch.sample.province import (
    DAY,
    SENSOR_TYPES,
    SWITCH_LABELS,
    Mine,
    Province,
    daystamp,
    iso,
    local,
    make_rng,
    stamp,
)
from minewatch.sample.scenario import Scenario
from minewatch.sample.writers import Out, day_folder, networking

STATS_PERIOD = 300


def _provincial_status(s: int) -> int:
    """National status bits (B.5) to provincial ones (B.6)."""
    r = s & 3
    if s & 4:
        r |= 16
    if s & 8:
        r |= 32
    if s & (16 | 128):
        r |= 8
    if s & (32 | 64):
        r |= 64
    return r


PROVINCIAL_STATUS = [_provincial_status(s) for s in range(256)]
NOT_MEASURED = 16 | 128


class SafetySampler:
    """Readings of one mine's points, cycle by cycle: value (float or None), text, national status."""

    def __init__(self, province: Province, mine: Mine, scen: Scenario, fx: Effects):
        self.rng = make_rng("safety", province.seed, mine.code)
        self.scen = scen
        self.gaps = sorted(fx.safety_gaps)
        index = {p.code: i for i, p in enumerate(mine.points)}
        self.effects = sorted((a, b, index[code], mode, param) for a, b, code, mode, param in fx.point if code in index)
        self.params = []
        for p in mine.points:
            t = SENSOR_TYPES[p.sensor_type]
            dec = t[3]
            self.params.append(
                (p.area, p.mode, p.base, p.gain, p.sigma, p.drift_sd, f"%.{dec}f", dec, t[4], t[5], t[6], t[8])
            )
        self.drift = [0.0] * len(mine.points)
        self.flat: dict[tuple[int, int], tuple[float, str]] = {}

    def in_gap(self, ts: int) -> bool:
        for a, b in self.gaps:
            if a <= ts <= b:
                return True
        return False

    def cycle(self, ts: int) -> list[tuple[float | None, str, int]] | None:
        """One upload cycle's readings, or None when nothing was uploaded."""
        if self.in_gap(ts):
            return None
        lv = self.scen.levels(ts)
        active = (
            {i: (a, b, mode, param) for a, b, i, mode, param in self.effects if a <= ts <= b} if self.effects else None
        )
        gauss = self.rng.gauss
        drift = self.drift
        out = []
        append = out.append
        for i, (area, mode, base, gain, sigma, dsd, fmt, dec, lo, hi, alarm, cut) in enumerate(self.params):
            level = lv.get(area, 0.0)
            st = 0
            if mode == "analog":
                d = drift[i] * 0.995 + gauss(0.0, dsd)
                drift[i] = d
                v = base + gain * level + d + gauss(0.0, sigma)
                v = round(v if v > lo else lo, dec)
                if v > hi:
                    v, st = hi, 8
                if alarm is not None and v >= alarm:
                    st |= 1
                    if cut is not None and v >= cut:
                        st |= 2
            elif mode == "work":
                v = 1 if level > 0.5 else 0
            else:
                v = 1 if mode == "on" else 0
            if active is not None and i in active:
                a, b, emode, param = active[i]
                if emode == "flat":
                    v = self.flat.setdefault((i, a), v)
                    st = 0
                elif emode == "masked":
                    st |= param
                elif emode == "calibration":
                    frac = (ts - a) / max(1, b - a)
                    gas = 2.0 if 0.2 < frac < 0.8 else base + (2.0 - base) * math.sin(math.pi * min(frac, 1.0))
                    v = round(gas + gauss(0.0, 0.02), dec)
                    st = 4 | (1 if alarm is not None and v >= alarm else 0)
                elif emode == "fault":
                    append((None, "", 128))
                    continue
            append((v, fmt % v, st))
        return out


class Stats:
    """Five-minute statistics per analog point: avg, max and when, min and when."""

    def __init__(self, analog: list[int]):
        self.analog = analog
        self.acc: dict[int, list] = {}

    def add(self, ts: int, rows: list) -> None:
        acc = self.acc
        for i in self.analog:
            v, _, st = rows[i]
            if v is None or st & NOT_MEASURED:
                continue
            a = acc.get(i)
            if a is None:
                acc[i] = [v, ts, v, ts, v, 1]
            else:
                if v > a[0]:
                    a[0], a[1] = v, ts
                if v < a[2]:
                    a[2], a[3] = v, ts
                a[4] += v
                a[5] += 1

    def take(self) -> dict[int, list]:
        acc, self.acc = self.acc, {}
        return acc


def _upload_delay(rng: random.Random) -> int:
    return rng.randrange(2, 10)


def _cycles(province: Province, mine: Mine):
    ts = province.t0
    while ts < province.t1:
        yield ts
        ts += mine.cadence


def _national_header(mine: Mine, upload: int) -> list[str]:
    return [mine.code, mine.name, local(upload), *mine.header_extra]


def _num(x: float | None, dec: int) -> str:
    return "" if x is None else f"%.{dec}f" % x


def _cddy(mine: Mine, day: int) -> list[str]:
    recs = []
    cutters = {p.area: p.code for p in mine.points if p.sensor_type == "1009"}
    for p in mine.points:
        _, unit, vt, dec, lo, hi, ah, ac, cut, rest = SENSOR_TYPES[p.sensor_type]
        if vt == "MN":
            nums = [
                unit,
                *(_num(x, dec) for x in (hi, lo, ah, ac)),
                "",
                "",
                _num(cut, dec),
                _num(rest, dec),
                "",
                "",
                "",
                "",
            ]
        else:
            off, on = SWITCH_LABELS[p.sensor_type]
            nums = ["", "", "", "", "", "", "", "", "", "", "", on, off]
        rel = f"D-{cutters[p.area]}-{p.location[:8]}断电" if (p.sensor_type == "0001" and p.area in cutters) else ""
        recs.append(
            ";".join(
                [
                    p.code,
                    "01",
                    mine.outstation_code(p.outstation),
                    p.sensor_type,
                    vt,
                    *nums,
                    p.location,
                    "",
                    "",
                    "",
                    rel,
                    local(day - 30 * DAY),
                ]
            )
        )
    return recs


def write_national(out: Out, province: Province, mine: Mine, scen: Scenario, fx: Effects, full: bool = True) -> None:
    """B.1: CDDY and FZDY daily, CDSS every cycle, TJSJ and FZSS every five minutes, YCBJ for calibrations.

    With `full` false (benchmark volumes) only CDDY and CDSS are written.
    """
    rng = make_rng("national", province.seed, mine.code)
    sampler = SafetySampler(province, mine, scen, fx)
    nl = "" if mine.one_line else "\r\n"
    pre = [f"{p.code};{p.name};{p.location};" for p in mine.points]
    mid = [f";{p.unit};" for p in mine.points]
    analog = [i for i, p in enumerate(mine.points) if p.value_type == "MN"]
    stats = Stats(analog)
    outstations = [mine.outstation_code(no) for no, _, _ in mine.outstations]
    calib = sorted((a, b, code) for a, b, code, mode, _ in fx.point if mode == "calibration") if full else []
    index = {p.code: i for i, p in enumerate(mine.points)}
    open_events: dict[tuple[int, int], list] = {}
    period = None
    for d in range(province.days):
        day = province.t0 + d * DAY
        folder = day_folder(mine, day)
        recs = _cddy(mine, day)
        out.write(
            f"{folder}/{mine.code}_CDDY_{stamp(day)}.txt",
            networking(_national_header(mine, day), recs, "\r\n").encode(),
            "safety.CDDY",
            len(recs),
        )
        if not full:
            continue
        recs = [f"{mine.outstation_code(no)};{loc};;;;{local(day)}" for no, _, loc in mine.outstations]
        out.write(
            f"{folder}/{mine.code}_FZDY_{stamp(day + 1)}.txt",
            networking(_national_header(mine, day + 1), recs, "\r\n").encode(),
            "safety.FZDY",
            len(recs),
        )
    for ts in _cycles(province, mine):
        rows = sampler.cycle(ts)
        k = (ts - province.t0) // STATS_PERIOD if full else None
        if period is not None and k != period:
            _flush_tjsj(out, province, mine, stats, period, outstations, sampler)
        period = k
        if rows is None:
            continue
        upload = ts + _upload_delay(rng)
        dt = local(ts)
        recs = [f"{pre[i]}{text}{mid[i]}{st};{dt}" for i, (v, text, st) in enumerate(rows)]
        out.write(
            f"{day_folder(mine, upload)}/{mine.code}_CDSS_{stamp(upload)}.txt",
            networking(_national_header(mine, upload), recs, nl).encode(),
            "safety.CDSS",
            len(recs),
        )
        if full:
            stats.add(ts, rows)
        for a, b, code in calib:
            i = index[code]
            if a <= ts <= b:
                ev = open_events.get((a, i))
                v = rows[i][0]
                if ev is None:
                    ev = open_events[(a, i)] = [ts, v, ts, v, ts, 0.0, 0, False]
                    _ycbj(out, mine, mine.points[i], ev, None, upload)
                if v is not None:
                    if v > ev[1]:
                        ev[1], ev[2] = v, ts
                    if v < ev[3]:
                        ev[3], ev[4] = v, ts
                    ev[5] += v
                    ev[6] += 1
            elif ts > b and (a, i) in open_events and not open_events[(a, i)][7]:
                ev = open_events[(a, i)]
                ev[7] = True
                _ycbj(out, mine, mine.points[i], ev, ts - mine.cadence, upload)
    if period is not None:
        _flush_tjsj(out, province, mine, stats, period, outstations, sampler)


def _ycbj(out: Out, mine: Mine, p, ev: list, ended: int | None, upload: int) -> None:
    start, mx, mx_at, mn, mn_at, total, n, _ = ev
    avg = f"%.{p.decimals}f" % (total / n) if n else ""
    fmt = f"%.{p.decimals}f"
    rec = [
        p.code,
        p.name,
        p.location,
        p.unit,
        "007",
        fmt % mx,
        "1.00",
        "0.90",
        local(start),
        local(ended) if ended else "",
        fmt % mx,
        local(mx_at),
        fmt % mn,
        local(mn_at),
        avg if ended else "",
        "传感器标校" if ended else "",
        "标校完毕,恢复正常" if ended else "",
        local(upload),
        "监控值班员",
        local(upload),
    ]
    out.write(
        f"{day_folder(mine, upload)}/{mine.code}_YCBJ_{stamp(upload)}.txt",
        networking(_national_header(mine, upload), [";".join(rec)], "\r\n").encode(),
        "safety.YCBJ",
        1,
    )


def _flush_tjsj(
    out: Out, province: Province, mine: Mine, stats: Stats, period: int, outstations: list[str], sampler: SafetySampler
) -> None:
    acc = stats.take()
    p_start = province.t0 + period * STATS_PERIOD
    p_end = p_start + STATS_PERIOD
    upload = p_end + 12
    if upload >= province.t1 + 60 or sampler.in_gap(p_end):
        return
    if acc:
        recs = []
        for i, (mx, mx_at, mn, mn_at, total, n) in acc.items():
            p = mine.points[i]
            fmt = f"%.{p.decimals}f"
            recs.append(
                f"{p.code};{p.name};{p.location};{p.unit};{fmt % (total / n)};{fmt % mx};{local(mx_at)};"
                f"{fmt % mn};{local(mn_at)};{local(p_start)};{local(p_end)}"
            )
        out.write(
            f"{day_folder(mine, upload)}/{mine.code}_TJSJ_{stamp(upload)}.txt",
            networking(_national_header(mine, upload), recs, "\r\n").encode(),
            "safety.TJSJ",
            len(recs),
        )
    recs = [f"{code};0;1;{local(p_end)}" for code in outstations]
    out.write(
        f"{day_folder(mine, upload + 3)}/{mine.code}_FZSS_{stamp(upload + 3)}.txt",
        networking(_national_header(mine, upload + 3), recs, "\r\n").encode(),
        "safety.FZSS",
        len(recs),
    )


def write_provincial(out: Out, province: Province, mine: Mine, scen: Scenario, fx: Effects) -> None:
    """B.2 in GB18030: AQMC and AQKC daily, AQSS every cycle, AQKD on switch changes, AQMT every five minutes."""
    sampler = SafetySampler(province, mine, scen, fx)
    analog = [i for i, p in enumerate(mine.points) if p.value_type == "MN"]
    switches = [i for i, p in enumerate(mine.points) if p.value_type != "MN"]
    stats = Stats(analog)
    pre = [f"{p.code};{p.sensor_type};" for p in mine.points]
    last_state: dict[int, int] = {}

    def header(ts: int) -> list[str]:
        return [mine.code, mine.name, local(ts)]

    def write(kind: str, ts: int, recs: list[str]) -> None:
        out.write(
            f"{day_folder(mine, ts)}/{mine.code}_{kind}_{stamp(ts)}.txt",
            networking(header(ts), recs, "\r\n").encode("gb18030"),
            f"safety.{kind}",
            len(recs),
        )

    for d in range(province.days):
        day = province.t0 + d * DAY
        recs = []
        for i in analog:
            p = mine.points[i]
            _, unit, _, dec, lo, hi, ah, _, cut, rest = SENSOR_TYPES[p.sensor_type]
            nums = [_num(x, dec) for x in (lo, hi, ah, None, cut, rest)]
            recs.append(";".join([p.code, f"{p.outstation:03d}", p.sensor_type, p.location, unit, *nums, p.area]))
        write("AQMC", day, recs)
        recs = [
            ";".join(
                [
                    mine.points[i].code,
                    f"{mine.points[i].outstation:03d}",
                    mine.points[i].sensor_type,
                    mine.points[i].location,
                    *SWITCH_LABELS[mine.points[i].sensor_type],
                    mine.points[i].area,
                ]
            )
            for i in switches
        ]
        write("AQKC", day + 1, recs)
    period = None
    for ts in _cycles(province, mine):
        rows = sampler.cycle(ts)
        k = (ts - province.t0) // STATS_PERIOD
        if period is not None and k != period:
            _flush_aqmt(province, mine, stats, period, sampler, write)
        period = k
        if rows is None:
            continue
        recs = []
        for i, (v, text, st) in enumerate(rows):
            recs.append(f"{pre[i]}{text if v is not None else '-9999'};{PROVINCIAL_STATUS[st]}")
        write("AQSS", ts, recs)
        stats.add(ts, rows)
        changes = []
        for i in switches:
            v = rows[i][0]
            if v is None:
                continue
            if i in last_state and last_state[i] != v:
                changes.append(f"{pre[i]}{v};{PROVINCIAL_STATUS[rows[i][2]]};{local(ts)}")
            last_state[i] = v
        if changes:
            write("AQKD", ts + 1, changes)
    if period is not None:
        _flush_aqmt(province, mine, stats, period, sampler, write)


def _flush_aqmt(province: Province, mine: Mine, stats: Stats, period: int, sampler: SafetySampler, write) -> None:
    acc = stats.take()
    p_end = province.t0 + (period + 1) * STATS_PERIOD
    if not acc or p_end + 5 >= province.t1 + 60 or sampler.in_gap(p_end):
        return
    recs = []
    for i, (mx, mx_at, mn, mn_at, total, n) in acc.items():
        p = mine.points[i]
        fmt = f"%.{p.decimals}f"
        recs.append(
            f"{p.code};{p.sensor_type};{fmt % (total / n)};{fmt % mx};{local(mx_at)};{fmt % mn};{local(mn_at)};"
            f"{local(p_end)}"
        )
    write("AQMT", p_end + 5, recs)


def write_csv_dialect(out: Out, province: Province, mine: Mine, scen: Scenario, fx: Effects) -> None:
    """B.3: CDDY daily (the definitions) and one `{mine}_safety_{yyyyMMdd}.csv` per day, streamed."""
    sampler = SafetySampler(province, mine, scen, fx)
    pre = [f"{p.code},{p.sensor_type},{p.area}," for p in mine.points]
    f = None
    rows_in_file = 0
    current_day = None
    try:
        for ts in _cycles(province, mine):
            day = province.t0 + (ts - province.t0) // DAY * DAY
            if day != current_day:
                if f is not None:
                    f.close()
                    out.count("safety.csv", rows_in_file)
                recs = _cddy(mine, day)
                out.write(
                    f"{day_folder(mine, day)}/{mine.code}_CDDY_{stamp(day)}.txt",
                    networking(_national_header(mine, day), recs, "\r\n").encode(),
                    "safety.CDDY",
                    len(recs),
                )
                f = open(out.path(f"{day_folder(mine, day)}/{mine.code}_safety_{daystamp(day)}.csv"), "wb")
                f.write(b"point_code,sensor_type,area_code,sampled_at,value,status\r\n")
                rows_in_file = 0
                current_day = day
            rows = sampler.cycle(ts)
            if rows is None:
                continue
            at = iso(ts)
            f.write("".join(f"{pre[i]}{at},{text},{st}\r\n" for i, (v, text, st) in enumerate(rows)).encode())
            rows_in_file += len(rows)
    finally:
        if f is not None:
            f.close()
            out.count("safety.csv", rows_in_file)
