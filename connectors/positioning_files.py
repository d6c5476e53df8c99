"""Personnel positioning, national dialect (contract C.1): RYQY RYJZ RYXX RYSS JZSS networking files.

Every file is a networking file (B.0, `connectors.networking`). Codes are
checked against the header's mine code: a card is the mine code + 5 digits,
an area + 4, a station + 10 (its area is its first len(mine) + 4 digits). A
code of another mine, or one without that structure, is rejected
`mine_mismatch` (contract J: code structure is relative to the header's mine
code); an empty key field is `field_count`, as in the safety parsers.

RYSS rows are observations keyed by (mine, card, header upload time); the
"read in this snapshot" decision needs the previous snapshot, so it is made in
SQL from the inputs kept here (station time, distance, latest track item).
Flags and 0/1 fields outside their codes are `bad_number`; an area type word
outside C.1 is kept with `area_type` NULL (the area itself is good data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from connectors.base import FileContext, Item, Stream
from connectors.networking import (
    WINDOW_AFTER,
    BadTime,
    FieldError,
    NetworkingRecord,
    NetworkingStream,
    count_detail,
    count_ok,
    integer,
    local_time,
    number,
    read_header,
    read_networking,
    smallint,
    window,
    window_detail,
)
from schemas import FileInfo, Record, Reject
from schemas.positioning import (
    AREA_TYPES,
    AREAS,
    OBSERVATIONS,
    PERSONS,
    STATION_STATES,
    STATIONS,
    TRACK_ITEMS,
)

FEED = "positioning"
CARD_DIGITS, AREA_DIGITS, STATION_DIGITS = 5, 4, 10  # digits after the mine code
RYXX_HEADER_PARTS = ("reserved", "system_model", "system_name", "vendor", "certificate_valid_until")
IN_MINE_FLAGS = (0, 1, 2)  # shaft mouth, underground, out of the mine
WORK_STATUS = {"0": 0, "1": 1, "正常": 0, "求救": 1}
YES_NO = {"0": False, "1": True, "否": False, "是": True}

FILE_PATTERN = re.compile(r"^(?P<mine>[0-9]{6,20})_(?P<kind>RYQY|RYJZ|RYXX|RYSS|JZSS)_(?P<stamp>[0-9]{14})\.txt$")


class Bad(ValueError):
    """A record fault with its contract I.1 reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


# ---------------------------------------------------------------- field helpers (shared with positioning_rest)


def check_code(code: str, mine: str, digits: int, what: str) -> None:
    """Raise `Bad("mine_mismatch")` unless `code` is `mine` + `digits` ASCII digits."""
    n = len(mine) + digits
    if len(code) != n or not (code.isascii() and code.isdigit()):
        raise Bad("mine_mismatch", f"{what} {code!r} is not the mine code {mine} + {digits} digits")
    if not code.startswith(mine):
        raise Bad("mine_mismatch", f"{what} {code} is of mine {code[: len(mine)]}, not {mine}")


def area_of(station_code: str, mine: str) -> str:
    """The area code of a station code: its first len(mine) + 4 digits."""
    return station_code[: len(mine) + AREA_DIGITS]


def in_mine_flag(text: str) -> int | None:
    """RYSS field 3 (REST `in_mine`): 0, 1, 2 or None when empty; `Bad` otherwise."""
    try:
        value = integer(text, "in_mine_flag")
    except FieldError as exc:
        raise Bad(exc.reason, str(exc)) from None
    if value is not None and value not in IN_MINE_FLAGS:
        raise Bad("bad_number", f"in_mine_flag {text!r} is not 0, 1 or 2")
    return value


def work_status(text: str) -> int | None:
    """RYSS field 12 (REST `status`): 0 normal, 1 distress; the words 正常/求救 too; None when empty."""
    text = text.strip()
    if not text:
        return None
    value = WORK_STATUS.get(text)
    if value is None:
        raise Bad("bad_number", f"work_status {text!r} is not 0/1 (正常/求救)")
    return value


def yes_no(text: str, field: str) -> bool | None:
    """A 0/1 field (is_leader, is_special) as a bool; None when empty."""
    text = text.strip()
    if not text:
        return None
    value = YES_NO.get(text)
    if value is None:
        raise Bad("bad_number", f"{field} {text!r} is not 0 or 1")
    return value


def time_field(text: str, field: str) -> datetime | None:
    """A local time field (UTC+8 aware), None when empty, `Bad("bad_time")` otherwise."""
    try:
        return local_time(text, field)
    except BadTime as exc:
        raise Bad("bad_time", str(exc)) from None


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")


def birth_date(text: str) -> date | None:
    """A birth date (`yyyy-MM-dd`, also `/`, `.` or no separators, or a full time); None when empty."""
    text = text.strip()
    if not text:
        return None
    head = text.split(" ", 1)[0].split("T", 1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise Bad("bad_time", f"birth_date {text!r} is not yyyy-MM-dd")


def parse_track(text: str, mine: str) -> list[tuple[datetime, str]]:
    """RYSS field 15: `station&yyyy-MM-dd HH:mm:ss` items joined by `,` as (passed_at, station), in file order.

    An item repeated verbatim is kept once; `，` is read as `,`.
    """
    text = text.strip()
    if not text:
        return []
    out: list[tuple[datetime, str]] = []
    seen: set[tuple[datetime, str]] = set()
    for piece in text.replace("，", ",").split(","):
        piece = piece.strip()
        if not piece:
            continue
        station, amp, at_text = piece.partition("&")
        station = station.strip()
        if not amp or not station:
            raise Bad("field_count", f"track item {piece!r} is not station&yyyy-MM-dd HH:mm:ss")
        check_code(station, mine, STATION_DIGITS, "track station")
        try:
            at = local_time(at_text, "track time")
        except BadTime as exc:
            raise Bad("bad_time", f"track item {piece!r}: {exc}") from None
        if at is None:
            raise Bad("bad_time", f"track item {piece!r} has no time")
        item = (at, station)
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def latest(track: list[tuple[datetime, str]]) -> tuple[datetime, str] | tuple[None, None]:
    """The track item with the greatest time (the later one in file order on a tie)."""
    best: tuple[datetime, str] | None = None
    for item in track:
        if best is None or item[0] >= best[0]:
            best = item
    return best if best is not None else (None, None)


# ---------------------------------------------------------------- streams


class _PositioningStream(NetworkingStream, Stream):
    feed = FEED
    default_cycle = None


class RyqyStream(_PositioningStream):
    """Areas, RYQY (区域): a full snapshot, `area_type;area_code;rated_persons;area_name`."""

    kind = "RYQY"
    outputs = (AREAS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, snapshot_at = info.mine_code, info.produced_at
        seen: set[str] = set()
        for no, fields, raw in records:
            if not count_ok(fields, 4):
                yield Reject(no, "field_count", raw, count_detail(fields, 4, raw))
                continue
            type_text, code, rated, name = (x.strip() for x in fields[:4])
            try:
                if not code:
                    raise Bad("field_count", "area_code is empty")
                check_code(code, mine, AREA_DIGITS, "area_code")
                try:
                    rated_persons = integer(rated, "rated_persons")
                except FieldError as exc:
                    raise Bad(exc.reason, str(exc)) from None
                if rated_persons is not None and not 0 <= rated_persons <= 2147483647:
                    raise Bad("bad_number", f"rated_persons {rated!r} is not a head count")
                if code in seen:
                    raise Bad("duplicate_key", f"area {code} listed twice in this file")
            except Bad as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            seen.add(code)
            yield Record(AREAS.name, no, (
                mine, code, snapshot_at, AREA_TYPES.get(type_text), type_text or None, rated_persons, name or None,
            ))  # fmt: skip


class RyjzStream(_PositioningStream):
    """Base stations, RYJZ (基站): a full snapshot, `station_code;station_name;x;y;z;location`."""

    kind = "RYJZ"
    outputs = (STATIONS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, snapshot_at = info.mine_code, info.produced_at
        seen: set[str] = set()
        for no, fields, raw in records:
            if not count_ok(fields, 6):
                yield Reject(no, "field_count", raw, count_detail(fields, 6, raw))
                continue
            f = [x.strip() for x in fields[:6]]
            code = f[0]
            try:
                if not code:
                    raise Bad("field_count", "station_code is empty")
                check_code(code, mine, STATION_DIGITS, "station_code")
                try:
                    x, y, z = number(f[2], "x"), number(f[3], "y"), number(f[4], "z")
                except FieldError as exc:
                    raise Bad(exc.reason, str(exc)) from None
                if code in seen:
                    raise Bad("duplicate_key", f"station {code} listed twice in this file")
            except Bad as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            seen.add(code)
            yield Record(STATIONS.name, no, (
                mine, code, snapshot_at, area_of(code, mine), f[1] or None, x, y, z, f[5] or None,
            ))  # fmt: skip


class RyxxStream(_PositioningStream):
    """Persons, RYXX (人员信息): a full snapshot; the header has eight parts, the upload time last.

    Records: `card_code;person_name;job;title;team;birth_date;education;is_leader;is_special`.
    A header whose third part is a time is read as the usual three-part header.
    """

    kind = "RYXX"
    outputs = (PERSONS,)

    def open(self, data: bytes, ctx: FileContext) -> tuple[FileInfo, Iterator[NetworkingRecord]]:
        """Read the eight-part header (`mine;name;reserved;model;system;vendor;certificate;upload_time`)."""
        header, records = read_networking(data)
        if len(header) >= 8 and not _is_time(header[2]):
            header = [header[0], header[1], header[7], *header[2:7], *header[8:]]
            return read_header(header, ctx, RYXX_HEADER_PARTS), records
        return read_header(header, ctx, ()), records

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, snapshot_at = info.mine_code, info.produced_at
        seen: set[str] = set()
        for no, fields, raw in records:
            if not count_ok(fields, 9):
                yield Reject(no, "field_count", raw, count_detail(fields, 9, raw))
                continue
            f = [x.strip() for x in fields[:9]]
            card = f[0]
            try:
                if not card:
                    raise Bad("field_count", "card_code is empty")
                check_code(card, mine, CARD_DIGITS, "card_code")
                born = birth_date(f[5])
                leader, special = yes_no(f[7], "is_leader"), yes_no(f[8], "is_special")
                if card in seen:
                    raise Bad("duplicate_key", f"card {card} listed twice in this file")
            except Bad as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            seen.add(card)
            yield Record(PERSONS.name, no, (
                mine, card, snapshot_at, f[1] or None, f[2] or None, f[3] or None, f[4] or None,
                born, f[6] or None, leader, special,
            ))  # fmt: skip


def _is_time(text: str) -> bool:
    try:
        return local_time(text) is not None
    except BadTime:
        return False


class RyssStream(_PositioningStream):
    """Underground persons, RYSS (井下人员实时): a snapshot of every card, 15 fields, one file per cycle.

    Yields one observation per card (observed_at = header upload time) and one
    track item per station in its track. A record time more than 60 s after the
    upload time is `time_outside_window` (the times are stays, so there is no
    lower bound). `track_items=False` skips the track item rows (the counts and
    the latest item stay on the observation).
    """

    kind = "RYSS"
    outputs = (OBSERVATIONS, TRACK_ITEMS)

    def __init__(self, *, track_items: bool = True, **kw):
        super().__init__(**kw)
        self.track_items = track_items

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        info, records = self.open(data, ctx)
        yield info
        mine, observed_at = info.mine_code, info.produced_at
        hi = observed_at + WINDOW_AFTER
        area_len = len(mine) + AREA_DIGITS
        obs, items = OBSERVATIONS.name, TRACK_ITEMS.name
        seen: set[str] = set()
        for no, fields, raw in records:
            if not count_ok(fields, 15):
                yield Reject(no, "field_count", raw, count_detail(fields, 15, raw))
                continue
            f = [x.strip() for x in fields[:15]]
            card, area, station = f[0], f[5], f[7]
            try:
                if not card:
                    raise Bad("field_count", "card_code is empty")
                check_code(card, mine, CARD_DIGITS, "card_code")
                if area:
                    check_code(area, mine, AREA_DIGITS, "area_code")
                if station:
                    check_code(station, mine, STATION_DIGITS, "station_code")
                flag = in_mine_flag(f[2])
                entered_mine_at = time_field(f[3], "entered_mine_at")
                left_mine_at = time_field(f[4], "left_mine_at")
                entered_area_at = time_field(f[6], "entered_area_at")
                entered_station_at = time_field(f[8], "entered_station_at")
                try:
                    distance = number(f[10], "distance_m")
                except FieldError as exc:
                    raise Bad(exc.reason, str(exc)) from None
                status = work_status(f[11])
                leader, special = yes_no(f[12], "is_leader"), yes_no(f[13], "is_special")
                track = parse_track(f[14], mine)
                last_at, last_station = latest(track)
                for at in (entered_mine_at, left_mine_at, entered_area_at, entered_station_at, last_at):
                    if at is not None and at > hi:
                        raise Bad("time_outside_window", window_detail(at, observed_at))
                if card in seen:
                    raise Bad("duplicate_key", f"card {card} listed twice in this snapshot")
            except Bad as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            seen.add(card)
            yield Record(obs, no, (
                mine, card, observed_at, "RYSS", f[1] or None, flag, entered_mine_at, left_mine_at,
                area or None, entered_area_at, station or None, entered_station_at, f[9] or None,
                distance, status, leader, special, len(track), last_station, last_at, None,
            ))  # fmt: skip
            if self.track_items:
                for at, code in track:
                    yield Record(items, no, (mine, card, at, code, code[:area_len], observed_at))


class JzssStream(_PositioningStream):
    """Base-station state, JZSS (基站实时): `station_code;run_status;power_status;data_time`, FZSS codes.

    Window default: two 5-minute cycles before the upload time (JZSS comes every 1 to 5 minutes).
    """

    kind = "JZSS"
    outputs = (STATION_STATES,)
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
            try:
                if not code:
                    raise Bad("field_count", "station_code is empty")
                check_code(code, mine, STATION_DIGITS, "station_code")
                try:
                    run_status = smallint(fields[1].strip(), "run_status")
                    power_status = smallint(fields[2].strip(), "power_status")
                    at = local_time(fields[3], "data_time")
                except FieldError as exc:
                    raise Bad(exc.reason, str(exc)) from None
                if at is None:
                    raise Bad("bad_time", "data_time is empty")
                if at > hi or (lo is not None and at < lo):
                    raise Bad("time_outside_window", window_detail(at, upload_at))
                if (code, at) in seen:
                    raise Bad("duplicate_key", f"station {code} at {at.isoformat()} listed twice")
            except Bad as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            seen.add((code, at))
            yield Record(STATION_STATES.name, no, (mine, code, at, area_of(code, mine), run_status, power_status))


STREAMS: dict[str, type[Stream]] = {s.kind: s for s in (RyqyStream, RyjzStream, RyxxStream, RyssStream, JzssStream)}

# ready for connectors.catalog.KINDS: kind -> (feed, phase, "module:Stream"); definitions load before facts
CATALOG: dict[str, tuple[str, int, str]] = {
    kind: (FEED, 1 if kind in ("RYQY", "RYJZ", "RYXX") else 2, f"{__name__}:{cls.__name__}")
    for kind, cls in STREAMS.items()
}
