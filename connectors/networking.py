"""The networking file layout (联网数据文件, contract B.0), shared by B.1, B.2 and C.1.

`read_networking(data)` decodes a file, checks its `||` trailer and returns
the header's fields and an iterator of `(record_no, fields, raw_text)` for the
data records: `~` ends a record, `;` separates fields, line breaks between
records mean nothing, empty records are skipped. The field helpers turn text
into values or raise a `FieldError` whose `reason` is the reject code
(`bad_number`, `bad_time`); `read_header` checks the header against the file
name's mine code and returns the `FileInfo`; `NetworkingStream` puts the two
together for a stream class, with the record time window of contract I.1.

A full-width `；` is not a separator: a record that uses it in place of `;`
gets the wrong field count and is rejected `field_count` (the detail names the
`；`); inside free text of a record whose count is right it is kept as text.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from connectors.base import FileContext, FileIncomplete, FileRejected, decode_text
from schemas import FileInfo, Reject

CHINA_TZ = timezone(timedelta(hours=8))
TRAILER = "||"
FULL_WIDTH_SEMICOLON = "；"
# a record may lie at most this far after its file's upload time (contract I.1)
WINDOW_AFTER = timedelta(seconds=60)
# header parts after the upload time in the national dialect (B.1)
NATIONAL_HEADER_PARTS = ("system_model", "system_name", "vendor", "certificate_valid_until")

NetworkingRecord = tuple[int, list[str], str]


class FieldError(ValueError):
    """A field that cannot be read; `reason` is the contract I.1 reject code."""

    reason = "field_error"


class BadNumber(FieldError):
    """A numeric field holding something that is not a number."""

    reason = "bad_number"


class BadTime(FieldError):
    """A time field that is not `yyyy-MM-dd HH:mm:ss` (or ISO 8601)."""

    reason = "bad_time"


def read_networking(data: bytes) -> tuple[list[str], Iterator[NetworkingRecord]]:
    """Split a networking file into its header fields and an iterator of data records.

    Raises `FileIncomplete` without the `||` trailer, `FileRejected` for an
    undecodable file or one without a header.
    """
    text = decode_text(data)
    body = text.rstrip(" \t\r\n\x00\x1a")
    if not body.endswith(TRAILER):
        raise FileIncomplete("no '||' trailer at the end of the file")
    pieces = body[: -len(TRAILER)].split("~")
    i = 0
    n = len(pieces)
    while i < n and not pieces[i].strip():
        i += 1
    if i == n:
        raise FileRejected("field_count", "no header record before the '||' trailer")
    header = [f.strip() for f in pieces[i].strip().split(";")]
    return header, _records(pieces, i + 1)


_BREAKS = re.compile(rb"~[ \t\r\n]+")  # line breaks (and blanks) after a record's `~`: they mean nothing


def split_networking(data: bytes, width: int) -> tuple[list[str], bytes, int] | None:
    """A plain file's header fields, and its data records as lines of `width` fields, for reading in bulk.

    (header fields, the records as newline-ended lines, how many) when every record is non-empty,
    has exactly `width` fields, and the file is UTF-8 (a BOM is fine) with its `||` trailer;
    None for anything else, which `read_networking` reads record by record, rejecting what
    it must. The two agree on every file this accepts.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    text = data.rstrip(b" \t\r\n\x00\x1a")
    if not text.endswith(b"||"):
        return None
    text = text[:-2].lstrip(b" \t\r\n")
    if b"\n" in text or b"\r" in text:
        text = _BREAKS.sub(b"~", text)
        if b"\n" in text or b"\r" in text:
            return None
    cut = text.find(b"~")
    if cut <= 0:
        return None
    body = text[cut + 1:]
    if (body and not body.endswith(b"~")) or b"~~" in body or b"\x00" in body:
        return None
    try:
        header = text[:cut].decode("utf-8")
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    records = body.count(b"~")
    if body.count(b";") != (width - 1) * records:
        return None
    return [f.strip() for f in header.strip().split(";")], body.replace(b"~", b"\n"), records


def _records(pieces: list[str], start: int) -> Iterator[NetworkingRecord]:
    no = 0
    for k in range(start, len(pieces)):
        raw = pieces[k].strip()
        if not raw:
            continue
        no += 1
        yield no, raw.split(";"), raw


def read_header(fields: list[str], ctx: FileContext, named_parts: tuple[str, ...] = ()) -> FileInfo:
    """Read a `mine_code;mine_name;upload_time[;parts...]` header into a FileInfo.

    Named optional parts go into `extra` under their names (None when empty or absent);
    parts beyond them are kept in `extra["header_extra"]`. A mine code that
    differs from the file name's raises `FileRejected("mine_mismatch")`.
    """
    if len(fields) < 3:
        detail = f"header has {len(fields)} part(s), expected mine_code;mine_name;upload_time"
        if FULL_WIDTH_SEMICOLON in ";".join(fields):
            detail += " (full-width '；' used as a separator)"
        raise FileRejected("field_count", detail)
    mine = fields[0]
    if ctx.mine_code is not None and mine != ctx.mine_code:
        raise FileRejected("mine_mismatch", f"header mine code {mine!r}, file name says {ctx.mine_code!r}")
    if not mine:
        raise FileRejected("field_count", "header has an empty mine code")
    try:
        at = local_time(fields[2], "upload_time")
    except BadTime as exc:
        raise FileRejected("bad_time", f"header {exc}") from None
    if at is None:
        raise FileRejected("bad_time", "header upload_time is empty")
    extra: dict = {"mine_name": fields[1] or None}
    rest = fields[3:]
    for i, name in enumerate(named_parts):
        extra[name] = (rest[i] or None) if i < len(rest) else None
    unknown = rest[len(named_parts) :]
    while unknown and not unknown[-1]:
        unknown = unknown[:-1]
    if unknown:
        extra["header_extra"] = list(unknown)
    return FileInfo(mine_code=mine, produced_at=at, extra=extra)


def count_ok(fields: list[str], expected: int) -> bool:
    """True when a record has the expected field count (a trailing `;` before `~` is tolerated)."""
    n = len(fields)
    return n == expected or (n == expected + 1 and not fields[expected].strip())


def checked(records: Iterator[NetworkingRecord], width: int, key_name: str = "point_code") -> Iterator:
    """The records with `width` fields and a non-empty first field, stripped, as (record_no, fields, raw);
    the others as `field_count` rejects.
    """
    for no, fields, raw in records:
        if not count_ok(fields, width):
            yield Reject(no, "field_count", raw, count_detail(fields, width, raw))
            continue
        f = [x.strip() for x in fields]
        if not f[0]:
            yield Reject(no, "field_count", raw, f"{key_name} is empty")
            continue
        yield no, f, raw


def count_detail(fields: list[str], expected: int, raw: str) -> str:
    """Explain a wrong field count for a `field_count` reject."""
    detail = f"{len(fields)} fields, expected {expected}"
    if FULL_WIDTH_SEMICOLON in raw:
        detail += " (full-width '；' used as a separator)"
    return detail


def number(text: str, field: str = "value") -> float | None:
    """A numeric field: None for empty or -9999, a float, or `BadNumber`."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        if text.isspace():
            return None
        raise BadNumber(f"{field} {text!r} is not a number") from None
    if value == -9999.0:
        return None
    if value - value != 0.0 or "_" in text:  # nan, inf, 1_000
        raise BadNumber(f"{field} {text!r} is not a number")
    return value


def integer(text: str, field: str = "value") -> int | None:
    """An integer field: None for empty or -9999, an int (`3.0` reads as 3), or `BadNumber`."""
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        f = number(text, field)
        if f is None:
            return None
        if f != int(f):
            raise BadNumber(f"{field} {text!r} is not an integer") from None
        value = int(f)
    else:
        if "_" in text:
            raise BadNumber(f"{field} {text!r} is not an integer")
    if value == -9999:
        return None
    return value


def smallint(text: str, field: str = "value") -> int | None:
    """An integer field that must fit a PostgreSQL smallint (codes, states)."""
    value = integer(text, field)
    if value is not None and not -32768 <= value <= 32767:
        raise BadNumber(f"{field} {text!r} is out of range")
    return value


def status(text: str, field: str = "status") -> int | None:
    """A status bit field: a non-negative integer that fits PostgreSQL integer, None when empty, or `BadNumber`."""
    value = _STATUS.get(text)
    if value is not None:
        return value
    value = integer(text, field)
    if value is not None and not 0 <= value <= 2147483647:
        raise BadNumber(f"{field} {text!r} is not a status (0 to 2147483647)")
    return value


_STATUS = {str(i): i for i in range(256)}

_TIMES: dict[str, datetime] = {}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M")


def local_time(text: str, field: str = "time") -> datetime | None:
    """A time field as an aware datetime: `yyyy-MM-dd HH:mm:ss` is China time (UTC+8).

    ISO 8601 with an offset is converted to UTC+8; `/` date separators and
    unpadded parts are accepted; empty gives None; anything else `BadTime`.
    """
    at = _TIMES.get(text)
    if at is not None:
        return at
    s = text.strip()
    if not s:
        return None
    at = _parse_time(s, field)
    if len(_TIMES) >= 8192:
        _TIMES.clear()
    _TIMES[text] = at
    return at


def _parse_time(s: str, field: str) -> datetime:
    if "/" in s:
        s = s.replace("/", "-")
    if len(s) < 13 or not s[:4].isdigit() or (" " not in s and "T" not in s):
        raise BadTime(f"{field} {s!r} is not yyyy-MM-dd HH:mm:ss")
    try:
        at = datetime.fromisoformat(s)
    except ValueError:
        for fmt in _TIME_FORMATS:
            try:
                at = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        else:
            raise BadTime(f"{field} {s!r} is not yyyy-MM-dd HH:mm:ss") from None
    if at.tzinfo is None:
        return at.replace(tzinfo=CHINA_TZ)
    return at.astimezone(CHINA_TZ)


def window(upload_at: datetime, cycle: timedelta | None) -> tuple[datetime | None, datetime]:
    """The earliest and latest record time a file uploaded at `upload_at` may carry (contract I.1).

    Two upload cycles before (no lower bound when `cycle` is None) to 60 s after.
    """
    return (None if cycle is None else upload_at - 2 * cycle), upload_at + WINDOW_AFTER


def window_detail(at: datetime, upload_at: datetime) -> str:
    """Explain a `time_outside_window` reject."""
    delta = (at - upload_at).total_seconds()
    side = "after" if delta > 0 else "before"
    return f"record time {at.isoformat()} is {abs(delta):g} s {side} the upload time {upload_at.isoformat()}"


_DEFAULT = object()


class NetworkingStream:
    """Mixin for streams of networking files: header reading and the record time window.

    `cycle` is the mine's upload cadence, which a parser cannot know: records
    more than two cycles before the upload time are `time_outside_window`.
    Each stream class sets `default_cycle` (None: no lower bound).
    """

    header_parts: tuple[str, ...] = ()
    default_cycle: timedelta | None = timedelta(seconds=60)

    def __init__(self, *, cycle: timedelta | None = _DEFAULT):  # type: ignore[assignment]
        self.cycle = self.default_cycle if cycle is _DEFAULT else cycle

    def open(self, data: bytes, ctx: FileContext) -> tuple[FileInfo, Iterator[NetworkingRecord]]:
        """Read and check the header; return its FileInfo and the data records."""
        header, records = read_networking(data)
        return read_header(header, ctx, self.header_parts), records
