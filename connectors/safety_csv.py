"""Safety monitoring, CSV dialect (contract B.3): `{mine}_safety_{yyyyMMdd}.csv`.

A daily file with a header row `point_code,sensor_type,area_code,sampled_at,value,status`
(columns found by name, any order, extra columns ignored). Encoding per B.0/J:
UTF-8, GB18030 (GBK), BOM. `sampled_at` is ISO 8601; without an offset it is
China time. Status bits are national (B.5). Readings stay lean: each point's
area and sensor type come out once per file as `safety_point_areas` rows,
after the readings. The mine is the file name's (the CSV has no header record).
"""

from __future__ import annotations

import csv
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from connectors.base import FileContext, FileRejected, Item, Stream, decode_text
from connectors.networking import FieldError, count_ok, local_time, number, status
from connectors.safety_codes import national_conditions, normalize_sensor_type
from schemas import FileInfo, Record, Reject
from schemas.safety import POINT_AREAS, READINGS

DIALECT = "csv"
COLUMNS = ("point_code", "sensor_type", "area_code", "sampled_at", "value", "status")
_NATIONAL_TABLE = tuple(national_conditions(i) for i in range(256))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _lines(text: str) -> Iterator[str]:
    """The lines of a text, without building a list (daily files reach hundreds of MB)."""
    start, end_of_text = 0, len(text)
    find = text.find
    while start < end_of_text:
        end = find("\n", start)
        if end < 0:
            end = end_of_text
        line = text[start:end]
        start = end + 1
        yield line[:-1] if line.endswith("\r") else line


class _SeenTimes:
    """Which (point, sample time) pairs a file already had, in little memory for millions of rows.

    Per point an increasing list of epoch microseconds; out-of-order times
    are checked by bisection.
    """

    def __init__(self) -> None:
        self.by_point: dict[str, list[int]] = {}

    def add(self, point: str, t: int) -> bool:
        """Record a pair; False when it was already there."""
        times = self.by_point.get(point)
        if times is None:
            self.by_point[point] = [t]
            return True
        if t > times[-1]:
            times.append(t)
            return True
        i = bisect_left(times, t)
        if times[i] == t:
            return False
        times.insert(i, t)
        return True


class SafetyCsvStream(Stream):
    """Daily safety readings, CSV dialect (B.3)."""

    feed = "safety"
    kind = "safety"
    outputs = (READINGS, POINT_AREAS)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        text = decode_text(data)
        lines = _lines(text)
        header = None
        for line in lines:
            if line.strip():
                header = [c.strip().lower() for c in _split(line)]
                break
        if header is None:
            raise FileRejected("field_count", "no header row")
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise FileRejected("field_count", f"header lacks column(s) {', '.join(missing)}")
        width = len(header)
        i_point, i_type, i_area, i_at, i_value, i_status = (header.index(c) for c in COLUMNS)
        mine = ctx.mine_code
        yield FileInfo(mine_code=mine, produced_at=None,
                       extra={"file_date": ctx.stamp.date() if ctx.stamp else None})  # fmt: skip

        target = READINGS.name
        table = _NATIONAL_TABLE
        seen = _SeenTimes()
        epochs: dict[datetime, int] = {}
        areas: dict[tuple, list] = {}  # (point, area, sensor type) -> [record_no, first, last]
        no = 0
        for line in lines:
            no += 1
            if not line or line.isspace():
                continue
            f = _split(line)
            if len(f) != width and not count_ok(f, width):
                yield Reject(no, "field_count", line, f"{len(f)} fields, expected {width}")
                continue
            point = f[i_point].strip()
            if not point:
                yield Reject(no, "field_count", line, "point_code is empty")
                continue
            try:
                value = number(f[i_value], "value")
                raw_status = status(f[i_status].strip())
                at = local_time(f[i_at], "sampled_at")
            except FieldError as exc:
                yield Reject(no, exc.reason, line, str(exc))
                continue
            if at is None:
                yield Reject(no, "bad_time", line, "sampled_at is empty")
                continue
            t = epochs.get(at)
            if t is None:
                if len(epochs) > 65536:
                    epochs.clear()
                t = epochs[at] = (at - _EPOCH) // _MICROSECOND
            if not seen.add(point, t):
                yield Reject(no, "duplicate_key", line, f"point {point} at {at.isoformat()} already in this file")
                continue
            conditions = None if raw_status is None else table[raw_status & 255]
            yield Record(target, no, (mine, point, at, value, raw_status, conditions, DIALECT))
            place = (point, f[i_area].strip() or None, f[i_type])
            seen_place = areas.get(place)
            if seen_place is None:
                areas[place] = [no, at, at]
            elif at > seen_place[2]:
                seen_place[2] = at
            elif at < seen_place[1]:
                seen_place[1] = at
        for (point, area, code), (first_no, first, last) in areas.items():
            yield Record(POINT_AREAS.name, first_no, (
                mine, point, area, normalize_sensor_type(code), DIALECT, first, last,
            ))  # fmt: skip


def _split(line: str) -> list[str]:
    if '"' in line:
        return next(csv.reader([line]))
    return line.split(",")
