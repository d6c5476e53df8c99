"""Suites of the personnel positioning feed (contract C): codes, flags, snapshot cadence, distances."""

from __future__ import annotations

from expectations.base import WARNING, FileSuite, TableSuite, add_ahead, expect, not_in_future
from schemas.positioning import AREA_TYPES, AREAS, OBSERVATIONS, PERSONS, STATION_STATES, STATIONS, TRACK_ITEMS

FEED = "positioning"
STATUS_CODES = [0, 1, 2, 9]


def _ahead(column: str):
    return lambda df, facts: add_ahead(df, facts, column)


TABLES = {
    AREAS.name: TableSuite(FEED, AREAS, lambda: [
        expect("area_type_known", "ExpectColumnValuesToBeInSet",
               "an area's type is shaft mouth, key, restricted or other (contract C.1; at least 90% of them)",
               column="area_type", value_set=sorted(set(AREA_TYPES.values())), mostly=0.9),
        expect("rated_persons_plausible", "ExpectColumnValuesToBeBetween",
               "an area is rated for 0 to 5000 persons", severity=WARNING, column="rated_persons",
               min_value=0, max_value=5000),
    ]),
    STATIONS.name: TableSuite(FEED, STATIONS, lambda: [
        expect("station_in_area", "ExpectColumnValuesToNotBeNull",
               "every station lies in an area (its code says which)", column="area_code"),
    ]),
    PERSONS.name: TableSuite(FEED, PERSONS),
    STATION_STATES.name: TableSuite(FEED, STATION_STATES, lambda: [
        expect("run_status_known", "ExpectColumnValuesToBeInSet",
               "a station's run status is 0, 1, 2 or 9 (at least 95% of the reports)",
               column="run_status", value_set=STATUS_CODES, mostly=0.95),
        expect("power_status_known", "ExpectColumnValuesToBeInSet",
               "a station's power status is 0, 1, 2 or 9 (at least 95% of the reports)",
               column="power_status", value_set=STATUS_CODES, mostly=0.95),
        not_in_future("data_at", "a station report"),
    ], _ahead("data_at")),
    OBSERVATIONS.name: TableSuite(FEED, OBSERVATIONS, lambda: [
        expect("in_mine_flag_known", "ExpectColumnValuesToBeInSet",
               "a card is at the shaft mouth (0), underground (1) or out of the mine (2) (at least 99% of them)",
               column="in_mine_flag", value_set=[0, 1, 2], mostly=0.99),
        expect("work_status_known", "ExpectColumnValuesToBeInSet",
               "a card's work status is normal (0) or distress (1) (at least 99% of them)",
               column="work_status", value_set=[0, 1], mostly=0.99),
        expect("distance_plausible", "ExpectColumnValuesToBeBetween",
               "a card is read within 5 km of its station", severity=WARNING, column="distance_m",
               min_value=-5000, max_value=5000, mostly=0.99),
        expect("entered_before_observed", "ExpectColumnPairValuesAToBeGreaterThanB",
               "a card entered the mine before it was observed (at least 99% of them)", severity=WARNING,
               column_A="observed_at", column_B="entered_mine_at", or_equal=True,
               ignore_row_if="either_value_is_missing", mostly=0.99),
        not_in_future("observed_at", "an observation"),
    ], _ahead("observed_at")),
    TRACK_ITEMS.name: TableSuite(FEED, TRACK_ITEMS, lambda: [
        expect("passed_before_observed", "ExpectColumnPairValuesAToBeGreaterThanB",
               "a track item was passed before the snapshot that lists it (at least 99% of them)", severity=WARNING,
               column_A="observed_at", column_B="passed_at", or_equal=True, mostly=0.99),
    ]),
}

FILES = {
    "RYQY": FileSuite(FEED, "RYQY", records=(1, 100_000)),
    "RYJZ": FileSuite(FEED, "RYJZ", records=(1, 100_000)),
    "RYXX": FileSuite(FEED, "RYXX", records=(1, 1_000_000)),
    "RYSS": FileSuite(FEED, "RYSS", records=(0, 100_000)),  # nobody in or around the mine: an empty snapshot
    "JZSS": FileSuite(FEED, "JZSS", records=(1, 100_000)),
    "positions": FileSuite(FEED, "positions", records=(0, 1_000_000)),  # a C.2 page: empty when nothing is new
}
