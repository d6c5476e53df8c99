"""Which connector reads a landing file, known from its base name alone (contract A)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from datetime import datetime

from connectors.base import FileContext, Stream

# (pattern, feed, phase, module, kind source). Phase orders a run: reference data first, then
# definitions, then the facts that refer to them, so a reading finds its point's definition.
_STAMPED_TXT = re.compile(r"^(?P<mine>[0-9]{6,20})_(?P<kind>[A-Za-z]{4})_(?P<stamp>[0-9]{14})\.txt$", re.IGNORECASE)
_DAILY_CSV = re.compile(r"^(?P<mine>[0-9]{6,20})_(?P<kind>safety|video|explosives)_(?P<stamp>[0-9]{8})\.csv$",
                        re.IGNORECASE)
_METER_CSV = re.compile(r"^meter_readings_(?P<stamp>[0-9]{8})\.csv$", re.IGNORECASE)
_XML = re.compile(r"^.+\.xml$", re.IGNORECASE)
# a vendor API answer as minewatch archives it (C.2, D.1): `{mine}_{kind}_{pull time}_{page}.json`; the
# pull names it so, and the same name lets quarantine re-read it (or an operator replay a saved answer)
_API_PAGE = re.compile(
    r"^(?P<mine>[0-9]{6,20})_(?P<kind>positions|cameras|video_events)_(?P<stamp>[0-9]{14})(?:_p[0-9]+)?\.json$",
    re.IGNORECASE,
)

# kind -> (feed, phase, "module:attribute" of the Stream class)
KINDS: dict[str, tuple[str, int, str]] = {
    "mines": ("registry", 0, "connectors.registry:MinesStream"),
    "areas": ("registry", 0, "connectors.registry:AreasStream"),
    "points": ("registry", 0, "connectors.registry:PointsStream"),
    "seals": ("registry", 0, "connectors.registry:SealsStream"),
    "meters": ("registry", 0, "connectors.registry:MetersStream"),
    # safety monitoring (B): definitions first, then the facts that refer to them
    "CDDY": ("safety", 1, "connectors.national_safety:CddyStream"),
    "FZDY": ("safety", 1, "connectors.national_safety:FzdyStream"),
    "AQMC": ("safety", 1, "connectors.provincial_safety:AqmcStream"),
    "AQKC": ("safety", 1, "connectors.provincial_safety:AqkcStream"),
    "CDSS": ("safety", 2, "connectors.national_safety:CdssStream"),
    "TJSJ": ("safety", 2, "connectors.national_safety:TjsjStream"),
    "YCBJ": ("safety", 2, "connectors.national_safety:YcbjStream"),
    "FZSS": ("safety", 2, "connectors.national_safety:FzssStream"),
    "AQSS": ("safety", 2, "connectors.provincial_safety:AqssStream"),
    "AQKD": ("safety", 2, "connectors.provincial_safety:AqkdStream"),
    "AQMT": ("safety", 2, "connectors.provincial_safety:AqmtStream"),
    "safety": ("safety", 2, "connectors.safety_csv:SafetyCsvStream"),
    # personnel positioning (C.1): areas, stations and persons before the snapshots and station states
    "RYQY": ("positioning", 1, "connectors.positioning_files:RyqyStream"),
    "RYJZ": ("positioning", 1, "connectors.positioning_files:RyjzStream"),
    "RYXX": ("positioning", 1, "connectors.positioning_files:RyxxStream"),
    "RYSS": ("positioning", 2, "connectors.positioning_files:RyssStream"),
    "JZSS": ("positioning", 2, "connectors.positioning_files:JzssStream"),
    # utility meters (E) and the explosives ledger (F.1)
    "espi": ("meters", 2, "connectors.greenbutton:GreenButtonStream"),
    "meter_readings": ("meters", 2, "connectors.meter_registers:MeterReadingsStream"),
    "explosives": ("explosives", 2, "connectors.explosives:ExplosivesStream"),
    # video system (D.2): the daily events CSV
    "video": ("video", 2, "connectors.video_csv:VideoCsvStream"),
    # vendor API answers (C.2, D.1), archived and loaded like files by minewatch.pull
    "positions": ("positioning", 2, "connectors.positioning_rest:PositionsPageStream"),
    "cameras": ("video", 1, "connectors.video_rest:CamerasStream"),
    "video_events": ("video", 2, "connectors.video_rest:EventsPageStream"),
}

# snapshots whose bytes carry no time of their own (registry CSVs, a pulled camera inventory): the
# same bytes again after other content restate the earlier snapshot, so they are loaded again
RESTATED_KINDS = frozenset({"mines", "areas", "points", "seals", "meters", "cameras"})

FEEDS = ("registry", "safety", "positioning", "video", "meters", "explosives")


@dataclass(frozen=True)
class Match:
    """A landing file recognised: its feed, kind, the stream that reads it, and what its name says."""

    feed: str
    kind: str
    phase: int
    stream: Stream
    context: FileContext


def _load(ref: str) -> Stream:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)()


def _stamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S" if len(text) == 14 else "%Y%m%d")
    except ValueError:
        return None


def identify(name: str) -> tuple[str, str | None, datetime | None] | None:
    """(kind, mine_code, name stamp) for a base name, or None when no pattern matches."""
    low = name.lower()
    if low.endswith(".csv") and KINDS.get(low[:-4], ("",))[0] == "registry":
        return low[:-4], None, None
    # a name whose time stamp is no real time (month 13) matches no pattern
    if (m := _STAMPED_TXT.match(name)) and (stamp := _stamp(m["stamp"])):
        return m["kind"].upper(), m["mine"], stamp
    if (m := _DAILY_CSV.match(name)) and (stamp := _stamp(m["stamp"])):
        return m["kind"].lower(), m["mine"], stamp
    if (m := _METER_CSV.match(name)) and (stamp := _stamp(m["stamp"])):
        return "meter_readings", None, stamp
    if (m := _API_PAGE.match(name)) and (stamp := _stamp(m["stamp"])):
        return m["kind"].lower(), m["mine"], stamp
    if _XML.match(name):
        return "espi", None, None
    return None


def match(name: str) -> Match | None:
    """The connector for a landing file's base name, or None when minewatch cannot read it."""
    found = identify(name)
    if found is None:
        return None
    kind, mine, stamp = found
    if kind not in KINDS:
        return None
    feed, phase, ref = KINDS[kind]
    return Match(feed, kind, phase, _load(ref), FileContext(name=name, mine_code=mine, stamp=stamp))


def stream_for(name: str) -> tuple[type[Stream], FileContext] | None:
    """The stream class and FileContext for a base name, or None (for tools and tests)."""
    found = match(name)
    return (type(found.stream), found.context) if found else None
