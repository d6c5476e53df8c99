"""Suites of the video feed (contract D): event types, ids, times."""

from __future__ import annotations

from expectations.base import WARNING, FileSuite, TableSuite, add_ahead, expect, not_in_future
from schemas.video import CAMERAS, EVENT_TYPES, EVENTS

FEED = "video"

TABLES = {
    EVENTS.name: TableSuite(FEED, EVENTS, lambda: [
        expect("event_type_known_broken", "ExpectColumnValuesToBeInSet",
               f"an event's type is one of {', '.join(EVENT_TYPES)} (at least 90% of them: more unknown types "
               "means the export changed)",
               column="event_type", value_set=list(EVENT_TYPES), mostly=0.9),
        expect("event_type_known", "ExpectColumnValuesToBeInSet", "every event's type is one of contract D's",
               severity=WARNING, column="event_type", value_set=list(EVENT_TYPES)),
        expect("camera_named", "ExpectColumnValuesToNotBeNull", "every event names its camera", column="camera_id"),
        not_in_future("event_at", "an event"),
    ], lambda df, facts: add_ahead(df, facts, "event_at")),
    CAMERAS.name: TableSuite(FEED, CAMERAS, lambda: [
        expect("preset_plausible", "ExpectColumnValuesToBeBetween", "a camera's preset is 0 to 255",
               severity=WARNING, column="preset", min_value=0, max_value=255),
    ]),
}

FILES = {
    "video": FileSuite(FEED, "video", records=(0, 1_000_000)),
    "cameras": FileSuite(FEED, "cameras", records=(0, 100_000)),  # a D.1 inventory
    "video_events": FileSuite(FEED, "video_events", records=(0, 1_000_000)),  # a D.1 events page
}
