"""Canonical records of the safety monitoring feed (contract B), all three dialects in one shape.

`dialect` is `national` (B.1), `provincial` (B.2) or `csv` (B.3). Times are
timestamptz. `raw_status` is the vendor's status integer as sent; `conditions`
is the canonical condition mask of `connectors.safety_codes` (alarm=1,
power_cut=2, feed_abnormal=4, fault=8, calibrating=16, over_range=32,
switched_off=64), the same for every dialect. Definition and outstation rows
are snapshots: `snapshot_at` is the header upload time of the file, and a
snapshot covers one `(mine_code, source_kind)` (CDDY, AQMC or AQKC).
"""

from __future__ import annotations

from schemas.base import schema

POINT_DEFINITIONS = schema(
    "safety_point_definitions",
    [
        ("mine_code", "text"),
        ("point_code", "text"),
        ("snapshot_at", "timestamptz"),
        ("dialect", "text"),
        ("source_kind", "text"),
        ("system_code", "text"),
        ("value_type", "text"),
        ("sensor_type", "text"),
        ("sensor_known", "boolean"),
        ("vendor_point_code", "text"),
        ("outstation_code", "text"),
        ("unit", "text"),
        ("range_low", "double precision"),
        ("range_high", "double precision"),
        ("alarm_high", "double precision"),
        ("alarm_high_clear", "double precision"),
        ("alarm_low", "double precision"),
        ("alarm_low_clear", "double precision"),
        ("cutoff_high", "double precision"),
        ("restore_high", "double precision"),
        ("cutoff_low", "double precision"),
        ("restore_low", "double precision"),
        ("label_0", "text"),
        ("label_1", "text"),
        ("location", "text"),
        ("area_code", "text"),
        ("x", "double precision"),
        ("y", "double precision"),
        ("z", "double precision"),
        ("relations", "text"),
        ("defined_at", "timestamptz"),
    ],
    key=("mine_code", "point_code", "snapshot_at"),
    description="one row per point per definition snapshot (CDDY, AQMC, AQKC); "
    "value_type MN/KG/LJ/DT (provincial AQMC=MN, AQKC=KG); area_code only in provincial files; "
    "sensor_known is false for a code outside B.4",
)

READINGS = schema(
    "safety_readings",
    [
        ("mine_code", "text"),
        ("point_code", "text"),
        ("sampled_at", "timestamptz"),
        ("value", "double precision"),
        ("raw_status", "integer"),
        ("conditions", "smallint"),
        ("dialect", "text"),
    ],
    key=("mine_code", "point_code", "sampled_at"),
    description="one row per point per sample time (CDSS, AQSS, CSV); value NULL for empty/-9999; "
    "value is kept as sent even when conditions has fault (8), which makes it no measurement",
)

POINT_AREAS = schema(
    "safety_point_areas",
    [
        ("mine_code", "text"),
        ("point_code", "text"),
        ("area_code", "text"),
        ("sensor_type", "text"),
        ("dialect", "text"),
        ("first_sampled_at", "timestamptz"),
        ("last_sampled_at", "timestamptz"),
    ],
    key=("mine_code", "point_code", "first_sampled_at"),
    description="one row per point, area and sensor type seen together in one CSV file (B.3 rows carry "
    "area_code and sensor_type; readings stay lean): first and last sample time in that file; "
    "area_code NULL when the row had none",
)

SWITCH_CHANGES = schema(
    "safety_switch_changes",
    [
        ("mine_code", "text"),
        ("point_code", "text"),
        ("changed_at", "timestamptz"),
        ("state", "smallint"),
        ("raw_status", "integer"),
        ("conditions", "smallint"),
        ("sensor_type", "text"),
    ],
    key=("mine_code", "point_code", "changed_at"),
    description="one row per switch point per state change (AQKD)",
)

STATISTICS = schema(
    "safety_statistics",
    [
        ("mine_code", "text"),
        ("point_code", "text"),
        ("period_end", "timestamptz"),
        ("period_start", "timestamptz"),
        ("dialect", "text"),
        ("sensor_type", "text"),
        ("unit", "text"),
        ("avg_value", "double precision"),
        ("max_value", "double precision"),
        ("max_at", "timestamptz"),
        ("min_value", "double precision"),
        ("min_at", "timestamptz"),
    ],
    key=("mine_code", "point_code", "period_end"),
    description="one row per point per five-minute period (TJSJ, AQMT); AQMT period_start = period_end - 5 min",
)

ABNORMAL_EVENTS = schema(
    "safety_abnormal_events",
    [
        ("mine_code", "text"),
        ("point_code", "text"),
        ("abnormal_type", "text"),
        ("started_at", "timestamptz"),
        ("ended_at", "timestamptz"),
        ("conditions", "smallint"),
        ("sensor_type_name", "text"),
        ("location", "text"),
        ("unit", "text"),
        ("value", "double precision"),
        ("alarm_threshold", "double precision"),
        ("clear_threshold", "double precision"),
        ("max_value", "double precision"),
        ("max_at", "timestamptz"),
        ("min_value", "double precision"),
        ("min_at", "timestamptz"),
        ("avg_value", "double precision"),
        ("cause", "text"),
        ("measures", "text"),
        ("entered_at", "timestamptz"),
        ("entered_by", "text"),
        ("reported_at", "timestamptz"),
    ],
    key=("mine_code", "point_code", "abnormal_type", "started_at"),
    description="one row per abnormal event (YCBJ); ended_at NULL while it goes on; abnormal_type 001..010 "
    "as sent (3 digits); conditions = the canonical condition the type stands for (NULL for unknown types)",
)

OUTSTATIONS = schema(
    "safety_outstations",
    [
        ("mine_code", "text"),
        ("outstation_code", "text"),
        ("snapshot_at", "timestamptz"),
        ("location", "text"),
        ("x", "double precision"),
        ("y", "double precision"),
        ("z", "double precision"),
        ("defined_at", "timestamptz"),
    ],
    key=("mine_code", "outstation_code", "snapshot_at"),
    description="one row per outstation per definition snapshot (FZDY)",
)

OUTSTATION_STATES = schema(
    "safety_outstation_states",
    [
        ("mine_code", "text"),
        ("outstation_code", "text"),
        ("observed_at", "timestamptz"),
        ("run_status", "smallint"),
        ("power_status", "smallint"),
    ],
    key=("mine_code", "outstation_code", "observed_at"),
    description="one row per outstation per report (FZSS); run_status 0 communicating, 1 interrupted, "
    "2 fault, 9 unknown; power_status 0 DC battery, 1 AC mains, 2 power fault, 9 unknown",
)

ALL = (
    POINT_DEFINITIONS,
    READINGS,
    POINT_AREAS,
    SWITCH_CHANGES,
    STATISTICS,
    ABNORMAL_EVENTS,
    OUTSTATIONS,
    OUTSTATION_STATES,
)
