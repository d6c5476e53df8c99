"""The safety monitoring streams by kind, and the safety view of `connectors.catalog.match`."""

from __future__ import annotations

from connectors import catalog
from connectors.base import FileContext, Stream
from connectors.national_safety import STREAMS as NATIONAL_STREAMS
from connectors.provincial_safety import STREAMS as PROVINCIAL_STREAMS
from connectors.safety_csv import SafetyCsvStream

STREAMS: dict[str, type[Stream]] = {**NATIONAL_STREAMS, **PROVINCIAL_STREAMS, SafetyCsvStream.kind: SafetyCsvStream}


def match(name: str) -> tuple[type[Stream], FileContext] | None:
    """The stream class and FileContext for a safety file's base name, or None."""
    found = catalog.match(name)
    if found is None or found.feed != "safety":
        return None
    return type(found.stream), found.context
