"""Suites of the utility meters feed (contract E): Green Button intervals and register readings.

A vendor that changes the reading type (kWh for Wh, a power of ten), sends placeholder
zeros or loses the interval length shows here; a meter reset (a register that drops) is
real life and only counted.
"""

from __future__ import annotations

import pandas as pd

from expectations.base import WARNING, Facts, FileSuite, TableSuite, add_ahead, expect, not_in_future
from schemas.meters import ESPI_INTERVALS, REGISTER_READINGS

FEED = "meters"
MIN_REGISTERS_FOR_ZERO_CHECK = 5


def _registers_prepare(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    ordered = df.sort_values(["file_id", "meter_id", "read_at"])
    drop = ordered.groupby(["file_id", "meter_id"])["import_kwh_register"].diff() < 0
    df["register_dropped_f"] = drop.reindex(df.index).astype("float64")
    return add_ahead(df, facts, "read_at")


def _registers_profile(files: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    files["register_zero_share"] = float("nan")
    df = facts.frames.get(REGISTER_READINGS.name)
    if df is not None and len(df):
        g = df.assign(zero=df["import_kwh_register"].eq(0)).groupby("file_id")["zero"].agg(["mean", "size"])
        g = g[g["size"] >= MIN_REGISTERS_FOR_ZERO_CHECK]
        files["register_zero_share"] = files["file_id"].map(g["mean"]).astype("float64")
    return files


TABLES = {
    ESPI_INTERVALS.name: TableSuite(FEED, ESPI_INTERVALS, lambda: [
        expect("uom_wh", "ExpectColumnValuesToBeInSet", "readings are in Wh (ESPI uom 72)",
               column="uom", value_set=[72]),
        expect("accumulation_known", "ExpectColumnValuesToBeInSet", "a reading is an interval or a cumulative one",
               column="accumulation", value_set=["interval", "cumulative"]),
        expect("duration_plausible", "ExpectColumnValuesToBeBetween",
               "an interval lasts between 1 s and one day (at least 99% of them)",
               column="duration_s", min_value=1, max_value=86_400, mostly=0.99),
        expect("energy_not_negative", "ExpectColumnValuesToBeBetween",
               "an interval's energy is not negative (at least 99% of them)",
               column="energy_kwh", min_value=0, mostly=0.99),
        expect("energy_plausible", "ExpectColumnValuesToBeBetween",
               "an interval draws at most 100 MWh (a mine's whole load for an hour is far less)",
               severity=WARNING, column="energy_kwh", max_value=100_000, mostly=0.99),
        not_in_future("interval_start", "an interval's start"),
    ], lambda df, facts: add_ahead(df, facts, "interval_start")),
    REGISTER_READINGS.name: TableSuite(FEED, REGISTER_READINGS, lambda: [
        expect("register_not_negative", "ExpectColumnValuesToBeBetween", "a register (示值) is not negative",
               column="import_kwh_register", min_value=0),
        expect("register_drop_share", "ExpectColumnMeanToBeBetween",
               "at most 5% of a file's register readings are lower than the meter's previous one (resets are rare)",
               severity=WARNING, column="register_dropped_f", max_value=0.05),
        not_in_future("read_at", "a register reading"),
    ], _registers_prepare),
}

FILES = {
    "espi": FileSuite(FEED, "espi", records=(1, 5_000_000)),
    "meter_readings": FileSuite(FEED, "meter_readings", records=(1, 5_000_000), checks=lambda: [
        expect("registers_not_all_zero", "ExpectColumnValuesToBeBetween",
               f"a file's registers are not all exactly 0 (checked with {MIN_REGISTERS_FOR_ZERO_CHECK} or more)",
               column="register_zero_share", max_value=0.99),
    ], profile=_registers_profile),
}
