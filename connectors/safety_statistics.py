"""Five-minute statistics of both safety dialects (TJSJ, AQMT): one reader, two field layouts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from connectors.networking import FieldError, NetworkingRecord, checked, local_time, number, window, window_detail
from schemas import FileInfo, Record, Reject
from schemas.safety import STATISTICS

PERIOD = timedelta(minutes=5)


def read_statistics(
    records: Iterator[NetworkingRecord],
    info: FileInfo,
    cycle: timedelta | None,
    width: int,
    first_value: int,
    dialect: str,
    describe: Callable[[list[str], str], tuple[str | None, str | None]],
) -> Iterator[Record | Reject]:
    """Statistics records: avg, max, max_at, min, min_at from field `first_value` on, then
    (when the layout has it) period_start, and period_end last; `describe(fields, mine)` gives
    the sensor type and unit. One row per point and period end; rejects as contract I.1 says."""
    mine, upload_at = info.mine_code, info.produced_at
    lo, hi = window(upload_at, cycle)
    has_start = width - first_value == 7
    seen: set = set()
    for item in checked(records, width):
        if type(item) is Reject:
            yield item
            continue
        no, f, raw = item
        point, v = f[0], first_value
        try:
            avg_value = number(f[v], "avg_value")
            max_value = number(f[v + 1], "max_value")
            max_at = local_time(f[v + 2], "max_at")
            min_value = number(f[v + 3], "min_value")
            min_at = local_time(f[v + 4], "min_at")
            period_start = local_time(f[v + 5], "period_start") if has_start else None
            period_end = local_time(f[width - 1], "period_end")
        except FieldError as exc:
            yield Reject(no, exc.reason, raw, str(exc))
            continue
        if period_end is None:
            yield Reject(no, "bad_time", raw, "period_end is empty")
            continue
        if period_end > hi or (lo is not None and period_end < lo):
            yield Reject(no, "time_outside_window", raw, window_detail(period_end, upload_at))
            continue
        if (point, period_end) in seen:
            yield Reject(no, "duplicate_key", raw, f"point {point} period ending {period_end.isoformat()} twice")
            continue
        seen.add((point, period_end))
        sensor_type, unit = describe(f, mine)
        yield Record(STATISTICS.name, no, (
            mine, point, period_end, period_start or period_end - PERIOD, dialect, sensor_type, unit,
            avg_value, max_value, max_at, min_value, min_at,
        ))  # fmt: skip
