"""What a suite is: Great Expectations expectations with a name, a severity and plain words.

Two kinds of suite guard every batch (files of one feed, kind and mine, validated once
between parsing and committing):

- a *table suite* `<feed>.<table>` over the batch's records of one canonical table, as a
  DataFrame: the schema's columns (typed), `file_id`, `record_no`, and the derived columns
  its `prepare` adds (e.g. `methane_pct`, the value of the methane points only);
- a *file suite* `<feed>.files.<kind>` over one row per file of the batch: how many
  records it gave, how many its parser rejected, and what its `profile` adds (e.g. how far
  apart a real-time file's sample times lie).

Every expectation says, in `meta.check`, its stable name (trends are queried by it); in
`description`, what must hold in plain words (the alert mail quotes it); and in
`severity`, what a failure does: `critical` holds the batch in quarantine, `warning`
loads it and records the failure. Thresholds use `mostly` where a few odd records are
real life and a broken export is not.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from schemas.base import RecordSchema  # noqa: E402

CRITICAL = "critical"
WARNING = "warning"
# a sample time more than this far ahead of minewatch's clock is "in the future"
CLOCK_SKEW_S = 300.0


def expect(check: str, kind: str, says: str, severity: str = CRITICAL, **kwargs) -> gxe.Expectation:
    """One expectation: `kind` names a Great Expectations class, `says` what must hold in plain words."""
    cls = getattr(gxe, kind)
    return cls(severity=severity, description=says, meta={"check": check}, **kwargs)


@dataclass
class Facts:
    """What a suite knows about its batch besides the rows it checks."""

    feed: str
    kind: str
    mine_code: str | None
    now: pd.Timestamp  # the validation time, UTC
    files: pd.DataFrame  # one row per parsed file: file_id, name, produced_at, name_stamp, records, rejected
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # the batch's record frames by table
    lookup: Callable[[str, tuple], list[tuple]] | None = None  # a read-only warehouse query, or None


def seconds_ahead(times: pd.Series, now: pd.Timestamp) -> pd.Series:
    """How many seconds each time lies after `now` (negative: in the past)."""
    return (times - now).dt.total_seconds()


def not_in_future(column: str, what: str, mostly: float = 0.99) -> gxe.Expectation:
    """A time column's values are not ahead of minewatch's clock (the derived `<column>_ahead_s`)."""
    return expect(f"{column}_not_in_future", "ExpectColumnValuesToBeBetween",
                  f"{what} is not in the future (at most {CLOCK_SKEW_S:.0f} s ahead of minewatch's clock)",
                  column=f"{column}_ahead_s", max_value=CLOCK_SKEW_S, mostly=mostly)


def add_ahead(df: pd.DataFrame, facts: Facts, *columns: str) -> pd.DataFrame:
    """Add `<column>_ahead_s` for the given time columns (used by `not_in_future`)."""
    for c in columns:
        df[f"{c}_ahead_s"] = seconds_ahead(df[c], facts.now)
    return df


_FOLD_AT = 2**62  # a row's folded code stays below this (int64)


def _repeated(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """1 where the row's values in these columns occurred in an earlier row (missing equals missing), else 0.

    What `DataFrame.duplicated` says, from each column's codes (a categorical column's own) folded
    into one integer per row: no copy of the columns, no hashing of text per row.
    """
    ids = np.zeros(len(df), dtype=np.int64)
    size = 1
    for c in columns:
        col = df[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes, n = col.cat.codes.to_numpy(), len(col.cat.categories)
        else:
            codes, uniques = pd.factorize(col)
            n = len(uniques)
        if size * (n + 1) >= _FOLD_AT:  # refold what came so far into as few codes as it needs
            ids, folded = pd.factorize(ids)
            size = len(folded)
        ids = ids * (n + 1) + (codes.astype(np.int64) + 1)  # missing (-1) is a value of its own: 0
        size *= n + 1
    return pd.Series(ids).duplicated().to_numpy().astype(np.int8)


@dataclass
class TableSuite:
    """The expectations of one canonical table, `<feed>.<table>`."""

    feed: str
    schema: RecordSchema
    checks: Callable[[], list] = list  # the table's own expectations
    prepare: Callable[[pd.DataFrame, Facts], pd.DataFrame] | None = None  # adds derived columns
    explain: Callable[[str, pd.DataFrame], str | None] | None = None  # what a failed check saw, in words

    @property
    def name(self) -> str:
        return f"{self.feed}.{self.schema.name}"

    def common(self) -> list:
        """Types and natural key: every table has these."""
        key = list(self.schema.key)
        # the frame has the schema's columns by construction (read with their names); a record of another
        # width fails the load itself
        return [
            expect("types", "ExpectColumnValuesToBeInSet",
                   "every value has its column's type ("
                   + ", ".join(f"{c.name} {c.pg_type}" for c in self.schema.columns) + ")",
                   column="type_errors", value_set=[0]),
            expect("key_present", "ExpectColumnValuesToBeInSet",
                   f"every record names its natural key ({', '.join(key)})", column="key_missing", value_set=[0]),
            expect("key_unique", "ExpectColumnValuesToBeInSet",
                   f"no natural key ({', '.join(key)}) occurs twice in one file",
                   column="key_repeated", value_set=[0]),
        ]

    def keyed(self, df: pd.DataFrame) -> pd.DataFrame:
        """Add `key_missing` (key columns without a value) and `key_repeated` (the key seen before in its file)."""
        key = list(self.schema.key)
        missing = np.zeros(len(df), dtype=np.int8)
        for c in key:
            missing += df[c].isna().to_numpy()
        df["key_missing"] = missing
        df["key_repeated"] = _repeated(df, ["file_id", *key])
        return df

    def build(self) -> gx.ExpectationSuite:
        return _suite(self.name, [*self.common(), *self.checks()])


@dataclass
class FileSuite:
    """The expectations of one file kind's deliveries, one row per file: `<feed>.files.<kind>`."""

    feed: str
    kind: str
    records: tuple[int | None, int | None] = (1, None)  # how many good records a file of this kind holds
    checks: Callable[[], list] = list
    profile: Callable[[pd.DataFrame, Facts], pd.DataFrame] | None = None  # adds per-file columns

    @property
    def name(self) -> str:
        return f"{self.feed}.files.{self.kind}"

    def common(self) -> list:
        low, high = self.records
        span = (f"at least {low}" if high is None else f"between {low} and {high}") if low is not None \
            else f"at most {high}"
        return [
            expect("rejected_share_broken", "ExpectColumnValuesToBeBetween",
                   "at most half of a file's records are rejected by its parser (more means the vendor changed "
                   "the export's layout: fields moved, another unit or encoding)",
                   column="rejected_share", max_value=0.5),
            expect("rejected_share", "ExpectColumnValuesToBeBetween",
                   "at most 5% of a file's records are rejected by its parser",
                   severity=WARNING, column="rejected_share", max_value=0.05),
            expect("records", "ExpectColumnValuesToBeBetween",
                   f"a file ({self.kind}) holds {span} good records",
                   severity=WARNING, column="records", min_value=low, max_value=high),
        ]

    def build(self) -> gx.ExpectationSuite:
        return _suite(self.name, [*self.common(), *self.checks()])


def _suite(name: str, expectations: list) -> gx.ExpectationSuite:
    names = [e.meta["check"] for e in expectations]
    if len(set(names)) != len(names):
        raise ValueError(f"suite {name} names a check twice: {sorted(n for n in names if names.count(n) > 1)}")
    return gx.ExpectationSuite(name=name, expectations=expectations)
