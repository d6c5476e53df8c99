"""Safety monitoring, national dialect (MT/T 1201.1-2023, contract B.1): CDDY CDSS TJSJ YCBJ FZDY FZSS.

Every file is a networking file (B.0); its header may carry
`system_model;system_name;vendor;certificate_valid_until` after the upload
time, which come out in the FileInfo's `extra`. Status bits are B.5.
Unknown points are not rejected here (that needs the definitions: the load
path does it); unknown sensor types are kept with `sensor_known` false.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import NamedTuple

from connectors.base import FileContext, FileRejected, Item, Stream
from connectors.networking import (
    CHINA_TZ,
    NATIONAL_HEADER_PARTS,
    FieldError,
    NetworkingStream,
    checked,
    count_detail,
    count_ok,
    local_time,
    number,
    read_header,
    smallint,
    split_networking,
    status,
    window,
    window_detail,
)
from connectors.safety_codes import (
    VALUE_TYPES,
    abnormal_conditions,
    national_conditions,
    normalize_sensor_type,
    sensor_type,
)
from connectors.safety_statistics import read_statistics
from schemas import Block, Record, Reject
from schemas.safety import (
    ABNORMAL_EVENTS,
    OUTSTATION_STATES,
    OUTSTATIONS,
    POINT_DEFINITIONS,
    READINGS,
    STATISTICS,
)

DIALECT = "national"
_NATIONAL_TABLE = tuple(national_conditions(i) for i in range(256))
_KIND_VALUE_TYPE = {"analog": "MN", "switch": "KG", "cumulative": "LJ"}


class PointCode(NamedTuple):
    """The parts of a national measuring-point code (测点编码)."""

    mine_code: str
    system_code: str
    value_type: str
    sensor_type: str
    vendor_code: str


def split_point_code(code: str, mine_code: str | None = None) -> PointCode | None:
    """Decompose a point code: mine (12, or the header's) + system 2 + value type 2 + sensor type 4 + vendor <= 8.

    None when the code does not have that structure (e.g. a short vendor code).
    """
    if mine_code and code.startswith(mine_code):
        cut = len(mine_code)
    elif len(code) >= 20 and code[:12].isascii() and code[:12].isdigit():
        cut = 12
    else:
        return None
    rest = code[cut:]
    system, value_type, sensor, vendor = rest[0:2], rest[2:4].upper(), rest[4:8], rest[8:]
    if len(sensor) != 4 or not (system.isascii() and system.isdigit() and sensor.isascii() and sensor.isdigit()):
        return None
    if value_type not in VALUE_TYPES or len(vendor) > 8:
        return None
    return PointCode(code[:cut], system, value_type, sensor, vendor)


class _NationalStream(NetworkingStream, Stream):
    feed = "safety"
    header_parts = NATIONAL_HEADER_PARTS


# CDDY numeric fields (0-based index, name)
_CDDY_NUMBERS = (
    (6, "range_high"), (7, "range_low"), (8, "alarm_high"), (9, "alarm_high_clear"),
    (10, "alarm_low"), (11, "alarm_low_clear"), (12, "cutoff_high"), (13, "restore_high"),
    (14, "cutoff_low"), (15, "restore_low"), (19, "x"), (20, "y"), (21, "z"),
)  # fmt: skip


class CddyStream(_NationalStream):
    """Point definitions, CDDY (测点基本信息): a full snapshot of the mine's points, 24 fields."""

    kind = "CDDY"
    outputs = (POINT_DEFINITIONS,)
    default_cycle = None

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, snapshot_at = info.mine_code, info.produced_at
        seen: set[str] = set()
        for item in checked(records, 24):
            if type(item) is Reject:
                yield item
                continue
            no, f, raw = item
            point = f[0]
            try:
                v = {name: number(f[i], name) for i, name in _CDDY_NUMBERS}
                defined_at = local_time(f[23], "defined_at")
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if point in seen:
                yield Reject(no, "duplicate_key", raw, f"point {point} defined twice in this file")
                continue
            seen.add(point)
            parts = split_point_code(point, mine)
            code = normalize_sensor_type(f[3]) or (parts.sensor_type if parts else None)
            st = sensor_type(code)
            value_type = f[4].upper() or (parts.value_type if parts else None) or _KIND_VALUE_TYPE.get(st.kind)
            yield Record(POINT_DEFINITIONS.name, no, (
                mine, point, snapshot_at, DIALECT, self.kind,
                f[1] or (parts.system_code if parts else None),
                value_type, code, st.known,
                parts.vendor_code if parts else None,
                f[2] or None,
                f[5] or st.unit,
                v["range_low"], v["range_high"],
                v["alarm_high"], v["alarm_high_clear"], v["alarm_low"], v["alarm_low_clear"],
                v["cutoff_high"], v["restore_high"], v["cutoff_low"], v["restore_low"],
                f[17] or None, f[16] or None,  # label_0 = 停描述 (field 18), label_1 = 开描述 (field 17)
                f[18] or None, None,
                v["x"], v["y"], v["z"],
                f[22] or None, defined_at,
            ))  # fmt: skip


class CdssStream(_NationalStream):
    """Real-time values, CDSS (测点实时数据): one file per upload cycle, 7 fields per point."""

    kind = "CDSS"
    outputs = (READINGS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, upload_at = info.mine_code, info.produced_at
        lo, hi = window(upload_at, self.cycle)
        target = READINGS.name
        table = _NATIONAL_TABLE
        make = tuple.__new__  # Record(...) without its Python-level __new__: the hot path
        value_of, status_of = _VALUES.get, _STATUS_TEXT.get
        in_window: dict[str, object] = {}  # data_time text -> its time, for texts already read and in the window
        time_of = in_window.get
        seen: set = set()
        for no, f, raw in records:
            if len(f) != 7 and not count_ok(f, 7):
                yield Reject(no, "field_count", raw, count_detail(f, 7, raw))
                continue
            point = f[0].strip()
            if not point:
                yield Reject(no, "field_count", raw, "point_code is empty")
                continue
            value, raw_status, at = value_of(f[3], _UNREAD), status_of(f[5]), time_of(f[6])
            if value is _UNREAD or raw_status is None or at is None:  # a text not seen before: read it in full
                try:
                    value = number(f[3], "value")
                    raw_status = status(f[5])
                    at = local_time(f[6], "data_time")
                except FieldError as exc:
                    yield Reject(no, exc.reason, raw, str(exc))
                    continue
                if at is None:
                    yield Reject(no, "bad_time", raw, "data_time is empty")
                    continue
                if at > hi or (lo is not None and at < lo):
                    yield Reject(no, "time_outside_window", raw, window_detail(at, upload_at))
                    continue
                _remember_value(f[3], value)
                in_window[f[6]] = at
            n = len(seen)
            seen.add((point, at))
            if len(seen) == n:
                yield Reject(no, "duplicate_key", raw, f"point {point} at {at.isoformat()} already in this file")
                continue
            conditions = None if raw_status is None else table[raw_status & 255]
            yield make(Record, (target, no, (mine, point, at, value, raw_status, conditions, DIALECT)))


    def read_block(self, files: Iterable[tuple[bytes, FileContext]]) -> tuple[Block | None, list[int]]:
        """Many CDSS files at once, column by column: what `read` yields for each, without a Python object per record.

        Returns the block of the files that read whole without a single reject, and the
        indexes of the others, which the caller reads with `read` (their rejects, or the
        whole file's fault, come from there). The records are tokenized by pandas' C
        parser; each distinct text of a column (a few hundred points, a few thousand values,
        one time per file) goes through the same field readers as in `read`, so the two
        agree on every value; the window, the empty point code and the duplicate (point,
        time) are checked over whole columns.
        """
        import numpy as np
        import pandas as pd

        width = 7
        bodies, infos, rows_in, wrong_width = [], {}, [], []
        slow = []
        n = 0
        for i, (data, ctx) in enumerate(files):  # one file's bytes at a time (the caller may read them lazily)
            n += 1
            split = split_networking(data, width)
            if split is None:
                slow.append(i)
                continue
            header, lines, records = split
            try:
                info = read_header(header, ctx, self.header_parts)
            except FileRejected:
                slow.append(i)
                continue
            if records:
                # exactly `width` fields in every record (pandas would pad or cut a record of another width)
                raw = np.frombuffer(lines, dtype=np.uint8)
                semicolons = np.searchsorted(np.flatnonzero(raw == 59), np.flatnonzero(raw == 10))
                wrong_width.append(np.diff(semicolons, prepend=0) != width - 1)
                bodies.append(lines)
                rows_in.append(i)
            infos[i] = (info, records)
        if not bodies:  # nothing but files without records, which `read` takes in its stride
            return None, list(range(n))
        counts = np.array([infos[i][1] for i in rows_in], dtype=np.int64)
        file_of = np.repeat(np.array(rows_in, dtype=np.int32), counts)
        first_row = np.cumsum(counts) - counts
        record_no = (np.arange(len(file_of), dtype=np.int64) - np.repeat(first_row, counts) + 1).astype(np.int32)
        bad = np.concatenate(wrong_width)
        columns = _tokenize(_Concatenated(bodies), width, (0, 3, 5, 6), len(file_of))
        del bodies
        if columns is None:  # cannot happen for lines split_networking accepted; never guess
            return None, list(range(n))

        def distinct(column: int, read) -> tuple:
            """(codes per row, the values read from each distinct text, which texts failed)."""
            codes, texts = columns[column]
            values, failed = [], np.zeros(len(texts) + 1, dtype=bool)
            for k, text in enumerate(texts):
                try:
                    values.append(read(text))
                except FieldError:
                    values.append(None)
                    failed[k] = True
            return codes, values, failed

        point_codes, points, point_failed = distinct(0, str.strip)
        value_codes, values, value_failed = distinct(3, lambda t: number(t, "value"))
        status_codes, statuses, status_failed = distinct(5, lambda t: status(t, "status"))
        time_codes, times, time_failed = distinct(6, lambda t: local_time(t, "data_time"))
        bad |= point_failed[point_codes] | value_failed[value_codes] | status_failed[status_codes] \
            | time_failed[time_codes]
        bad |= np.array([not p for p in points] + [True], dtype=bool)[point_codes]  # an empty point code
        # the record time window of each row's file (contract I.1), in microseconds since the epoch
        epoch = datetime(1970, 1, 1, tzinfo=CHINA_TZ)
        no_time = np.iinfo(np.int64).min
        stamps = np.array([(t - epoch) // timedelta(microseconds=1) if t is not None else no_time for t in times]
                          + [no_time], dtype=np.int64)
        at = stamps[time_codes]
        bad |= at == no_time
        lo, hi = [], []
        for i in rows_in:
            first, last = window(infos[i][0].produced_at, self.cycle)
            lo.append(no_time + 1 if first is None else (first - epoch) // timedelta(microseconds=1))
            hi.append((last - epoch) // timedelta(microseconds=1))
        bad |= (at < np.repeat(np.array(lo, dtype=np.int64), counts)) | (at > np.repeat(np.array(hi, dtype=np.int64),
                                                                                          counts))
        # one reading per point and time in a file: the same point text and instant twice is a duplicate
        canonical_point, point_values = pd.factorize(np.array(points, dtype=object))
        canonical_time, time_values = pd.factorize(stamps[:-1])
        key = (file_of.astype(np.int64) * len(point_values) + canonical_point[point_codes]) * len(time_values) \
            + canonical_time[time_codes]
        bad |= pd.Series(key).duplicated().to_numpy()  # hashed, not sorted
        if bad.any():
            slow.extend(np.flatnonzero(np.bincount(file_of[bad], minlength=n)).tolist())
        is_slow = np.zeros(n, dtype=bool)
        is_slow[slow] = True
        keep = ~is_slow[file_of]
        file_of, record_no = file_of[keep], record_no[keep]
        mines = {i: info.mine_code for i, (info, _) in infos.items()}
        mine_codes, mine_values = pd.factorize(np.array([mines.get(i) for i in range(n)], dtype=object))
        conditions = [None if s is None else _NATIONAL_TABLE[s & 255] for s in statuses]
        slow = sorted(set(slow))
        block = Block(
            READINGS.name,
            {i: info for i, (info, records) in infos.items() if records and i not in slow},
            file_of, record_no,
            (
                (mine_codes.astype(np.int32)[file_of], list(mine_values)),
                (point_codes[keep], points),
                (time_codes[keep], times),
                (value_codes[keep], values),
                (status_codes[keep], statuses),
                (status_codes[keep], conditions),
                (np.zeros(len(file_of), dtype=np.int32), [DIALECT]),
            ),
        )
        rest = sorted({*slow, *(i for i, (_, records) in infos.items() if not records)})  # and files without records
        return block, rest


TOKENIZE_ROWS = 50_000  # records tokenized at once by _tokenize: its Python strings stay a few MB


class _Concatenated(io.RawIOBase):
    """Several byte strings read as one stream, without joining them (the C parser reads it in chunks)."""

    def __init__(self, parts: list[bytes]):
        self.parts, self.part, self.at = parts, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.part < len(self.parts) and self.at >= len(self.parts[self.part]):
            self.part, self.at = self.part + 1, 0
        if self.part == len(self.parts):
            return 0
        piece = self.parts[self.part]
        n = min(len(buffer), len(piece) - self.at)
        buffer[:n] = piece[self.at:self.at + n]
        self.at += n
        return n


def _tokenize(text: io.RawIOBase, width: int, wanted: tuple[int, ...], rows: int) -> dict[int, tuple] | None:
    """The wanted fields of `;`-separated lines, dictionary-encoded: field -> (codes per row, distinct texts).

    pandas' C parser splits the lines a chunk at a time; each chunk's texts are factorized and
    folded into one list of distinct texts per field, so no string object outlives its chunk.
    """
    import numpy as np
    import pandas as pd

    found: dict[int, dict[str, int]] = {f: {} for f in wanted}
    codes: dict[int, list] = {f: [] for f in wanted}
    seen = 0
    for chunk in pd.read_csv(io.BufferedReader(text, 1 << 20), sep=";", header=None, names=range(width),
                             usecols=list(wanted), dtype=object, na_filter=False, quoting=csv.QUOTE_NONE,
                             skip_blank_lines=False, engine="c", encoding="utf-8", chunksize=TOKENIZE_ROWS):
        seen += len(chunk)
        for f in wanted:
            local, texts = pd.factorize(chunk[f].to_numpy(dtype=object), use_na_sentinel=False)
            known = found[f]
            to_global = np.fromiter((known.setdefault(t, len(known)) for t in texts), dtype=np.int32,
                                    count=len(texts))
            codes[f].append(to_global[local])
    if seen != rows:
        return None
    return {f: (np.concatenate(codes[f]) if codes[f] else np.zeros(0, dtype=np.int32), list(found[f]))
            for f in wanted}


_UNREAD = object()
_VALUES: dict[str, float | None] = {}  # value text -> number(text), for texts read before (values repeat)
_STATUS_TEXT = {str(i): i for i in range(256)}


def _remember_value(text: str, value: float | None) -> None:
    if len(_VALUES) >= 65536:
        _VALUES.clear()
    _VALUES[text] = value


class TjsjStream(_NationalStream):
    """Five-minute statistics, TJSJ (测点统计数据), 11 fields; window default: two 5-minute cycles."""

    kind = "TJSJ"
    outputs = (STATISTICS,)
    default_cycle = timedelta(minutes=5)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info

        def describe(f: list[str], mine: str) -> tuple[str | None, str | None]:
            parts = split_point_code(f[0], mine)
            return (parts.sensor_type if parts else None), (f[3] or None)

        yield from read_statistics(records, info, self.cycle, 11, 4, DIALECT, describe)


class YcbjStream(_NationalStream):
    """Abnormal events, YCBJ (异常报警), 20 fields; one row per point, type and start.

    Events may have started long before the upload, so by default only the
    upper bound of the window (data_time at most 60 s after the upload time)
    is checked; pass `cycle` to check the lower bound on data_time too.
    """

    kind = "YCBJ"
    outputs = (ABNORMAL_EVENTS,)
    default_cycle = None

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, upload_at = info.mine_code, info.produced_at
        lo, hi = window(upload_at, self.cycle)
        seen: set = set()
        for no, fields, raw in records:
            if not count_ok(fields, 20):
                yield Reject(no, "field_count", raw, count_detail(fields, 20, raw))
                continue
            f = [x.strip() for x in fields]
            point, abnormal_type = f[0], f[4]
            if not point or not abnormal_type:
                yield Reject(no, "field_count", raw, "point_code or abnormal_type is empty")
                continue
            if abnormal_type.isascii() and abnormal_type.isdigit() and len(abnormal_type) < 3:
                abnormal_type = abnormal_type.zfill(3)
            try:
                value = number(f[5], "value")
                alarm_threshold = number(f[6], "alarm_threshold")
                clear_threshold = number(f[7], "clear_threshold")
                started_at = local_time(f[8], "started_at")
                ended_at = local_time(f[9], "ended_at")
                max_value = number(f[10], "max_value")
                max_at = local_time(f[11], "max_at")
                min_value = number(f[12], "min_value")
                min_at = local_time(f[13], "min_at")
                avg_value = number(f[14], "avg_value")
                entered_at = local_time(f[17], "entered_at")
                reported_at = local_time(f[19], "data_time")
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if started_at is None:
                yield Reject(no, "bad_time", raw, "started_at is empty")
                continue
            at = reported_at or started_at
            if at > hi or (lo is not None and at < lo):
                yield Reject(no, "time_outside_window", raw, window_detail(at, upload_at))
                continue
            key = (point, abnormal_type, started_at)
            if key in seen:
                yield Reject(
                    no, "duplicate_key", raw, f"event {abnormal_type} of {point} from {started_at.isoformat()} twice"
                )
                continue
            seen.add(key)
            yield Record(ABNORMAL_EVENTS.name, no, (
                mine, point, abnormal_type, started_at, ended_at, abnormal_conditions(abnormal_type),
                f[1] or None, f[2] or None, f[3] or None,
                value, alarm_threshold, clear_threshold, max_value, max_at, min_value, min_at, avg_value,
                f[15] or None, f[16] or None, entered_at, f[18] or None, reported_at,
            ))  # fmt: skip


class FzdyStream(_NationalStream):
    """Outstations, FZDY (分站基本信息): a full snapshot, 6 fields."""

    kind = "FZDY"
    outputs = (OUTSTATIONS,)
    default_cycle = None

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, snapshot_at = info.mine_code, info.produced_at
        seen: set[str] = set()
        for item in checked(records, 6, key_name="outstation_code"):
            if type(item) is Reject:
                yield item
                continue
            no, f, raw = item
            code = f[0]
            try:
                x, y, z = number(f[2], "x"), number(f[3], "y"), number(f[4], "z")
                defined_at = local_time(f[5], "data_time")
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if code in seen:
                yield Reject(no, "duplicate_key", raw, f"outstation {code} defined twice in this file")
                continue
            seen.add(code)
            yield Record(OUTSTATIONS.name, no, (mine, code, snapshot_at, f[1] or None, x, y, z, defined_at))


class FzssStream(_NationalStream):
    """Outstation state, FZSS (分站实时), 4 fields; window default: two 5-minute cycles (FZSS comes every 1-5 min)."""

    kind = "FZSS"
    outputs = (OUTSTATION_STATES,)
    default_cycle = timedelta(minutes=5)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, upload_at = info.mine_code, info.produced_at
        lo, hi = window(upload_at, self.cycle)
        seen: set = set()
        for no, fields, raw in records:
            if not count_ok(fields, 4):
                yield Reject(no, "field_count", raw, count_detail(fields, 4, raw))
                continue
            code = fields[0].strip()
            if not code:
                yield Reject(no, "field_count", raw, "outstation_code is empty")
                continue
            try:
                run_status = smallint(fields[1].strip(), "run_status")
                power_status = smallint(fields[2].strip(), "power_status")
                at = local_time(fields[3], "data_time")
            except FieldError as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            if at is None:
                yield Reject(no, "bad_time", raw, "data_time is empty")
                continue
            if at > hi or (lo is not None and at < lo):
                yield Reject(no, "time_outside_window", raw, window_detail(at, upload_at))
                continue
            if (code, at) in seen:
                yield Reject(no, "duplicate_key", raw, f"outstation {code} at {at.isoformat()} twice")
                continue
            seen.add((code, at))
            yield Record(OUTSTATION_STATES.name, no, (mine, code, at, run_status, power_status))


STREAMS: dict[str, type[Stream]] = {
    s.kind: s for s in (CddyStream, CdssStream, TjsjStream, YcbjStream, FzdyStream, FzssStream)
}
