"""Personnel positioning, REST dialect (contract C.2): vendor platform positions as observations.

Each item `{"card", "area", "station", "read_at", "in_mine", "status"}`
becomes a `positioning_observations` row in the RYSS shape: observed_at =
`read_at`, `in_mine` is RYSS field 3 and `status` field 12; what REST does not
carry (name, stay times, distance, track) is NULL, and `is_read` is true (every
item is a read). Codes are checked as in C.1 (`mine_mismatch`). `pull` pages
through the API with `connectors.rest`; `PositionsPageStream` reads one page's
archived bytes, so a pulled page takes the same load path as a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.base import FileContext, FileRejected, Item, Stream, decode_text
from connectors.networking import local_time
from connectors.positioning_files import (
    AREA_DIGITS,
    CARD_DIGITS,
    FEED,
    STATION_DIGITS,
    Bad,
    check_code,
    in_mine_flag,
    time_field,
    work_status,
)
from connectors.rest import PAGE_TOKEN, Page, RestClient
from schemas import FileInfo, Record, Reject
from schemas.positioning import OBSERVATIONS

POSITIONS_PATH = "api/v1/mines/{mine}/positions"


def received_at(item: Any) -> datetime | None:
    """An item's receive time on the platform: `received_at` when sent, else `read_at` (contract J)."""
    at = item.get("received_at") or item.get("read_at")
    return local_time(at, "read_at") if isinstance(at, str) else None


def since_param(at: datetime) -> str:
    """A watermark as the `since` query value (ISO 8601 with offset)."""
    return at.isoformat()


def pull(client: RestClient, mine: str, since: datetime | None) -> Iterator[Page]:
    """The positions of a mine from `since` (inclusive) to the end, page by page."""
    params = {"since": since_param(since)} if since is not None else {}
    return client.pages(POSITIONS_PATH.format(mine=mine), params, PAGE_TOKEN, received_at)


def _text(value: Any, field: str) -> str:
    """A code field as text ('' when absent); a number is read as its digits."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Bad("field_count", f"{field} {value!r} is not a code")
    return str(value).strip()


def _small(value: Any, field: str) -> str:
    """A JSON 0/1/2 code as the text RYSS would carry ('' for null)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Bad("bad_number", f"{field} {value!r} is not a number")
    return str(value)


def raw_item(item: Any) -> str:
    """An item's text for quarantine."""
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def position_records(mine: str, items: list[Any], first_no: int = 1) -> Iterator[Record | Reject]:
    """Observations and rejects of a page's items; record_no counts items from `first_no`."""
    target = OBSERVATIONS.name
    seen: set[tuple[str, datetime]] = set()
    for no, item in enumerate(items, start=first_no):
        try:
            if not isinstance(item, dict):
                raise Bad("field_count", "item is not a JSON object")
            card = _text(item.get("card"), "card")
            area = _text(item.get("area"), "area")
            station = _text(item.get("station"), "station")
            if not card:
                raise Bad("field_count", "card is missing")
            check_code(card, mine, CARD_DIGITS, "card")
            if area:
                check_code(area, mine, AREA_DIGITS, "area")
            if station:
                check_code(station, mine, STATION_DIGITS, "station")
            read_text = item.get("read_at")
            if not isinstance(read_text, str) or not read_text.strip():
                raise Bad("bad_time", f"read_at {read_text!r} is not an ISO 8601 time")
            read_at = time_field(read_text, "read_at")
            flag = in_mine_flag(_small(item.get("in_mine"), "in_mine"))
            status = work_status(_small(item.get("status"), "status"))
            if (card, read_at) in seen:
                raise Bad("duplicate_key", f"card {card} read at {read_at.isoformat()} twice in this page")
        except Bad as exc:
            yield Reject(no, exc.reason, raw_item(item), str(exc))
            continue
        seen.add((card, read_at))
        yield Record(target, no, (
            mine, card, read_at, "REST", None, flag, None, None, area or None, None, station or None, None,
            None, None, status, None, None, None, None, None, True,
        ))  # fmt: skip


def page_items(data: bytes, key: str) -> list[Any]:
    """The items of an archived page: `{key: [...]}` or a bare list; `FileRejected` when it is not JSON."""
    try:
        payload = json.loads(decode_text(data))
    except ValueError as exc:
        raise FileRejected("bad_encoding", f"the page is not JSON: {exc}") from None
    if isinstance(payload, dict) and isinstance(payload.get(key), list):
        return payload[key]
    if isinstance(payload, list):
        return payload
    raise FileRejected("field_count", f"the page holds no {key!r} list")


class PositionsPageStream(Stream):
    """One archived page of C.2 positions (`{"items": [...], "next_page_token": ...}`) of `ctx.mine_code`."""

    feed = FEED
    kind = "positions"
    outputs = (OBSERVATIONS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        if not ctx.mine_code:
            raise FileRejected("mine_mismatch", f"{ctx.name!r}: a positions page needs the mine it was pulled for")
        items = page_items(data, PAGE_TOKEN.items_key)
        yield FileInfo(mine_code=ctx.mine_code, extra={"source": "REST", "items": len(items)})
        yield from position_records(ctx.mine_code, items)


STREAMS: dict[str, type[Stream]] = {PositionsPageStream.kind: PositionsPageStream}
