"""Safety monitoring, provincial dialect (contract B.2): AQMC AQKC AQSS AQKD AQMT.

Networking files (B.0), usually GB18030, header `mine_code;mine_name;generated_at`
(extra parts are kept in the FileInfo's `extra["header_extra"]`). Status
bits are B.6; point codes are the vendor's short codes (e.g. `001A03`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from connectors.base import FileContext, Item, Stream
from connectors.networking import (
    FieldError,
    NetworkingStream,
    checked,
    count_detail,
    count_ok,
    local_time,
    number,
    smallint,
    status,
    window,
    window_detail,
)
from connectors.safety_codes import normalize_sensor_type, provincial_conditions, sensor_type
from connectors.safety_statistics import read_statistics
from schemas import Record, Reject
from schemas.safety import POINT_DEFINITIONS, READINGS, STATISTICS, SWITCH_CHANGES

DIALECT = "provincial"
_PROVINCIAL_TABLE = tuple(provincial_conditions(i) for i in range(128))


class _ProvincialStream(NetworkingStream, Stream):
    feed = "safety"


class AqmcStream(_ProvincialStream):
    """Analog point definitions, AQMC (模拟量初始化): a full snapshot of analog points, 12 fields.

    The single cut-off/restore pair is stored as the upper pair, or as the
    lower one when the point has only a lower alarm threshold (e.g. oxygen).
    """

    kind = "AQMC"
    outputs = (POINT_DEFINITIONS,)
    default_cycle = None

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, snapshot_at = info.mine_code, info.produced_at
        seen: set[str] = set()
        for item in checked(records, 12):
            if type(item) is Reject:
                yield item
                continue
            no, f, raw = item
            point = f[0]
            try:
                range_low = number(f[5], "range_low")
                range_high = number(f[6], "range_high")
                alarm_high = number(f[7], "alarm_high")
                alarm_low = number(f[8], "alarm_low")
                cutoff = number(f[9], "cutoff_at")
                restore = number(f[10], "restore_at")
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if point in seen:
                yield Reject(no, "duplicate_key", raw, f"point {point} defined twice in this file")
                continue
            seen.add(point)
            lower = alarm_high is None and alarm_low is not None
            code = normalize_sensor_type(f[2])
            st = sensor_type(code)
            yield Record(POINT_DEFINITIONS.name, no, (
                mine, point, snapshot_at, DIALECT, self.kind,
                None, "MN", code, st.known, None, f[1] or None,
                f[4] or st.unit, range_low, range_high,
                alarm_high, None, alarm_low, None,
                None if lower else cutoff, None if lower else restore,
                cutoff if lower else None, restore if lower else None,
                None, None, f[3] or None, f[11] or None,
                None, None, None, None, None,
            ))  # fmt: skip


class AqkcStream(_ProvincialStream):
    """Switch point definitions, AQKC (开关量初始化): a full snapshot of switch points, 7 fields."""

    kind = "AQKC"
    outputs = (POINT_DEFINITIONS,)
    default_cycle = None

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, snapshot_at = info.mine_code, info.produced_at
        seen: set[str] = set()
        for item in checked(records, 7):
            if type(item) is Reject:
                yield item
                continue
            no, f, raw = item
            point = f[0]
            if point in seen:
                yield Reject(no, "duplicate_key", raw, f"point {point} defined twice in this file")
                continue
            seen.add(point)
            code = normalize_sensor_type(f[2])
            st = sensor_type(code)
            yield Record(POINT_DEFINITIONS.name, no, (
                mine, point, snapshot_at, DIALECT, self.kind,
                None, "KG", code, st.known, None, f[1] or None,
                None, None, None,
                None, None, None, None, None, None, None, None,
                f[4] or None, f[5] or None, f[3] or None, f[6] or None,
                None, None, None, None, None,
            ))  # fmt: skip


class AqssStream(_ProvincialStream):
    """Real-time data, AQSS (实时数据), 4 fields; the header's generated_at is every record's sample time."""

    kind = "AQSS"
    outputs = (READINGS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, at = info.mine_code, info.produced_at
        target = READINGS.name
        table = _PROVINCIAL_TABLE
        seen: set[str] = set()
        for no, f, raw in records:
            if len(f) != 4 and not count_ok(f, 4):
                yield Reject(no, "field_count", raw, count_detail(f, 4, raw))
                continue
            point = f[0].strip()
            if not point:
                yield Reject(no, "field_count", raw, "point_code is empty")
                continue
            try:
                value = number(f[2], "value")
                raw_status = status(f[3])
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if point in seen:
                yield Reject(no, "duplicate_key", raw, f"point {point} already in this cycle")
                continue
            seen.add(point)
            conditions = None if raw_status is None else table[raw_status & 127]
            yield Record(target, no, (mine, point, at, value, raw_status, conditions, DIALECT))


class AqkdStream(_ProvincialStream):
    """Switch state changes, AQKD (开关量状态变化), 5 fields."""

    kind = "AQKD"
    outputs = (SWITCH_CHANGES,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, upload_at = info.mine_code, info.produced_at
        lo, hi = window(upload_at, self.cycle)
        seen: set = set()
        for item in checked(records, 5):
            if type(item) is Reject:
                yield item
                continue
            no, f, raw = item
            point = f[0]
            try:
                state = smallint(f[2], "state")
                raw_status = status(f[3])
                at = local_time(f[4], "changed_at")
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if at is None:
                yield Reject(no, "bad_time", raw, "changed_at is empty")
                continue
            if at > hi or (lo is not None and at < lo):
                yield Reject(no, "time_outside_window", raw, window_detail(at, upload_at))
                continue
            if (point, at) in seen:
                yield Reject(no, "duplicate_key", raw, f"point {point} changed at {at.isoformat()} twice")
                continue
            seen.add((point, at))
            yield Record(SWITCH_CHANGES.name, no, (
                mine, point, at, state, raw_status, provincial_conditions(raw_status), normalize_sensor_type(f[1]),
            ))  # fmt: skip


class AqmtStream(_ProvincialStream):
    """Five-minute statistics, AQMT (模拟量5分钟统计), 8 fields; window default: two 5-minute cycles."""

    kind = "AQMT"
    outputs = (STATISTICS,)
    default_cycle = timedelta(minutes=5)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        yield from read_statistics(records, info, self.cycle, 8, 2, DIALECT,
                                   lambda f, mine: (normalize_sensor_type(f[1]), None))


STREAMS: dict[str, type[Stream]] = {s.kind: s for s in (AqmcStream, AqkcStream, AqssStream, AqkdStream, AqmtStream)}
