"""Video system, CSV dialect (contract D.2): `{mine}_video_{yyyyMMdd}.csv`.

Header row `event_id,camera_id,area_code,seal_code,type,at` (columns by name,
encoding per J: UTF-8, GBK/GB18030, BOM); `at` is ISO 8601, China time when
it has no offset. The mine is the file name's. The event rules are those of
D.1 (`connectors.video_rest.event_values`); an event_id seen earlier in the
file is `duplicate_key` (the first one is kept).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from connectors.base import FileContext, FileRejected, Item, Stream
from connectors.csvfile import read_csv
from connectors.positioning_files import Bad
from connectors.video_rest import FEED, event_values
from schemas import FileInfo, Record, Reject
from schemas.video import EVENTS

COLUMNS = ("event_id", "camera_id", "area_code", "seal_code", "type", "at")
FILE_PATTERN = re.compile(r"^(?P<mine>[0-9]{6,20})_video_(?P<stamp>[0-9]{8})\.csv$", re.IGNORECASE)


class VideoCsvStream(Stream):
    """Camera events of one mine's daily video CSV (D.2)."""

    feed = FEED
    kind = "video"
    outputs = (EVENTS,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        mine = ctx.mine_code
        if mine is None and (m := FILE_PATTERN.match(ctx.name)):
            mine = m["mine"]
        if mine is None:
            raise FileRejected("mine_mismatch", f"file name {ctx.name!r} carries no mine code")
        rows = read_csv(data, COLUMNS)
        yield FileInfo(mine_code=mine, extra={"file_date": ctx.stamp.date() if ctx.stamp else None})
        target = EVENTS.name
        seen: dict[str, int] = {}
        for no, row, raw in rows:
            if row is None:
                yield Reject(no, "field_count", raw, f"expected the {len(COLUMNS)} columns {','.join(COLUMNS)}")
                continue
            try:
                values = event_values(
                    mine, row["event_id"], row["camera_id"], row["type"], row["at"],
                    row["area_code"], row["seal_code"], "CSV",
                )  # fmt: skip
                first = seen.get(values[1])
                if first is not None:
                    raise Bad("duplicate_key", f"event_id {values[1]} already on line {first}")
            except Bad as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            seen[values[1]] = no
            yield Record(target, no, values)


STREAMS: dict[str, type[Stream]] = {VideoCsvStream.kind: VideoCsvStream}

# ready for connectors.catalog.KINDS: kind -> (feed, phase, "module:Stream")
CATALOG: dict[str, tuple[str, int, str]] = {VideoCsvStream.kind: (FEED, 2, f"{__name__}:VideoCsvStream")}
