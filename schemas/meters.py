"""Canonical records of the utility meters feed (contract E): ESPI intervals and register readings.

Neither vendor format names the mine or the meter: an ESPI interval carries its
UsagePoint (full self href and last segment) and a register reading its
`meter_id`; both are tied to mine, meter and area through registry/meters.csv
in SQL at merge time (contract J). The fact the warehouse keeps, one row per
mine, meter and interval start (`MeterInterval` below), is derived there:
ESPI interval readings map 1:1, register readings become intervals by the
rules of `connectors.meter_registers.intervals_from_registers`.
"""

from __future__ import annotations

from schemas.base import schema

ESPI_INTERVALS = schema(
    "meter_espi_intervals",
    [
        ("usage_point_href", "text"),  # the UsagePoint's Atom rel="self" href, as written
        ("usage_point_id", "text"),  # its last path segment
        ("interval_start", "timestamptz"),  # timePeriod/start (Unix seconds, UTC)
        ("duration_s", "integer"),  # timePeriod/duration (or the ReadingType's intervalLength)
        ("energy_kwh", "numeric"),  # energy of the interval; NULL for cumulative readings (derived in SQL)
        ("reading_kwh", "numeric"),  # value x 10^power_of_ten / 1000 as read (a register value when cumulative)
        ("raw_value", "numeric"),  # IntervalReading/value as sent
        ("power_of_ten", "smallint"),  # ReadingType powerOfTenMultiplier
        ("uom", "smallint"),  # ReadingType uom (always 72 = Wh here)
        ("accumulation", "text"),  # 'interval' (deltaData) or 'cumulative' (bulkQuantity, cumulative)
        ("accumulation_behaviour", "smallint"),  # ReadingType accumulationBehaviour code
        ("interval_length_s", "integer"),  # ReadingType intervalLength
        ("quality", "smallint"),  # first ReadingQuality/quality code, NULL when none
        ("meter_reading_href", "text"),  # the MeterReading the block belongs to (NULL when nested without a link)
        ("reading_type_href", "text"),
    ],
    key=("usage_point_href", "interval_start"),
    description="one row per ESPI UsagePoint and interval start as delivered in a Green Button feed (E.1); "
    "only uom 72 (Wh) delivered (flowDirection 1); mine and meter come from registry/meters.csv usage_point, "
    "which holds the href or its last segment",
)

REGISTER_READINGS = schema(
    "meter_register_readings",
    [
        ("meter_id", "text"),
        ("read_at", "timestamptz"),
        ("import_kwh_register", "numeric"),  # the cumulative register (示值) before the registry multiplier
    ],
    key=("meter_id", "read_at"),
    description="one row per meter and read time of a register readings file (E.2); consumption is derived in SQL "
    "as register delta x registry multiplier (gaps as totals, negative deltas as resets)",
)

# The warehouse fact built from both sources at merge time (not a staging table; for the SQL author):
# mine_code, meter_id, interval_start, interval_end, energy_kwh (NULL for a reset), quality
# ('measured', 'gap_total', 'reset'), key (mine_code, meter_id, interval_start).
METER_INTERVAL_QUALITIES = ("measured", "gap_total", "reset")
