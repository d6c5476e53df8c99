"""Suites of the safety monitoring feed (contract B): readings by sensor type, status bits, cadence.

Readings carry no sensor type, so it is derived per point: from the national point code
(B.1: mine + system + value type + sensor type + vendor code), from the CSV file's own
rows (B.3), or from the point's definition in the warehouse (provincial AQSS). Each
analog quantity of B.4 gets its own value column (`methane_pct`, `co_ppm`, …) with a
physical range (critical: a value outside it is no reading of that quantity) and, where
one exists, a plausible operating range. Methane's plausible range (0–4 %CH4, critical
for more than 10% of a batch's methane readings) is what catches a vendor that switched
the unit to ppm. Readings with the fault or switched-off condition are no measurement
and are left out of the value columns.

Fault and switched-off shares are warnings below 90%: a mine that masks its sensors is
evidence for detection, and holding its data would hide it. A batch in which nine in ten
readings are faults, or a file whose analog readings are all exactly zero, is a broken
export and is held.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from connectors.national_safety import split_point_code
from connectors.safety_codes import ABNORMAL_TYPES, normalize_sensor_type
from connectors.safety_codes import sensor_type as b4
from expectations.base import CRITICAL, WARNING, Facts, FileSuite, TableSuite, add_ahead, expect, not_in_future
from schemas.safety import (
    ABNORMAL_EVENTS,
    OUTSTATION_STATES,
    OUTSTATIONS,
    POINT_AREAS,
    POINT_DEFINITIONS,
    READINGS,
    STATISTICS,
    SWITCH_CHANGES,
)

FEED = "safety"
MINE_CODE = r"^[0-9]{6,20}$"
DIALECTS = ["csv", "national", "provincial"]
FAULT, SWITCHED_OFF = 8, 64  # canonical condition bits (connectors.safety_codes)
CADENCE_S = 60  # the longest upload cycle of a real-time file (contract B.1, B.2: 10 to 60 s)
MIN_ANALOG_FOR_ZERO_CHECK = 5  # a file needs this many analog measurements before "all zero" means anything
# a table of the warehouse with each point's definitions (mine_code, point_code, sensor_type), read
# when a reading's point code does not say its sensor type (provincial AQSS); absent = not looked up
DEFINITIONS_RELATION = "core.safety_point_definition"


class Quantity(NamedTuple):
    """An analog quantity of B.4 and the ranges its readings must keep."""

    name: str
    unit: str
    physical: tuple[float, float]
    plausible: tuple[float, float] | None = None
    plausible_severity: str = WARNING
    plausible_mostly: float = 0.95


ANALOG: dict[str, Quantity] = {
    "0001": Quantity("methane", "%CH4", (0, 100), (0, 4), CRITICAL, 0.9),
    "0002": Quantity("wind speed", "m/s", (-30, 30)),  # bidirectional sensors sign the flow
    "0003": Quantity("temperature", "℃", (-40, 100), (-10, 45)),
    "0004": Quantity("carbon monoxide", "ppm", (0, 2000), (0, 500)),
    "0005": Quantity("wind pressure", "Pa", (-20_000, 20_000)),
    "0006": Quantity("negative pressure", "kPa", (-110, 110)),
    "0012": Quantity("oxygen", "%O2", (0, 100), (15, 25)),
    "0013": Quantity("carbon dioxide", "%CO2", (0, 100), (0, 5)),
    "0014": Quantity("dust", "mg/m³", (0, 5_000)),
    "0019": Quantity("air volume", "m³/min", (0, 200_000)),
}


def _fmt(x: float) -> str:
    return f"{x:g}"


def _ranges(which: str) -> str:
    out = []
    for q in ANALOG.values():
        r = q.physical if which == "physical" else q.plausible
        if r and (which != "plausible" or q.plausible_severity == WARNING):
            out.append(f"{q.name} {_fmt(r[0])}–{_fmt(r[1])} {q.unit}")
    return ", ".join(out)


METHANE = ANALOG["0001"]


def _quantity_checks() -> list:
    """Per-sensor-type ranges, one expectation each for all quantities: a share per quantity, broadcast to its rows."""
    return [
        expect("physical_range", "ExpectColumnValuesToBeBetween",
               "for every analog quantity, at most 1% of a batch's readings lie outside its physical range "
               f"({_ranges('physical')})",
               column="physical_outside_share", max_value=0.01),
        expect("methane_plausible", "ExpectColumnValuesToBeBetween",
               f"at most {1 - METHANE.plausible_mostly:.0%} of a batch's methane readings lie outside "
               f"{_fmt(METHANE.plausible[0])}–{_fmt(METHANE.plausible[1])} {METHANE.unit}, where a working mine's "
               "sensors read (a unit switched by the vendor, e.g. to ppm, lands far outside)",
               column="methane_implausible_share", max_value=round(1 - METHANE.plausible_mostly, 6)),
        expect("plausible_range", "ExpectColumnValuesToBeBetween",
               f"for every other quantity with one, at most 5% of a batch's readings lie outside the range a working "
               f"mine reads ({_ranges('plausible')})",
               severity=WARNING, column="implausible_share", max_value=0.05),
    ]


def _point_types(df: pd.DataFrame, facts: Facts) -> dict[str, str | None]:
    """Sensor type (B.4 code) per point code of the batch's readings, where it can be known."""
    points = pd.unique(df["point_code"].dropna())
    mine = facts.mine_code
    types: dict[str, str | None] = {}
    for p in points:
        parts = split_point_code(p, mine)
        types[p] = parts.sensor_type if parts else None
    areas = facts.frames.get(POINT_AREAS.name)
    if areas is not None and len(areas):
        for p, code in zip(areas["point_code"], areas["sensor_type"], strict=True):
            if isinstance(p, str) and isinstance(code, str) and types.get(p) is None:
                types[p] = normalize_sensor_type(code)
    unknown = [p for p, t in types.items() if t is None]
    if unknown and mine and facts.lookup is not None \
            and facts.lookup("SELECT to_regclass(%s) IS NOT NULL", (DEFINITIONS_RELATION,))[0][0]:
        found = facts.lookup(
            f"""SELECT DISTINCT ON (point_code) point_code, sensor_type FROM {DEFINITIONS_RELATION}
                 WHERE mine_code = %s AND point_code = ANY(%s) ORDER BY point_code, snapshot_at DESC""",
            (mine, unknown),
        )
        for p, code in found:
            types[p] = code
    return types


def _readings_prepare(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    codes, uniques = pd.factorize(df["point_code"])
    types = _point_types(df, facts)
    per_point = [types.get(p) for p in uniques] + [None]  # code -1 (no point) picks the trailing None
    quantities = [ANALOG.get(t) if t else None for t in per_point]
    none = (np.nan, np.nan)
    bounds = np.array([[*(q.physical if q else none), *(q.plausible if q and q.plausible else none)]
                       for q in quantities], dtype="float64")

    def per_row(values: list) -> np.ndarray:
        return np.array(values)[codes]

    def categories(values: list[str | None]) -> pd.Categorical:
        """Per row, as categories (a code a row, each text once), in their sorted order."""
        names = sorted({v for v in values if v is not None})
        at = {v: k for k, v in enumerate(names)}
        return pd.Categorical.from_codes(per_row([at.get(v, -1) for v in values]), categories=names)

    kind = [b4(t).kind if t else "unknown" for t in per_point]
    cond = df["conditions"].fillna(0).astype("int64")
    measured = df["value"].notna() & ((cond & (FAULT | SWITCHED_OFF)) == 0)
    value = df["value"].where(measured)
    df["sensor_type"] = categories(per_point)
    df["quantity"] = pd.Series(categories([q.name if q else None for q in quantities]), index=df.index).where(measured)
    df["analog_value"] = value.where(per_row([k == "analog" for k in kind]))
    df["switch_state"] = value.where(per_row([k == "switch" for k in kind]))
    v = value.to_numpy()
    known = df["quantity"].notna().to_numpy()
    with np.errstate(invalid="ignore"):
        physical = np.where(known, (v < bounds[codes, 0]) | (v > bounds[codes, 1]), np.nan)
        plausible = np.where(known & ~np.isnan(bounds[codes, 2]), (v < bounds[codes, 2]) | (v > bounds[codes, 3]),
                             np.nan)
    df["physical_outside"] = physical
    df["methane_implausible"] = np.where(per_row([t == "0001" for t in per_point]) & known, plausible, np.nan)
    warn = per_row([bool(q and q.plausible and q.plausible_severity == WARNING) for q in quantities])
    df["implausible"] = np.where(warn & known, plausible, np.nan)
    del physical, plausible, warn, v, known, value, measured
    by_quantity = df.groupby("quantity", dropna=True, sort=False, observed=True)
    for flag in ("physical_outside", "methane_implausible", "implausible"):
        df[f"{flag}_share"] = by_quantity[flag].transform("mean") if len(by_quantity) else np.nan
    has = df["conditions"].notna()
    df["fault_f"] = ((cond & FAULT) != 0).astype("float64").where(has)
    df["switched_off_f"] = ((cond & SWITCHED_OFF) != 0).astype("float64").where(has)
    return add_ahead(df, facts, "sampled_at")


def _readings_explain(check: str, df: pd.DataFrame) -> str | None:
    """Which quantities broke a range check: `methane: 6 of 6 readings outside 0–100 %CH4, e.g. 5200, 3100`."""
    flag = {"physical_range": "physical_outside", "methane_plausible": "methane_implausible",
            "plausible_range": "implausible"}.get(check)
    if flag is None:
        return None
    share = df[f"{flag}_share"]
    limit = {"physical_range": 0.01, "methane_plausible": 1 - METHANE.plausible_mostly, "plausible_range": 0.05}[check]
    parts = []
    for name, rows in df[share > limit].groupby("quantity", sort=True):
        q = next(x for x in ANALOG.values() if x.name == name)
        r = q.physical if flag == "physical_outside" else q.plausible
        bad = rows[rows[flag] == 1.0]
        examples = ", ".join(_fmt(x) for x in bad["value"].head(3))
        parts.append(f"{name}: {len(bad)} of {len(rows)} readings outside {_fmt(r[0])}–{_fmt(r[1])} {q.unit}"
                     + (f", e.g. {examples}" if examples else ""))
    return "; ".join(parts) or None


def _readings_checks() -> list:
    # the hot path (millions of rows a mine-day): few expectations, each over the whole batch; the
    # parsers already check codes and structure record by record
    return [
        expect("conditions_known", "ExpectColumnValuesToBeBetween",
               "the condition mask uses the seven canonical bits only (0 to 127)",
               column="conditions", min_value=0, max_value=127),
        not_in_future("sampled_at", "a reading's sample time"),
        *_quantity_checks(),
        expect("switch_state_binary", "ExpectColumnValuesToBeInSet",
               "a switch point reads 0 or 1 (at least 99% of its readings)",
               column="switch_state", value_set=[0.0, 1.0], mostly=0.99),
        expect("fault_share_broken", "ExpectColumnMeanToBeBetween",
               "fewer than 90% of a batch's readings carry the fault condition (nearly all faulty means the "
               "status field is read wrong or the export is broken)",
               column="fault_f", max_value=0.9),
        expect("fault_share", "ExpectColumnMeanToBeBetween",
               "at most 30% of a batch's readings carry the fault condition",
               severity=WARNING, column="fault_f", max_value=0.3),
        expect("switched_off_share", "ExpectColumnMeanToBeBetween",
               "at most half of a batch's readings come from points switched off (not polled, paused, masked)",
               severity=WARNING, column="switched_off_f", max_value=0.5),
    ]


def _definitions_prepare(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    df["sensor_known_f"] = df["sensor_known"].map({True: 1.0, False: 0.0}).astype("float64")
    return add_ahead(df, facts, "snapshot_at")


def _statistics_prepare(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    df["period_s"] = (df["period_end"] - df["period_start"]).dt.total_seconds()
    return add_ahead(df, facts, "period_end")


def _time_prepare(column: str):
    return lambda df, facts: add_ahead(df, facts, column)


def _mine_format() -> list:
    return [expect("mine_code_format", "ExpectColumnValuesToMatchRegex", "a mine code is 6 to 20 digits",
                   column="mine_code", regex=MINE_CODE)]


TABLES = {
    READINGS.name: TableSuite(FEED, READINGS, _readings_checks, _readings_prepare, _readings_explain),
    POINT_DEFINITIONS.name: TableSuite(FEED, POINT_DEFINITIONS, lambda: [
        *_mine_format(),
        expect("dialect_known", "ExpectColumnValuesToBeInSet", "the dialect is national or provincial",
               column="dialect", value_set=DIALECTS),
        expect("value_type_known", "ExpectColumnValuesToBeInSet",
               "a point's value type is MN, KG, LJ or DT (at least 90% of the points)",
               column="value_type", value_set=["MN", "KG", "LJ", "DT"], mostly=0.9),
        expect("sensor_type_format", "ExpectColumnValuesToMatchRegex",
               "a sensor type is a 4-digit B.4 code (at least 90% of the points)",
               column="sensor_type", regex=r"^[0-9]{4}$", mostly=0.9),
        expect("sensor_known_share", "ExpectColumnMeanToBeBetween",
               "at least half of the points have a sensor type that B.4 knows",
               severity=WARNING, column="sensor_known_f", min_value=0.5),
        expect("range_ordered", "ExpectColumnPairValuesAToBeGreaterThanB",
               "a point's range_high is not below its range_low",
               severity=WARNING, column_A="range_high", column_B="range_low", or_equal=True,
               ignore_row_if="either_value_is_missing", mostly=0.99),
        not_in_future("snapshot_at", "a definition file's upload time", mostly=1.0),
    ], _definitions_prepare),
    POINT_AREAS.name: TableSuite(FEED, POINT_AREAS, lambda: [
        *_mine_format(),
        expect("sensor_type_format", "ExpectColumnValuesToMatchRegex",
               "a CSV row's sensor type is a 4-digit B.4 code (at least 90% of the points)",
               column="sensor_type", regex=r"^[0-9]{4}$", mostly=0.9),
        expect("first_before_last", "ExpectColumnPairValuesAToBeGreaterThanB",
               "a point's last sample time in a file is not before its first",
               column_A="last_sampled_at", column_B="first_sampled_at", or_equal=True),
    ]),
    SWITCH_CHANGES.name: TableSuite(FEED, SWITCH_CHANGES, lambda: [
        *_mine_format(),
        expect("state_binary", "ExpectColumnValuesToBeInSet", "a switch changes to state 0 or 1",
               column="state", value_set=[0, 1]),
        not_in_future("changed_at", "a switch change"),
    ], _time_prepare("changed_at")),
    STATISTICS.name: TableSuite(FEED, STATISTICS, lambda: [
        *_mine_format(),
        expect("min_not_above_avg", "ExpectColumnPairValuesAToBeGreaterThanB",
               "a period's average is not below its minimum (at least 99% of the periods)",
               severity=WARNING, column_A="avg_value", column_B="min_value", or_equal=True,
               ignore_row_if="either_value_is_missing", mostly=0.99),
        expect("avg_not_above_max", "ExpectColumnPairValuesAToBeGreaterThanB",
               "a period's maximum is not below its average (at least 99% of the periods)",
               severity=WARNING, column_A="max_value", column_B="avg_value", or_equal=True,
               ignore_row_if="either_value_is_missing", mostly=0.99),
        expect("period_five_minutes", "ExpectColumnValuesToBeBetween",
               "a statistics period lasts 5 minutes (at least 95% of the periods)",
               severity=WARNING, column="period_s", min_value=299, max_value=301, mostly=0.95),
        not_in_future("period_end", "a statistics period's end"),
    ], _statistics_prepare),
    ABNORMAL_EVENTS.name: TableSuite(FEED, ABNORMAL_EVENTS, lambda: [
        *_mine_format(),
        expect("abnormal_type_known", "ExpectColumnValuesToBeInSet",
               "an abnormal event's type is one of 001 to 010 (contract B.1)",
               severity=WARNING, column="abnormal_type", value_set=sorted(ABNORMAL_TYPES)),
        expect("ended_after_started", "ExpectColumnPairValuesAToBeGreaterThanB",
               "an abnormal event does not end before it starts",
               severity=WARNING, column_A="ended_at", column_B="started_at", or_equal=True,
               ignore_row_if="either_value_is_missing"),
        not_in_future("started_at", "an abnormal event's start"),
    ], _time_prepare("started_at")),
    OUTSTATIONS.name: TableSuite(FEED, OUTSTATIONS, lambda: [
        *_mine_format(),
        not_in_future("snapshot_at", "an outstation file's upload time", mostly=1.0),
    ], _time_prepare("snapshot_at")),
    OUTSTATION_STATES.name: TableSuite(FEED, OUTSTATION_STATES, lambda: [
        *_mine_format(),
        expect("run_status_known", "ExpectColumnValuesToBeInSet",
               "an outstation's run status is 0, 1, 2 or 9 (at least 95% of the reports)",
               column="run_status", value_set=[0, 1, 2, 9], mostly=0.95),
        expect("power_status_known", "ExpectColumnValuesToBeInSet",
               "an outstation's power status is 0, 1, 2 or 9 (at least 95% of the reports)",
               column="power_status", value_set=[0, 1, 2, 9], mostly=0.95),
        not_in_future("observed_at", "an outstation report"),
    ], _time_prepare("observed_at")),
}


# --- per file -------------------------------------------------------------------------------


def _readings_of(files: pd.DataFrame, facts: Facts) -> pd.DataFrame | None:
    df = facts.frames.get(READINGS.name)
    return df if df is not None and len(df) else None


def _zero_share(files: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    """Per file: the share of its analog measurements that are exactly 0 (NaN with too few to tell)."""
    files["analog_zero_share"] = np.nan
    df = _readings_of(files, facts)
    if df is not None and "analog_value" in df:
        analog = df.loc[df["analog_value"].notna(), ["file_id", "analog_value"]]
        g = analog.assign(zero=analog["analog_value"].eq(0.0)).groupby("file_id")["zero"].agg(["mean", "size"])
        g = g[g["size"] >= MIN_ANALOG_FOR_ZERO_CHECK]
        files["analog_zero_share"] = files["file_id"].map(g["mean"]).astype("float64")
    return files


def _realtime_profile(files: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    files = _zero_share(files, facts)
    files["sample_spread_s"] = np.nan
    df = _readings_of(files, facts)
    if df is not None:
        t = df.groupby("file_id")["sampled_at"].agg(["min", "max"])
        files["sample_spread_s"] = files["file_id"].map((t["max"] - t["min"]).dt.total_seconds()).astype("float64")
    return files


def _daily_profile(files: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    files = _zero_share(files, facts)
    files["outside_day_share"] = np.nan
    df = _readings_of(files, facts)
    if df is not None:
        day = df["sampled_at"].dt.tz_convert("Asia/Shanghai").dt.normalize().dt.tz_localize(None)
        file_day = df["file_id"].map(files.set_index("file_id")["name_stamp"]).dt.normalize()
        outside = (day != file_day).where(file_day.notna())
        files["outside_day_share"] = files["file_id"].map(
            outside.astype("float64").groupby(df["file_id"]).mean()).astype("float64")
    return files


def _all_zero() -> list:
    return [expect("analog_not_all_zero", "ExpectColumnValuesToBeBetween",
                   f"a file's analog readings are not all exactly 0 (checked with {MIN_ANALOG_FOR_ZERO_CHECK} or more; "
                   "all zero means the vendor sends placeholders, not measurements)",
                   column="analog_zero_share", max_value=0.99)]


def _cadence() -> list:
    return [expect("cadence", "ExpectColumnValuesToBeBetween",
                   f"a real-time file's records share its upload cycle: their sample times lie within {CADENCE_S} s "
                   "of each other",
                   severity=WARNING, column="sample_spread_s", max_value=CADENCE_S)]


def _on_its_day() -> list:
    return [
        expect("on_its_day_broken", "ExpectColumnValuesToBeBetween",
               "at most half of a daily file's records lie outside the day its name says (China time)",
               column="outside_day_share", max_value=0.5),
        expect("on_its_day", "ExpectColumnValuesToBeBetween",
               "at most 2% of a daily file's records lie outside the day its name says (China time)",
               severity=WARNING, column="outside_day_share", max_value=0.02),
    ]


FILES = {
    # definitions: full snapshots of a mine's points or outstations
    "CDDY": FileSuite(FEED, "CDDY", records=(1, 100_000)),
    "AQMC": FileSuite(FEED, "AQMC", records=(1, 100_000)),
    "AQKC": FileSuite(FEED, "AQKC", records=(1, 100_000)),
    "FZDY": FileSuite(FEED, "FZDY", records=(1, 10_000)),
    # real-time: one file per upload cycle, one record per point
    "CDSS": FileSuite(FEED, "CDSS", records=(1, 20_000), checks=lambda: [*_all_zero(), *_cadence()],
                      profile=_realtime_profile),
    "AQSS": FileSuite(FEED, "AQSS", records=(1, 20_000), checks=lambda: [*_all_zero(), *_cadence()],
                      profile=_realtime_profile),
    "FZSS": FileSuite(FEED, "FZSS", records=(1, 10_000)),
    # events and statistics: may be empty when nothing happened
    "TJSJ": FileSuite(FEED, "TJSJ", records=(0, 100_000)),
    "AQMT": FileSuite(FEED, "AQMT", records=(0, 100_000)),
    "YCBJ": FileSuite(FEED, "YCBJ", records=(0, 100_000)),
    "AQKD": FileSuite(FEED, "AQKD", records=(0, 100_000)),
    # daily CSV: every reading of a day
    "safety": FileSuite(FEED, "safety", records=(1, 50_000_000), checks=lambda: [*_all_zero(), *_on_its_day()],
                        profile=_daily_profile),
}
