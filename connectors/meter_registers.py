"""Register readings (contract E.2): `meter_readings_{yyyyMMdd}.csv`.

Header row `meter_id,read_at,import_kwh_register` (columns by name; encoding
per J: UTF-8, GBK/GB18030, BOM). `read_at` is ISO 8601; without an offset it
is China time. The stream emits the readings as sent; consumption is a derived
fact built in SQL at merge time (contract J), and `intervals_from_registers`
is the reference that SQL must reproduce. Rejects: an empty meter_id
(field_count), a register that is not a non-negative number (bad_number), a
time that is no time (bad_time), a (meter, read_at) seen earlier in the file
(duplicate_key).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from connectors.base import FileContext, Item, Stream
from connectors.csvfile import read_csv
from connectors.networking import FieldError, local_time
from schemas import FileInfo, Record, Reject
from schemas.meters import REGISTER_READINGS

COLUMNS = ("meter_id", "read_at", "import_kwh_register")
STEP = timedelta(minutes=15)


def register_value(text: str) -> Decimal:
    """A register reading: a finite, non-negative decimal; ValueError otherwise."""
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"import_kwh_register {text!r} is not a number") from None
    if not v.is_finite() or v < 0:
        raise ValueError(f"import_kwh_register {text!r} is not a register value (negative or not finite)")
    return v


class MeterReadingsStream(Stream):
    """Cumulative register readings of the register meters of all mines (E.2)."""

    feed = "meters"
    kind = "meter_readings"
    outputs = (REGISTER_READINGS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        rows = read_csv(data, COLUMNS)
        yield FileInfo(mine_code=None, extra={"file_date": ctx.stamp.date() if ctx.stamp else None})
        target = REGISTER_READINGS.name
        seen: dict[tuple[str, datetime], int] = {}
        for no, row, raw in rows:
            if row is None:
                yield Reject(no, "field_count", raw, f"expected the {len(COLUMNS)} columns {','.join(COLUMNS)}")
                continue
            meter = row["meter_id"]
            if not meter:
                yield Reject(no, "field_count", raw, "meter_id is empty")
                continue
            try:
                at = local_time(row["read_at"], "read_at")
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if at is None:
                yield Reject(no, "bad_time", raw, "read_at is empty")
                continue
            text = row["import_kwh_register"]
            if not text:
                yield Reject(no, "bad_number", raw, "import_kwh_register is empty")
                continue
            try:
                register = register_value(text)
            except ValueError as exc:
                yield Reject(no, "bad_number", raw, str(exc))
                continue
            first = seen.get((meter, at))
            if first is not None:
                yield Reject(no, "duplicate_key", raw, f"meter {meter} at {at.isoformat()} already on line {first}")
                continue
            seen[(meter, at)] = no
            yield Record(target, no, (meter, at, register))


class MeterInterval(NamedTuple):
    """One interval of a register meter's consumption, as the warehouse must derive it."""

    start: datetime
    end: datetime
    energy_kwh: Decimal | None
    quality: str  # measured | gap_total | reset


def intervals_from_registers(
    readings: Iterable[tuple[datetime, Decimal | int | str]],
    multiplier: Decimal | int | str,
    expected_step: timedelta = STEP,
) -> Iterator[MeterInterval]:
    """The intervals one meter's register readings define: the reference for the merge SQL.

    `readings` are (read_at, register) of ONE meter, in any order; for a read
    time given twice the last one wins (a later delivery replaces). Between
    each reading and the next, the interval's energy is
    (register delta) x `multiplier`, with quality:

    - `reset`: the register went down (reset or meter replaced); the energy is
      unknown (None), never negative; the next interval counts from the new register;
    - `gap_total`: one or more expected readings are missing (the readings lie
      at least 1.5 x `expected_step` apart); one interval spans the whole gap
      and carries its total, never spread over invented per-step values;
    - `measured`: otherwise (a reading closer than 1.5 steps, jitter included).

    The first reading opens no interval: the SQL takes its predecessor from
    the meter's earlier readings (any file), so intervals span file boundaries.
    """
    by_time: dict[datetime, Decimal] = {}
    for at, register in readings:
        by_time[at] = register if isinstance(register, Decimal) else Decimal(str(register))
    factor = multiplier if isinstance(multiplier, Decimal) else Decimal(str(multiplier))
    gap_from = expected_step * 3 / 2
    previous: tuple[datetime, Decimal] | None = None
    for at in sorted(by_time):
        register = by_time[at]
        if previous is not None:
            start, before = previous
            delta = register - before
            if delta < 0:
                yield MeterInterval(start, at, None, "reset")
            else:
                quality = "gap_total" if at - start >= gap_from else "measured"
                yield MeterInterval(start, at, delta * factor, quality)
        previous = (at, register)


STREAMS: dict[str, type[Stream]] = {MeterReadingsStream.kind: MeterReadingsStream}


