"""Suites of the regulator's registry (contract F.2): codes, kinds and statuses, keys, dates.

The registry parser already holds single bad rows (a bad code, an unknown kind); these
suites catch what a changed export does to a whole file: values in the wrong columns
(most rows rejected, or kinds that are area names), an empty snapshot, a date that has
not happened yet.
"""

from __future__ import annotations

import pandas as pd

from connectors.registry import AREA_KINDS, MINE_STATUSES
from expectations.base import WARNING, Facts, FileSuite, TableSuite, expect
from schemas.registry import REGISTRY_AREA, REGISTRY_METER, REGISTRY_MINE, REGISTRY_POINT, REGISTRY_SEAL

FEED = "registry"
MINE_CODE = r"^[0-9]{6,20}$"
AREA_CODE = r"^[0-9]{10,24}$"


def _mine_code() -> list:
    return [expect("mine_code_format", "ExpectColumnValuesToMatchRegex", "a mine code is 6 to 20 digits",
                   column="mine_code", regex=MINE_CODE)]


def _area_code() -> list:
    return [
        expect("area_code_format", "ExpectColumnValuesToMatchRegex", "an area code is 10 to 24 digits",
               column="area_code", regex=AREA_CODE),
        expect("area_in_mine", "ExpectColumnValuesToBeInSet",
               "an area code is its mine's code followed by 4 digits (contract C.1)",
               column="area_in_mine", value_set=[True]),
    ]


def _with_area_in_mine(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    mine, area = df["mine_code"].fillna(""), df["area_code"].fillna("")
    df["area_in_mine"] = [a.startswith(m) and len(a) == len(m) + 4 for m, a in zip(mine, area, strict=True)]
    return df


def _area_prepare(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    df = _with_area_in_mine(df, facts)
    df["declared_active_f"] = df["is_declared_active"].map({True: 1.0, False: 0.0}).astype("float64")
    return df


def _seal_prepare(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    df = _with_area_in_mine(df, facts)
    today = facts.now.tz_convert("Asia/Shanghai").tz_localize(None).normalize()
    df["built_days_ago"] = (today - df["built_on"]).dt.days
    return df


TABLES = {
    "registry_mine": TableSuite(FEED, REGISTRY_MINE, lambda: [
        *_mine_code(),
        expect("mine_name_present", "ExpectColumnValuesToNotBeNull", "every mine has a name", column="mine_name"),
        expect("status_known", "ExpectColumnValuesToBeInSet",
               f"a mine's status is one of {', '.join(sorted(MINE_STATUSES))}",
               column="status", value_set=sorted(MINE_STATUSES)),
        expect("capacity_plausible", "ExpectColumnValuesToBeBetween",
               "a mine's capacity lies between 0 and 50 Mt/a (the largest Chinese mines make about 35)",
               severity=WARNING, column="capacity_mtpa", min_value=0, max_value=50),
    ]),
    "registry_area": TableSuite(FEED, REGISTRY_AREA, lambda: [
        *_mine_code(), *_area_code(),
        expect("kind_known", "ExpectColumnValuesToBeInSet",
               f"an area's kind is one of {', '.join(sorted(AREA_KINDS))}",
               column="kind", value_set=sorted(AREA_KINDS)),
        expect("area_name_present", "ExpectColumnValuesToNotBeNull", "areas have names",
               severity=WARNING, column="area_name", mostly=0.9),
        expect("declared_active_share", "ExpectColumnMeanToBeBetween",
               "at most 60% of a registry's areas are declared working places (faces and headings are few)",
               severity=WARNING, column="declared_active_f", max_value=0.6),
    ], _area_prepare),
    "registry_point": TableSuite(FEED, REGISTRY_POINT, lambda: [
        *_mine_code(), *_area_code(),
        expect("point_code_length", "ExpectColumnValueLengthsToBeBetween",
               "a point code has 1 to 28 characters (contract B.1)", column="point_code", min_value=1, max_value=28),
    ], _with_area_in_mine),
    "registry_seal": TableSuite(FEED, REGISTRY_SEAL, lambda: [
        *_mine_code(), *_area_code(),
        expect("built_on_not_in_future", "ExpectColumnValuesToBeBetween",
               "a seal was built on a day that has come (built_on is not in the future)",
               severity=WARNING, column="built_days_ago", min_value=0),
    ], _seal_prepare),
    "registry_meter": TableSuite(FEED, REGISTRY_METER, lambda: [
        *_mine_code(), *_area_code(),
        expect("multiplier_plausible", "ExpectColumnValuesToBeBetween",
               "a meter's multiplier (倍率) lies between 0 and 100000",
               severity=WARNING, column="multiplier", min_value=0, max_value=100_000),
    ], _with_area_in_mine),
}

FILES = {
    "mines": FileSuite(FEED, "mines", records=(1, 100_000)),
    "areas": FileSuite(FEED, "areas", records=(1, 1_000_000)),
    "points": FileSuite(FEED, "points", records=(1, 5_000_000)),
    "seals": FileSuite(FEED, "seals", records=(1, 1_000_000)),
    "meters": FileSuite(FEED, "meters", records=(1, 1_000_000)),
}
