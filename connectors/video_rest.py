"""Video system, REST dialect (contract D.1): the camera inventory and camera events.

`GET /api/v1/cameras?mine=` is a full inventory: rows keyed by the pull time
(`snapshot_at`), which the caller passes in (connectors read no clock).
`GET /api/v1/events?mine=&since=&cursor=` pages by cursor (`connectors.rest`).
`event_values` holds the event rules both dialects share (D.1, D.2):

- a type outside ONLINE OFFLINE VIDEO_LOSS OCCLUSION SCENE_CHANGE
  PRESET_CHANGE RELOCATED is `unsupported_reading_type` (the one I.1 code for
  "a kind of reading minewatch does not know"); types are read case-blind;
- a time that is no ISO 8601 time is `bad_time` (no offset = China time);
- an empty event_id or camera_id is `field_count`;
- an area code of the positioning shape (mine + 4 digits) that starts with
  another mine's code is `mine_mismatch`; other area codes are kept as sent
  (an area the registry does not know is evidence, not a parse error).

`CamerasStream` and `EventsPageStream` read archived API answers, so a pull
takes the same load path as a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.base import FileContext, FileRejected, Item, Stream
from connectors.networking import CHINA_TZ, BadTime, local_time
from connectors.positioning_files import Bad
from connectors.positioning_rest import page_items, raw_item, since_param
from connectors.rest import CURSOR, Page, RestClient, RestProtocolError
from schemas import FileInfo, Record, Reject
from schemas.video import CAMERAS, EVENT_TYPES, EVENTS

FEED = "video"
CAMERAS_PATH = "api/v1/cameras"
EVENTS_PATH = "api/v1/events"
_TYPES = frozenset(EVENT_TYPES)
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


def event_at(item: Any) -> datetime | None:
    """An event's receive time on the platform: `received_at` when sent, else `at` (contract J)."""
    at = item.get("received_at") or item.get("at")
    return local_time(at, "at") if isinstance(at, str) else None


def fetch_cameras(client: RestClient, mine: str) -> tuple[list[Any], bytes]:
    """The camera inventory of a mine: (items, bytes as received)."""
    payload, body = client.fetch(CAMERAS_PATH, {"mine": mine})
    if not isinstance(payload, list):
        raise RestProtocolError(f"{client.feed} API at {client.url(CAMERAS_PATH)} answered no camera list")
    return payload, body


def pull_events(client: RestClient, mine: str, since: datetime | None) -> Iterator[Page]:
    """The camera events of a mine from `since` (inclusive) to the end, page by page."""
    params = {"mine": mine}
    if since is not None:
        params["since"] = since_param(since)
    return client.pages(EVENTS_PATH, params, CURSOR, event_at)


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Bad("field_count", f"{field} {value!r} is not text")
    return str(value).strip()


def check_area(area: str, mine: str) -> None:
    """`Bad("mine_mismatch")` for an area code of the positioning shape that belongs to another mine."""
    if len(area) == len(mine) + 4 and area.isascii() and area.isdigit() and not area.startswith(mine):
        raise Bad("mine_mismatch", f"area_code {area} is of mine {area[: len(mine)]}, not {mine}")


def event_values(
    mine: str, event_id: Any, camera_id: Any, kind: Any, at: Any, area: Any, seal: Any, source: str
) -> tuple:
    """The `video_events` values of one event, or `Bad` with its reject reason."""
    event_id, camera_id = _text(event_id, "event_id"), _text(camera_id, "camera_id")
    kind, area, seal = _text(kind, "type").upper(), _text(area, "area_code"), _text(seal, "seal_code")
    if not event_id:
        raise Bad("field_count", "event_id is empty")
    if not camera_id:
        raise Bad("field_count", "camera_id is empty")
    if kind not in _TYPES:
        raise Bad("unsupported_reading_type", f"event type {kind!r} is none of {', '.join(EVENT_TYPES)}")
    if not isinstance(at, str) or not at.strip():
        raise Bad("bad_time", f"at {at!r} is not an ISO 8601 time")
    try:
        when = local_time(at, "at")
    except BadTime as exc:
        raise Bad("bad_time", str(exc)) from None
    if area:
        check_area(area, mine)
    return (mine, event_id, camera_id, kind, when, area or None, seal or None, source)


def event_records(mine: str, events: list[Any], source: str = "REST") -> Iterator[Record | Reject]:
    """Events and rejects of a page's items; an event_id seen earlier in the page is `duplicate_key`."""
    seen: dict[str, int] = {}
    for no, e in enumerate(events, start=1):
        try:
            if not isinstance(e, dict):
                raise Bad("field_count", "event is not a JSON object")
            values = event_values(
                mine, e.get("event_id"), e.get("camera_id"), e.get("type"), e.get("at"),
                e.get("area_code"), e.get("seal_code"), source,
            )  # fmt: skip
            first = seen.get(values[1])
            if first is not None:
                raise Bad("duplicate_key", f"event_id {values[1]} already at item {first}")
        except Bad as exc:
            yield Reject(no, exc.reason, raw_item(e), str(exc))
            continue
        seen[values[1]] = no
        yield Record(EVENTS.name, no, values)


def _online(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _BOOLS:
        return _BOOLS[text]
    raise Bad("bad_number", f"online {value!r} is not true or false")


def _preset(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Bad("bad_number", f"preset {value!r} is not a whole number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Bad("bad_number", f"preset {value!r} is not a whole number") from None
    if number != int(number) or not -2147483648 <= number <= 2147483647:
        raise Bad("bad_number", f"preset {value!r} is not a whole number")
    return int(number)


def camera_records(mine: str, cameras: list[Any], snapshot_at: datetime) -> Iterator[Record | Reject]:
    """Camera inventory rows and rejects; `snapshot_at` is when the inventory was pulled (aware)."""
    if snapshot_at.tzinfo is None:
        raise ValueError("snapshot_at must be timezone-aware")
    seen: dict[str, int] = {}
    for no, c in enumerate(cameras, start=1):
        try:
            if not isinstance(c, dict):
                raise Bad("field_count", "camera is not a JSON object")
            camera_id = _text(c.get("camera_id"), "camera_id")
            if not camera_id:
                raise Bad("field_count", "camera_id is empty")
            area, seal = _text(c.get("area_code"), "area_code"), _text(c.get("seal_code"), "seal_code")
            if area:
                check_area(area, mine)
            online, preset = _online(c.get("online")), _preset(c.get("preset"))
            name = c.get("name")
            if camera_id in seen:
                raise Bad("duplicate_key", f"camera {camera_id} already at item {seen[camera_id]}")
        except Bad as exc:
            yield Reject(no, exc.reason, raw_item(c), str(exc))
            continue
        seen[camera_id] = no
        yield Record(CAMERAS.name, no, (
            mine, camera_id, snapshot_at, (str(name).strip() or None) if name is not None else None,
            area or None, seal or None, online, preset,
        ))  # fmt: skip


class CamerasStream(Stream):
    """An archived D.1 camera inventory (a JSON list) of `ctx.mine_code`; `ctx.stamp` is the pull time (China)."""

    feed = FEED
    kind = "cameras"
    outputs = (CAMERAS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        if not ctx.mine_code:
            raise FileRejected("mine_mismatch", f"{ctx.name!r}: a camera inventory needs the mine it was pulled for")
        if ctx.stamp is None:
            raise FileRejected("bad_time", f"{ctx.name!r}: a camera inventory needs its pull time (FileContext.stamp)")
        at = ctx.stamp if ctx.stamp.tzinfo else ctx.stamp.replace(tzinfo=CHINA_TZ)
        items = page_items(data, "cameras")
        yield FileInfo(mine_code=ctx.mine_code, produced_at=at, extra={"source": "REST"})
        yield from camera_records(ctx.mine_code, items, at)


class EventsPageStream(Stream):
    """One archived page of D.1 events (`{"events": [...], "next_cursor": ...}`) of `ctx.mine_code`."""

    feed = FEED
    kind = "video_events"
    outputs = (EVENTS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        if not ctx.mine_code:
            raise FileRejected("mine_mismatch", f"{ctx.name!r}: an events page needs the mine it was pulled for")
        items = page_items(data, CURSOR.items_key)
        yield FileInfo(mine_code=ctx.mine_code, extra={"source": "REST", "items": len(items)})
        yield from event_records(ctx.mine_code, items, "REST")


STREAMS: dict[str, type[Stream]] = {s.kind: s for s in (CamerasStream, EventsPageStream)}
