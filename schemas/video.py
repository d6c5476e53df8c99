"""Canonical records of the video feed (contract D.1 REST and D.2 CSV).

Camera rows are inventory snapshots (D.1 `cameras`): `snapshot_at` is when
the inventory was pulled. Events come from both dialects in one shape; an
event is stored once per `(mine_code, event_id)`. Camera state intervals
(offline, tampered) are built in SQL from the events.
"""

from __future__ import annotations

from schemas.base import schema

EVENT_TYPES = ("ONLINE", "OFFLINE", "VIDEO_LOSS", "OCCLUSION", "SCENE_CHANGE", "PRESET_CHANGE", "RELOCATED")

CAMERAS = schema(
    "video_cameras",
    [
        ("mine_code", "text"),
        ("camera_id", "text"),
        ("snapshot_at", "timestamptz"),
        ("camera_name", "text"),
        ("area_code", "text"),
        ("seal_code", "text"),  # NULL when the camera watches no seal
        ("is_online", "boolean"),
        ("preset", "integer"),
    ],
    key=("mine_code", "camera_id", "snapshot_at"),
    description="one row per camera per inventory pull (D.1)",
)

EVENTS = schema(
    "video_events",
    [
        ("mine_code", "text"),
        ("event_id", "text"),
        ("camera_id", "text"),
        ("event_type", "text"),  # one of EVENT_TYPES
        ("event_at", "timestamptz"),
        ("area_code", "text"),  # D.2 only; NULL from REST (the camera inventory has it)
        ("seal_code", "text"),
        ("source_kind", "text"),  # CSV | REST
    ],
    key=("mine_code", "event_id"),
    description="one row per video event id; ONLINE ends an OFFLINE, VIDEO_LOSS, OCCLUSION or SCENE_CHANGE state",
)

ALL = (CAMERAS, EVENTS)
