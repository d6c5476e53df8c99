"""Suites of the explosives ledger (contract F.1): quantities, returns, areas, times."""

from __future__ import annotations

import pandas as pd

from expectations.base import WARNING, Facts, FileSuite, TableSuite, add_ahead, expect, not_in_future
from schemas.explosives import EXPLOSIVES_ISSUES

FEED = "explosives"


def _prepare(df: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    mine, area = df["mine_code"].fillna(""), df["area_code"].fillna("")
    df["area_in_mine"] = [a.startswith(m) and len(a) == len(m) + 4 for m, a in zip(mine, area, strict=True)]
    return add_ahead(df, facts, "issued_at")


TABLES = {
    EXPLOSIVES_ISSUES.name: TableSuite(FEED, EXPLOSIVES_ISSUES, lambda: [
        expect("explosive_kg_range", "ExpectColumnValuesToBeBetween",
               "an issue hands out between 0 and 1000 kg of explosive", column="explosive_kg",
               min_value=0, max_value=1000),
        expect("explosive_kg_plausible", "ExpectColumnValuesToBeBetween",
               "an issue hands out at most 200 kg (a shift's blasting needs far less)",
               severity=WARNING, column="explosive_kg", max_value=200, mostly=0.99),
        expect("detonators_range", "ExpectColumnValuesToBeBetween",
               "an issue hands out between 0 and 10000 detonators", column="detonators", min_value=0, max_value=10_000),
        expect("returned_not_above_issued", "ExpectColumnPairValuesAToBeGreaterThanB",
               "no more explosive comes back than was issued", column_A="explosive_kg", column_B="returned_kg",
               or_equal=True, ignore_row_if="either_value_is_missing"),
        expect("area_in_mine", "ExpectColumnValuesToBeInSet",
               "an issue's area code is its mine's code followed by 4 digits (at least 90% of them; a stray one "
               "is evidence, not an error)",
               column="area_in_mine", value_set=[True], mostly=0.9),
        not_in_future("issued_at", "an issue time"),
    ], _prepare),
}

FILES = {"explosives": FileSuite(FEED, "explosives", records=(0, 100_000))}
