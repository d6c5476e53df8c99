"""Canonical records of the personnel positioning feed (contract C.1 files and C.2 REST).

Codes follow C.1 relative to the header's mine code: a card is the mine code
+ 5 digits, an area the mine code + 4 digits, a station the area code + 6
digits (its `area_code` is its first len(mine) + 4 digits). RYQY, RYJZ and
RYXX rows are full snapshots: `snapshot_at` is the file's header upload time
and a snapshot covers one `(mine_code, table)`. Observations come from RYSS
(`observed_at` = header upload time) and REST (`observed_at` = `read_at`).
`person_name` and `birth_date` are personal data (contract H): the warehouse
hides them from the BI role.
"""

from __future__ import annotations

from schemas.base import schema

AREA_TYPES = {
    "井口区域": "shaft_mouth",
    "重点区域": "key",
    "限制区域": "restricted",
    "其它区域": "other",
    "其他区域": "other",  # the common variant spelling of 其它
}

AREAS = schema(
    "positioning_areas",
    [
        ("mine_code", "text"),
        ("area_code", "text"),
        ("snapshot_at", "timestamptz"),
        ("area_type", "text"),  # shaft_mouth | key | restricted | other; NULL for a word outside C.1
        ("area_type_text", "text"),  # the vendor's word as sent
        ("rated_persons", "integer"),
        ("area_name", "text"),
    ],
    key=("mine_code", "area_code", "snapshot_at"),
    description="one row per positioning area per RYQY snapshot; there is no sealed type "
    "(the registry's kind says sealed)",
)

STATIONS = schema(
    "positioning_stations",
    [
        ("mine_code", "text"),
        ("station_code", "text"),
        ("snapshot_at", "timestamptz"),
        ("area_code", "text"),  # the station code's first len(mine_code) + 4 digits
        ("station_name", "text"),
        ("x", "double precision"),
        ("y", "double precision"),
        ("z", "double precision"),
        ("location", "text"),
    ],
    key=("mine_code", "station_code", "snapshot_at"),
    description="one row per base station per RYJZ snapshot",
)

PERSONS = schema(
    "positioning_persons",
    [
        ("mine_code", "text"),
        ("card_code", "text"),
        ("snapshot_at", "timestamptz"),
        ("person_name", "text"),  # personal data (H)
        ("job", "text"),
        ("title", "text"),
        ("team", "text"),
        ("birth_date", "date"),  # personal data (H)
        ("education", "text"),
        ("is_leader", "boolean"),
        ("is_special", "boolean"),
    ],
    key=("mine_code", "card_code", "snapshot_at"),
    description="one row per card per RYXX snapshot; person_name and birth_date are hidden from minewatch_bi",
)

STATION_STATES = schema(
    "positioning_station_states",
    [
        ("mine_code", "text"),
        ("station_code", "text"),
        ("data_at", "timestamptz"),
        ("area_code", "text"),
        ("run_status", "smallint"),  # 0 communicating, 1 interrupted, 2 fault, 9 unknown (FZSS codes)
        ("power_status", "smallint"),  # 0 DC battery, 1 AC mains, 2 power fault, 9 unknown
    ],
    key=("mine_code", "station_code", "data_at"),
    description="one row per base station per JZSS data time",
)

OBSERVATIONS = schema(
    "positioning_observations",
    [
        ("mine_code", "text"),
        ("card_code", "text"),
        ("observed_at", "timestamptz"),  # RYSS header upload time, or REST read_at
        ("source_kind", "text"),  # RYSS | REST
        ("person_name", "text"),  # personal data (H); NULL from REST
        ("in_mine_flag", "smallint"),  # 0 shaft mouth, 1 underground, 2 out of the mine
        ("entered_mine_at", "timestamptz"),
        ("left_mine_at", "timestamptz"),
        ("area_code", "text"),
        ("entered_area_at", "timestamptz"),
        ("station_code", "text"),
        ("entered_station_at", "timestamptz"),  # RYSS field 9: input to the "read" decision
        ("labour_org", "text"),
        ("distance_m", "double precision"),  # input to the "read" decision
        ("work_status", "smallint"),  # 0 normal, 1 distress (正常/求救 read as 0/1)
        ("is_leader", "boolean"),
        ("is_special", "boolean"),
        ("track_items", "integer"),  # how many items the track lists (NULL from REST)
        ("last_track_station", "text"),  # the latest track item: input to the "read" decision
        ("last_track_at", "timestamptz"),
        ("is_read", "boolean"),  # REST: true (a read); RYSS: NULL, decided in SQL against the previous snapshot
    ],
    key=("mine_code", "card_code", "observed_at"),
    description="one row per card per RYSS snapshot or REST read; a RYSS card counts as read when "
    "entered_station_at, distance_m or the last track item changed since its previous snapshot",
)

TRACK_ITEMS = schema(
    "positioning_track_items",
    [
        ("mine_code", "text"),
        ("card_code", "text"),
        ("passed_at", "timestamptz"),
        ("station_code", "text"),
        ("area_code", "text"),
        ("observed_at", "timestamptz"),  # the snapshot that carried the item
    ],
    key=("mine_code", "card_code", "passed_at", "station_code"),
    description="one row per station a card passed (RYSS field 15); the same item repeats in every "
    "snapshot of a stay, so the key has no snapshot time and a re-delivery replaces it",
)

ALL = (AREAS, STATIONS, PERSONS, STATION_STATES, OBSERVATIONS, TRACK_ITEMS)
