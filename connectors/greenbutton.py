"""Utility meters, Green Button (ESPI, NAESB REQ.21) XML (contract E.1): `*.xml`.

An Atom feed whose entries hold UsagePoint, MeterReading, ReadingType and
IntervalBlock resources, tied together by Atom links or by nesting:

- a MeterReading belongs to the UsagePoint that nests it, or whose
  `rel="related"` href is the MeterReading's `self` or `up` href, or whose
  self href its own href extends (`{usage point}/MeterReading/...`);
- its ReadingType is the one it nests, or the one its `related` hrefs name;
- an IntervalBlock belongs to the MeterReading that nests it, or whose
  `related` href is the block's `self` or `up` href, or whose self href the
  block's href extends (`{meter reading}/IntervalBlock/...`).

Hrefs are matched on their path (absolute and relative forms agree); the
usage point is emitted with its self href as written and its last segment.
Several UsagePoints per file. One record per IntervalReading: energy in kWh =
value x 10^powerOfTenMultiplier / 1000 (uom 72 = Wh).

Rejects are per IntervalReading (record_no = its 1-based position in the
file), checked in this order: the block reaches no UsagePoint (unknown_point);
`timePeriod/start` is not whole Unix seconds or the duration not a positive
integer (bad_time); the value or quality code is not a number (bad_number);
the ReadingType is not uom 72, flowDirection 1, accumulationBehaviour 4
(deltaData, an interval reading) or 1/2/3 (bulkQuantity, continuousCumulative,
cumulative: a register reading, whose energy is left NULL for the SQL to
derive from deltas) (unsupported_reading_type); a negative delivered value
(bad_number); a usage point whose interval start the file already had
(duplicate_key, the later reading; this catches identical starts within a
block and across blocks alike).

File-level faults: entity declarations, external entities and a DOCTYPE that
names an external DTD are `hostile_xml` and never expanded or fetched (a bare
internal DOCTYPE is harmless and read); bytes that do not decode in the
declared encoding are `bad_encoding`, and so is anything that is not
well-formed XML; XML that stops before its root element closes is truncated
(`FileIncomplete`: still uploading, or cut); well-formed XML that is not an
Atom feed holding ESPI resources is `expectation_failed`.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, DTDForbidden

from connectors.base import FileContext, FileIncomplete, FileRejected, Item, Stream
from schemas import FileInfo, Record, Reject
from schemas.meters import ESPI_INTERVALS

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
RESOURCES = frozenset({"UsagePoint", "MeterReading", "ReadingType", "IntervalBlock"})
WH = 72
DELIVERED = 1
INTERVAL_ACCUMULATION = {4: "interval"}  # deltaData
CUMULATIVE_ACCUMULATION = {1: "cumulative", 2: "cumulative", 3: "cumulative"}  # bulkQuantity, continuous, cumulative
ACCUMULATION = {**INTERVAL_ACCUMULATION, **CUMULATIVE_ACCUMULATION}
# expat errors that mean "the document stopped early": no element found, unclosed token,
# partial character, unclosed CDATA section
_CUT_SHORT = frozenset({3, 5, 6, 20})
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _key(href: str | None) -> str:
    """An href reduced to its path, for matching absolute and relative forms."""
    if not href:
        return ""
    if "://" in href:
        href = urlsplit(href).path
    return href.strip().strip("/")


def last_segment(href: str) -> str:
    """The last path segment of an href: a UsagePoint's id."""
    return href.strip().rstrip("/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------- bytes to a safe XML event stream


def _utf8(data: bytes) -> bytes:
    """The document as UTF-8 bytes (expat reads no multi-byte legacy encodings); bad_encoding if it is not text."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith(b"<\x00?\x00"):
        encoding = "utf-16-le"
    elif data.startswith(b"\x00<\x00?"):
        encoding = "utf-16-be"
    else:
        m = _DECLARED.match(data[:512])
        encoding = m[1].decode("ascii") if m else "utf-8"
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise FileRejected("bad_encoding", f"the XML declares an unknown encoding {encoding!r}") from None
    if codec == "utf-8":
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for i in range(0, len(data), 1 << 20):
                decoder.decode(data[i : i + (1 << 20)])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise FileRejected("bad_encoding", f"not valid UTF-8 ({exc.reason})") from None
        return data
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise FileRejected("bad_encoding", f"not valid {encoding} (byte {exc.start})") from None
    text = re.sub(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[A-Za-z0-9._:-]+""", r"\1UTF-8", text.lstrip("\ufeff"))
    return text.encode("utf-8")


def _events(xml: bytes, allow_dtd: bool) -> Iterator[tuple[str, object]]:
    """(event, element) pairs of a safe parse; file-level faults raise FileRejected."""
    try:
        yield from SafeET.iterparse(
            io.BytesIO(xml), events=("start", "end"), forbid_dtd=not allow_dtd, forbid_entities=True,
            forbid_external=True,
        )  # fmt: skip
    except DTDForbidden:
        raise
    except DefusedXmlException as exc:
        detail = f"the XML declares entities or refers outside itself, not expanded: {exc}"
        raise FileRejected("hostile_xml", detail) from None
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        message = str(exc).split(":")[0]
        if getattr(exc, "code", None) in _CUT_SHORT:
            raise FileIncomplete(f"the XML stops before its root element closes ({message}, line {line})") from None
        raise FileRejected("bad_encoding", f"not well-formed XML ({message}, line {line}, column {column})") from None


# ---------------------------------------------------------------- pass 1: the link structure


class _Resource:
    """One ESPI resource of the feed, with its entry's links and its nesting parent."""

    __slots__ = ("kind", "parent", "self_href", "up_href", "related", "fields")

    def __init__(self, kind: str, parent: int | None):
        self.kind = kind
        self.parent = parent
        self.self_href: str | None = None
        self.up_href: str | None = None
        self.related: list[str] = []
        self.fields: dict[str, str] = {}


class _Feed:
    """What the first pass learns: the resources, blocks in document order and the feed's own header."""

    def __init__(self) -> None:
        self.resources: list[_Resource] = []
        self.blocks: list[int] = []
        self.is_espi = False
        self.feed_id: str | None = None
        self.feed_href: str | None = None
        self.updated: str | None = None


def _structure(xml: bytes, allow_dtd: bool) -> _Feed:
    feed = _Feed()
    stack: list[tuple[str, int | None]] = []  # open elements: (local name, resource index)
    open_resources: list[int] = []
    entry_depth = -1  # depth of the open atom:entry, -1 when none
    entry_links: dict[str, list[str]] = {}
    entry_top: list[int] = []
    for event, elem in _events(xml, allow_dtd):
        tag = elem.tag
        ns, local = (tag[1:].split("}", 1) if tag[:1] == "{" else ("", tag))
        if event == "start":
            if not stack and (local not in ("feed", "entry") or ns not in (ATOM, "")):
                where = ns or "no namespace"
                raise FileRejected("expectation_failed", f"not an Atom feed: the root element is <{local}> ({where})")
            if ns == ESPI:
                feed.is_espi = True
            if local == "entry" and ns in (ATOM, "") and entry_depth < 0 and (not stack or len(stack) == 1):
                entry_depth, entry_links, entry_top = len(stack), {"self": [], "up": [], "related": []}, []
            if local in RESOURCES and ns != ATOM:
                feed.is_espi = True
                index = len(feed.resources)
                feed.resources.append(_Resource(local, open_resources[-1] if open_resources else None))
                if local == "IntervalBlock":
                    feed.blocks.append(index)
                if not open_resources:
                    entry_top.append(index)
                open_resources.append(index)
                stack.append((local, index))
            else:
                stack.append((local, None))
            continue
        _, index = stack.pop()
        depth = len(stack)
        if index is not None:
            open_resources.pop()
            if local == "ReadingType":
                feed.resources[index].fields = {_local(c.tag): (c.text or "").strip() for c in elem}
            elif local == "IntervalBlock":
                elem.clear()
        elif local == "IntervalReading":
            elem.clear()
        elif local == "link" and entry_depth >= 0 and depth == entry_depth + 1:
            rel = (elem.get("rel") or "alternate").strip()
            href = (elem.get("href") or "").strip()
            if href and rel in entry_links:
                entry_links[rel].append(href)
        elif local == "entry" and depth == entry_depth:
            for i in entry_top:
                r = feed.resources[i]
                r.self_href = entry_links["self"][0] if entry_links["self"] else None
                r.up_href = entry_links["up"][0] if entry_links["up"] else None
                r.related = entry_links["related"]
            entry_depth = -1
            elem.clear()
        elif depth == 1 and stack[0][0] == "feed":
            if local == "id":
                feed.feed_id = (elem.text or "").strip() or None
            elif local == "updated":
                feed.updated = (elem.text or "").strip() or None
            elif local == "link" and elem.get("rel") == "self":
                feed.feed_href = elem.get("href")
    return feed


def _read_structure(xml: bytes) -> tuple[_Feed, bool]:
    """The first pass, with a DOCTYPE allowed only when it is internal (entities stay forbidden)."""
    try:
        return _structure(xml, allow_dtd=False), False
    except DTDForbidden as exc:
        if exc.sysid or exc.pubid:
            raise FileRejected(
                "hostile_xml", f"the DOCTYPE refers to an external DTD ({exc.sysid or exc.pubid}), not fetched"
            ) from None
    return _structure(xml, allow_dtd=True), True


# ---------------------------------------------------------------- resolving the links


class _Block:
    """What every reading of one IntervalBlock shares: its usage point, reading type, or why it has none."""

    __slots__ = ("usage_point", "usage_point_id", "meter_reading", "reading_type", "problem", "power", "uom",
                 "accumulation", "accumulation_code", "interval_length")  # fmt: skip

    def __init__(self) -> None:
        self.usage_point: str | None = None
        self.usage_point_id: str | None = None
        self.meter_reading: str | None = None
        self.reading_type: str | None = None
        self.problem: tuple[str, str] | None = None
        self.power = 0
        self.uom: int | None = None
        self.accumulation: str | None = None
        self.accumulation_code: int | None = None
        self.interval_length: int | None = None


def _code(fields: dict[str, str], name: str) -> int | None:
    text = fields.get(name, "")
    return int(text) if _INTEGER.fullmatch(text) else None


def _reading_type(block: _Block, rt: _Resource) -> None:
    f = rt.fields
    block.reading_type = rt.self_href
    block.uom = _code(f, "uom")
    block.accumulation_code = _code(f, "accumulationBehaviour")
    block.accumulation = ACCUMULATION.get(block.accumulation_code)
    block.interval_length = _code(f, "intervalLength")
    power = _code(f, "powerOfTenMultiplier")
    wrong = []
    if block.uom != WH:
        wrong.append(f"uom {f.get('uom') or 'missing'} (only 72 = Wh)")
    if _code(f, "flowDirection") != DELIVERED:
        wrong.append(f"flowDirection {f.get('flowDirection') or 'missing'} (only 1 = delivered)")
    if block.accumulation is None:
        wrong.append(
            f"accumulationBehaviour {f.get('accumulationBehaviour') or 'missing'} "
            "(only 4 = deltaData, or 1/2/3 = cumulative)"
        )
    if f.get("powerOfTenMultiplier") and power is None:
        wrong.append(f"powerOfTenMultiplier {f['powerOfTenMultiplier']!r}")
    block.power = power or 0
    if wrong:
        block.problem = ("unsupported_reading_type", f"ReadingType {rt.self_href or '(nested)'}: " + "; ".join(wrong))


def _resolve(feed: _Feed) -> list[_Block]:
    res = feed.resources
    by_self: dict[str, dict[str, int]] = {k: {} for k in RESOURCES}
    by_related: dict[str, dict[str, int]] = {k: {} for k in RESOURCES}
    children: dict[int, list[int]] = {}
    for i, r in enumerate(res):
        if r.self_href:
            by_self[r.kind].setdefault(_key(r.self_href), i)
        for h in r.related:
            by_related[r.kind].setdefault(_key(h), i)
        if r.parent is not None:
            children.setdefault(r.parent, []).append(i)

    def ancestor(i: int, kind: str) -> int | None:
        p = res[i].parent
        while p is not None and res[p].kind != kind:
            p = res[p].parent
        return p

    def owner(i: int, kind: str, segment: str) -> int | None:
        """The resource of `kind` that nests, relates to, or prefixes resource i."""
        found = ancestor(i, kind)
        if found is not None:
            return found
        hrefs = [_key(h) for h in (res[i].self_href, res[i].up_href) if h]
        for h in hrefs:
            if h in by_related[kind]:
                return by_related[kind][h]
        for h in hrefs:
            cut = h.rfind(segment)
            if cut > 0 and h[:cut] in by_self[kind]:
                return by_self[kind][h[:cut]]
        return None

    def reading_type(mr: int) -> int | None:
        for c in children.get(mr, ()):
            if res[c].kind == "ReadingType":
                return c
        for h in res[mr].related:
            found = by_self["ReadingType"].get(_key(h))
            if found is not None:
                return found
        return None

    blocks = []
    for b in feed.blocks:
        block = _Block()
        blocks.append(block)
        where = res[b].self_href or "(nested IntervalBlock)"
        mr = owner(b, "MeterReading", "/IntervalBlock")
        if mr is None:
            block.problem = ("unknown_point", f"IntervalBlock {where} belongs to no MeterReading in this feed")
            continue
        block.meter_reading = res[mr].self_href
        up = owner(mr, "UsagePoint", "/MeterReading")
        if up is None:
            block.problem = ("unknown_point", f"MeterReading {res[mr].self_href or where} belongs to no UsagePoint")
            continue
        href = res[up].self_href
        if not href:
            block.problem = ("unknown_point", f"the UsagePoint of IntervalBlock {where} has no rel=\"self\" link")
            continue
        block.usage_point, block.usage_point_id = href, last_segment(href)
        rt = reading_type(mr)
        if rt is None:
            block.problem = ("unsupported_reading_type", f"MeterReading {block.meter_reading} has no ReadingType")
            continue
        _reading_type(block, res[rt])
    return blocks


# ---------------------------------------------------------------- pass 2: the readings


def _markup(elem) -> str:
    """A reading's XML without namespaces: the raw text kept with a reject."""
    local = _local(elem.tag)
    if len(elem):
        return f"<{local}>{''.join(_markup(c) for c in elem)}</{local}>"
    return f"<{local}>{escape((elem.text or '').strip())}</{local}>"


def _fields(elem) -> tuple[str | None, str | None, str | None, str | None]:
    """(start, duration, value, first quality code) of an IntervalReading, as text."""
    start = duration = value = quality = None
    for child in elem:
        name = _local(child.tag)
        if name == "timePeriod":
            for c in child:
                n = _local(c.tag)
                if n == "start":
                    start = (c.text or "").strip()
                elif n == "duration":
                    duration = (c.text or "").strip()
        elif name == "value":
            value = (child.text or "").strip()
        elif name == "ReadingQuality" and quality is None:
            for c in child:
                if _local(c.tag) == "quality":
                    quality = (c.text or "").strip()
    return start, duration, value, quality


def _kwh(value: Decimal, power: int) -> Decimal:
    kwh = value.scaleb(power - 3)
    return kwh.quantize(Decimal(1)) if kwh.as_tuple().exponent > 0 else kwh


class GreenButtonStream(Stream):
    """Interval energy of every UsagePoint of a Green Button (ESPI) Atom feed (E.1)."""

    feed = "meters"
    kind = "espi"
    outputs = (ESPI_INTERVALS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        xml = _utf8(data)
        feed, allow_dtd = _read_structure(xml)
        if not feed.is_espi:
            raise FileRejected(
                "expectation_failed", "an Atom feed without ESPI resources (no http://naesb.org/espi content)"
            )
        blocks = _resolve(feed)
        usage_points = {b.usage_point for b in blocks if b.usage_point}
        yield FileInfo(
            mine_code=None,
            produced_at=_atom_time(feed.updated),
            extra={"feed_id": feed.feed_id, "feed_href": feed.feed_href, "usage_points": len(usage_points)},
        )
        yield from self._readings(xml, allow_dtd, blocks)

    def _readings(self, xml: bytes, allow_dtd: bool, blocks: list[_Block]) -> Iterator[Item]:
        target = ESPI_INTERVALS.name
        seen: dict[tuple[str, int], int] = {}
        block: _Block | None = None
        block_no = -1
        no = 0
        for event, elem in _events(xml, allow_dtd):
            local = _local(elem.tag)
            if event == "start":
                if local == "IntervalBlock":
                    block_no += 1
                    block = blocks[block_no]
                continue
            if local == "IntervalBlock":
                block = None
                elem.clear()
            elif local == "entry":
                elem.clear()
            elif local == "IntervalReading":
                no += 1
                item = self._reading(no, elem, block, seen, target)
                elem.clear()
                yield item

    @staticmethod
    def _reading(no: int, elem, block: _Block | None, seen: dict, target: str) -> Record | Reject:
        if block is None:
            return Reject(no, "unknown_point", _markup(elem), "IntervalReading outside an IntervalBlock")
        if block.problem is not None and block.problem[0] == "unknown_point":
            return Reject(no, "unknown_point", _markup(elem), block.problem[1])
        start, duration, value, quality = _fields(elem)
        if not start:
            return Reject(no, "bad_time", _markup(elem), "no timePeriod/start")
        if not _UNSIGNED.fullmatch(start):
            return Reject(no, "bad_time", _markup(elem), f"timePeriod/start {start!r} is not whole Unix seconds")
        try:
            epoch = int(start)
            at = datetime.fromtimestamp(epoch, UTC)
        except (OverflowError, OSError, ValueError):
            return Reject(no, "bad_time", _markup(elem), f"timePeriod/start {start} is out of range")
        if duration:
            if not _UNSIGNED.fullmatch(duration) or int(duration) == 0:
                detail = f"timePeriod/duration {duration!r} is not whole seconds > 0"
                return Reject(no, "bad_time", _markup(elem), detail)
            seconds = int(duration)
        elif block.interval_length:
            seconds = block.interval_length
        else:
            return Reject(no, "bad_time", _markup(elem), "no timePeriod/duration and no intervalLength")
        if not value:
            return Reject(no, "bad_number", _markup(elem), "no value")
        try:
            raw = Decimal(value)
        except InvalidOperation:
            raw = None
        if raw is None or not raw.is_finite():
            return Reject(no, "bad_number", _markup(elem), f"value {value!r} is not a number")
        if quality and not _INTEGER.fullmatch(quality):
            return Reject(no, "bad_number", _markup(elem), f"ReadingQuality {quality!r} is not a code")
        if block.problem is not None:
            return Reject(no, block.problem[0], _markup(elem), block.problem[1])
        if raw < 0:
            return Reject(no, "bad_number", _markup(elem), f"value {value} is negative: delivered energy cannot be")
        key = (block.usage_point, epoch)
        first = seen.get(key)
        if first is not None:
            return Reject(
                no, "duplicate_key", _markup(elem),
                f"usage point {block.usage_point} already has an interval starting {at.isoformat()} (reading {first})",
            )  # fmt: skip
        seen[key] = no
        kwh = _kwh(raw, block.power)
        return Record(target, no, (
            block.usage_point, block.usage_point_id, at, seconds,
            kwh if block.accumulation == "interval" else None, kwh, raw, block.power, block.uom,
            block.accumulation, block.accumulation_code, block.interval_length,
            int(quality) if quality else None, block.meter_reading, block.reading_type,
        ))  # fmt: skip


def _atom_time(text: str | None) -> datetime | None:
    """An Atom date-time as an aware datetime (UTC when it has no offset), or None."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


STREAMS: dict[str, type[Stream]] = {GreenButtonStream.kind: GreenButtonStream}


