"""Validation between parsing and committing: each batch against its feed's expectation suites.

The load path parses a batch (files of one feed, kind and mine) into COPY text, then calls
`validate_batch` before anything is staged. The batch's records become one DataFrame per
canonical table and its files one row each; the suites of `expectations/` run over them
with Great Expectations (one ephemeral context per process, each suite built once).

- A *critical* failure holds the batch: a batch of several files raises
  `ValidationFailed`, so the load path retries it file by file and only the bad files
  are held; a single file is held whole in quarantine (reason `expectation_failed`).
- A *warning* failure loads the batch and is recorded.
- Every suite run is kept in `quality.validation`, every expectation's result in
  `quality.expectation_result` (with a sample of offending records when it failed),
  in the same transaction as the load or the hold.

`minewatch quality docs` renders the stored results as Great Expectations Data Docs.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg2.extras import Json, execute_values

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from minewatch.load import Delivery, LoadPath, Spool
    from schemas import Block

log = logging.getLogger(__name__)

RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5}  # what a failed check is shown with
# a first pass gives counts and observed values, not which rows failed: about a quarter cheaper, and
# nearly every batch passes; one that does not is validated again with RESULT_FORMAT
FIRST_PASS_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 5}
SAMPLE = 3  # offending records kept per failed expectation
# records of one table per batch validated in full; above it a systematic sample (a daily CSV of a large
# mine holds millions, and the load path keeps its memory bounded)
MAX_ROWS = 1_000_000
# rows of one table per batch that Great Expectations sees; above it a systematic sample plus every row that
# fails an expectation without `mostly` (so those stay exact); aggregates and `mostly` shares are estimated
GX_ROWS = 25_000
MANY_COLUMNS = 8  # a sample record shows all its columns up to this many, else its key and the checked column
CHINA = timezone(timedelta(hours=8))


class ValidationFailed(Exception):
    """A batch of several files failed a critical expectation; loading them one by one holds only the bad ones."""


@dataclass
class Check:
    """One expectation's result, in plain words."""

    check: str
    expectation_type: str
    column: str | None
    severity: str
    success: bool
    says: str
    observed: str = ""
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: float | None = None
    sample: list[dict] = field(default_factory=list)

    def line(self) -> str:
        """`says`, and what was seen when it failed."""
        return self.says if self.success or not self.observed else f"{self.says}: {self.observed}"


@dataclass
class SuiteRun:
    """One suite over one frame of the batch."""

    suite: str
    rows: int
    checks: list[Check]
    duration_ms: float

    @property
    def success(self) -> bool:
        return not any(c.severity == "critical" and not c.success for c in self.checks)


@dataclass
class Verdict:
    """What validation found in a batch, and what becomes of it."""

    batch_id: str
    feed: str
    kind: str
    mine_code: str | None
    file_ids: list[int]
    names: dict[int, str]
    runs: list[SuiteRun]
    accepted: bool = False
    duration_ms: float = 0.0

    def failed(self, severity: str) -> list[tuple[str, Check]]:
        return [(r.suite, c) for r in self.runs for c in r.checks if c.severity == severity and not c.success]

    @property
    def outcome(self) -> str:
        if self.failed("critical"):
            return "accepted" if self.accepted else "held"
        return "warning" if self.failed("warning") else "passed"

    @property
    def held(self) -> bool:
        return self.outcome == "held"

    def detail(self) -> str:
        """One line for quarantine and the ledger: which critical expectations failed."""
        failed = self.failed("critical")
        check = failed[0][1]
        first = check.says.split(" (", 1)[0] + (f": {check.observed}" if check.observed else "")
        more = f"; and {len(failed) - 1} more" if len(failed) > 1 else ""
        return f"{len(failed)} critical expectation(s) failed: {first}{more}"


# --- frames: COPY text to typed DataFrames -------------------------------------------------

_NUMBERS = {"integer", "smallint", "bigint", "numeric", "double precision", "real"}
_TIMES = {"timestamptz", "timestamp with time zone", "date", "timestamp"}


def frame(spool: Spool, columns: list[tuple[str, str]]) -> pd.DataFrame:
    r"""The spool's rows as a DataFrame: file_id, record_no and the (name, pg_type) columns, typed.

    A value that does not read as its column's type becomes null and counts in `type_errors`.
    Text keeps COPY's escapes (\t, \n, \\), which does not matter for validation.
    """
    import numpy as np
    import pandas as pd

    names = ["file_id", "record_no", *(n for n, _ in columns)]
    numbers = {n: "float64" for n, t in columns if t in _NUMBERS}
    times = {n: "category" for n, t in columns if t in _TIMES}  # few distinct times: each parsed once
    typed = {"file_id": "int64", "record_no": "int64", **numbers, **times}
    try:  # numbers read by the C parser; a value that is none falls back to reading text and coercing
        raw = _read(spool, names, {n: typed.get(n, str) for n in names})
        errors = np.zeros(len(raw), dtype="int64")
    except (ValueError, TypeError):
        raw = _read(spool, names, str)
        errors = np.zeros(len(raw), dtype="int64")
        for n in numbers:
            value = pd.to_numeric(raw[n], errors="coerce")
            errors += (raw[n].notna() & value.isna()).to_numpy()
            raw[n] = value
        raw["file_id"] = pd.to_numeric(raw["file_id"]).astype("int64")
        raw["record_no"] = pd.to_numeric(raw["record_no"]).astype("int64")
    for name, pg_type in columns:
        if pg_type == "boolean":
            value = raw[name].map({"t": True, "f": False})
        elif pg_type in _TIMES:
            value = _times(raw[name], pg_type)
        else:
            continue
        errors += (raw[name].notna() & value.isna()).to_numpy()
        raw[name] = value
    raw["type_errors"] = errors
    return raw


def block_frame(block: Block, file_ids: list[int], columns: list[tuple[str, str]]) -> pd.DataFrame:
    """The frame `frame` reads from a Block's COPY text, built from the block's columns: no text parsed.

    Each column's distinct values are converted once and taken per row by their codes; above
    MAX_ROWS rows the same 1-in-k sample of rows as `frame` takes. Text columns are categorical
    (the same values; what the suites do with them, such as finding repeated keys or each
    point's sensor type, then works on the codes instead of hashing every row's string).
    """
    import numpy as np
    import pandas as pd

    from minewatch.load import _copy_text

    step = -(-block.rows // MAX_ROWS)
    rows = slice(None, None, step) if step > 1 else slice(None)
    data: dict[str, Any] = {
        "file_id": np.asarray(file_ids, dtype="int64")[block.file_of[rows]],
        "record_no": np.asarray(block.record_no[rows], dtype="int64"),
    }
    for (name, pg_type), (codes, values) in zip(columns, block.columns, strict=True):
        codes = codes[rows]
        if pg_type in _NUMBERS:
            table = np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
            data[name] = table[codes] if len(table) else np.full(len(codes), np.nan)
        elif pg_type in _TIMES:
            texts = [None if v is None else _copy_text(v) for v in values]
            data[name] = _times_by_code(codes, texts, pg_type, pd.RangeIndex(len(codes))).array
        elif pg_type == "boolean":
            data[name] = np.array([np.nan if v is None else bool(v) for v in values], dtype=object)[codes]
        else:  # text as COPY writes it, escapes and all, like `frame`; as categories: each distinct text once
            uniques, remap = {}, np.empty(len(values) + 1, dtype=np.int32)
            for k, v in enumerate(values):
                remap[k] = -1 if v is None else uniques.setdefault(_copy_text(v), len(uniques))
            remap[-1] = -1
            data[name] = pd.Categorical.from_codes(remap[codes], categories=list(uniques))
    df = pd.DataFrame(data, copy=False)  # the arrays are ours: no second copy of every column
    df["type_errors"] = np.zeros(len(df), dtype="int64")
    return df


def _by_file(df: pd.DataFrame) -> pd.DataFrame:
    """The rows by file and record number, keeping their labels.

    The load path may spool a table's rows in another order (readings sorted by point for the
    COPY); a failed check shows a file's first offending records, so what Great Expectations
    sees, and picks its examples from, is in file order.
    """
    import numpy as np

    fid, no = df["file_id"].to_numpy(), df["record_no"].to_numpy()
    if len(df) < 2 or bool(np.all((fid[1:] > fid[:-1]) | ((fid[1:] == fid[:-1]) & (no[1:] > no[:-1])))):
        return df
    return df.iloc[np.lexsort((no, fid))]


def _first(df: pd.DataFrame, labels, n: int) -> list:
    """The n of these rows that come first by file and record number."""
    import numpy as np

    if len(labels) == 0:
        return []
    sub = df.loc[labels, ["file_id", "record_no"]]
    order = np.lexsort((sub["record_no"].to_numpy(), sub["file_id"].to_numpy()))[:n]
    return list(sub.index[order])


def _read(spool: Spool, names: list[str], dtype) -> pd.DataFrame:
    """The spool as a DataFrame; above MAX_ROWS rows, every k-th row (memory stays bounded like the load's)."""
    import pandas as pd

    options = dict(sep="\t", header=None, names=names, dtype=dtype, na_values=["\\N"], keep_default_na=False,
                   quoting=csv.QUOTE_NONE, encoding="utf-8", engine="c")
    step = -(-spool.rows // MAX_ROWS)
    if step <= 1:
        return pd.read_csv(spool.reader(), **options)
    chunk, kept, seen = step * 50_000, [], 0
    for part in pd.read_csv(spool.reader(), chunksize=chunk, **options):
        kept.append(part.iloc[(-seen) % step::step])
        seen += len(part)
    log.info("validating a 1-in-%d sample of %d records", step, spool.rows)
    return pd.concat(kept, ignore_index=True)


def _times(text: pd.Series, pg_type: str) -> pd.Series:
    """Parse each distinct time once (real-time files repeat few distinct times)."""
    import pandas as pd

    if isinstance(text.dtype, pd.CategoricalDtype):
        codes, uniques = text.cat.codes.to_numpy(), text.cat.categories.astype(object)
    else:
        codes, uniques = pd.factorize(text)
    return _times_by_code(codes, uniques, pg_type, text.index)


def _times_by_code(codes, uniques, pg_type: str, index) -> pd.Series:
    """The time texts `uniques` parsed once each, taken per row by `codes` (-1 or a None text: NaT)."""
    import pandas as pd

    if not len(uniques):
        return pd.Series(pd.NaT, index=index,
                         dtype="datetime64[ns]" if pg_type in ("date", "timestamp") else "datetime64[ns, UTC]")
    if pg_type == "date":
        parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="%Y-%m-%d", errors="coerce")
    else:
        parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="ISO8601", utc=pg_type != "timestamp",
                                errors="coerce")
    return pd.Series(parsed.array.take(codes, allow_fill=True), index=index)


def reject_samples(rejects: Spool, file_ids: set[int], per_file: int = SAMPLE) -> dict[int, list[dict]]:
    """The first rejects of the given files, read from the batch's reject spool."""
    out: dict[int, list[dict]] = {fid: [] for fid in file_ids}
    if not file_ids or rejects.rows == 0:
        return out
    rejects.buf.seek(0)
    try:
        for line in rejects.buf:
            parts = line.decode("utf-8", "replace").rstrip("\n").split("\t")
            fid = int(parts[0])
            bucket = out.get(fid)
            if bucket is None or len(bucket) >= per_file:
                continue
            record_no, _, _, _, reason, detail, raw = (None if p == "\\N" else _unescape(p) for p in parts[1:8])
            bucket.append({"record_no": int(record_no) if record_no else None, "reason": reason,
                           "detail": detail, "raw": raw})
            if all(len(b) >= per_file for b in out.values()):
                break
    finally:
        rejects.buf.seek(0, os.SEEK_END)
    return out


# --- Great Expectations ----------------------------------------------------------------------


class _Gx:
    """One ephemeral Great Expectations context per process; each suite's validation definition built once."""

    _instance: _Gx | None = None

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        for noisy in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

        self.gx = gx
        config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                                   analytics_enabled=False)
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = self.context.data_sources.add_pandas("minewatch")
        self.definitions: dict[str, Any] = {}
        self.columns: dict[str, Any] = {}
        self.exact: dict[str, Any] = {}  # suite -> row tests of its exact expectations (see rows_for)

    @classmethod
    def get(cls) -> _Gx:
        with _GX_LOCK:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def suite(self, spec):
        """The context's ExpectationSuite for a TableSuite/FileSuite, added on first use."""
        return self.definition(spec).suite

    def definition(self, spec):
        vd = self.definitions.get(spec.name)
        if vd is None:
            with _GX_LOCK:
                return self._define(spec)
        return vd

    def _define(self, spec):
        vd = self.definitions.get(spec.name)
        if vd is None:
            batch = self.source.add_dataframe_asset(spec.name).add_batch_definition_whole_dataframe("batch")
            suite = self.context.suites.add(spec.build())
            vd = self.context.validation_definitions.add(
                self.gx.ValidationDefinition(name=spec.name, data=batch, suite=suite))
            self.definitions[spec.name] = vd
        return vd

    def run(self, spec, df):
        """Validate a frame against the spec's suite; the result is not kept in GX's store (the warehouse keeps it).

        This is `ValidationDefinition.run` without its store write, which would serialize every
        result to JSON only for it to be thrown away; and in two passes (FIRST_PASS_FORMAT, then
        RESULT_FORMAT only when something failed).
        """
        from great_expectations.validator.v1_validator import Validator

        with _GX_LOCK:  # the context, its assets and their batches are shared: one validation at a time
            vd = self.definition(spec)
            used = self.columns.get(spec.name)
            if used is None:
                used = self.columns[spec.name] = _columns_used(vd.suite)
            # only the columns the expectations read: GX copies and fingerprints the frame it gets
            frame_ = df[[c for c in df.columns if c in used]] if used is not ALL else df
            result = None
            for result_format in (FIRST_PASS_FORMAT, RESULT_FORMAT):
                validator = Validator(batch_definition=vd.batch_definition, batch_parameters={"dataframe": frame_},
                                      result_format=result_format)
                result = validator.validate_expectation_suite(vd.suite)
                if result.success:
                    break
            return result


    def rows_for(self, spec, df):
        """The rows of a table frame the suite runs over, in file order.

        All of them, or above GX_ROWS a 1-in-k systematic sample with every row that fails an
        exact expectation (one without `mostly`) added to it.
        """
        if len(df) <= GX_ROWS:
            return _by_file(df)
        exact = self.exact.get(spec.name, _UNSET)
        if exact is _UNSET:
            exact = self.exact[spec.name] = _exact_checks(self.definition(spec).suite)
        if exact is None:  # an exact expectation this module cannot evaluate: the suite sees every row
            return _by_file(df)
        import numpy as np

        keep = np.zeros(len(df), dtype=bool)
        keep[:: -(-len(df) // GX_ROWS)] = True
        for check in exact:
            keep |= check(df)
        return _by_file(df[keep])


ALL = object()  # a suite with a table-level expectation: it sees every column
# the load path may validate in two threads (a retry on the committer's connection while the next
# batch is validated): Great Expectations' context is not safe for that
_GX_LOCK = threading.RLock()
_UNSET = object()


def _exact_checks(suite) -> list | None:
    """Row tests of the suite's exact expectations (True: the row fails it); None when one cannot be told."""
    import numpy as np

    checks = []
    for e in suite.expectations:
        kind = type(e).__name__
        kw = e.configuration.kwargs
        if kind.startswith("ExpectColumnMean") or kind.startswith("ExpectColumnMedian") \
                or kind.startswith("ExpectColumnMax") or kind.startswith("ExpectColumnMin"):
            continue  # an aggregate: estimated on the sample
        if kw.get("mostly") not in (None, 1, 1.0):
            continue  # a share: estimated on the sample
        column = kw.get("column")
        if kind == "ExpectColumnValuesToBeInSet" and column:
            values = list(kw["value_set"])
            checks.append(lambda df, c=column, v=values: (df[c].notna() & ~df[c].isin(v)).to_numpy())
        elif kind == "ExpectColumnValuesToBeBetween" and column:
            lo, hi = kw.get("min_value"), kw.get("max_value")
            strict_lo, strict_hi = bool(kw.get("strict_min")), bool(kw.get("strict_max"))

            def between(df, c=column, lo=lo, hi=hi, strict_lo=strict_lo, strict_hi=strict_hi):
                v = df[c]
                bad = np.zeros(len(df), dtype=bool)
                with np.errstate(invalid="ignore"):
                    if lo is not None:
                        bad |= ((v <= lo) if strict_lo else (v < lo)).fillna(False).to_numpy(dtype=bool)
                    if hi is not None:
                        bad |= ((v >= hi) if strict_hi else (v > hi)).fillna(False).to_numpy(dtype=bool)
                return bad
            checks.append(between)
        elif kind == "ExpectColumnValuesToNotBeNull" and column:
            checks.append(lambda df, c=column: df[c].isna().to_numpy())
        else:
            return None
    return checks


def _columns_used(suite) -> Any:
    used: set[str] = {"file_id"}
    for e in suite.expectations:
        kw = e.configuration.kwargs
        if not any(k in kw for k in ("column", "column_A", "column_list")):
            return ALL
        for k in ("column", "column_A", "column_B"):
            if k in kw:
                used.add(kw[k])
        used.update(kw.get("column_list") or [])
    return used


# --- plain words ---------------------------------------------------------------------------


def _share_like(column: str | None) -> bool:
    return bool(column) and (column.endswith("_share") or column.endswith("_f"))


def _fmt(v: Any, column: str | None = None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "empty"
    if isinstance(v, float | int) and not isinstance(v, bool):
        if _share_like(column):
            return f"{float(v):.0%}"
        return f"{float(v):g}"
    if isinstance(v, dict):
        return "/".join(_fmt(x) for x in v.values())
    return str(v)


def _plain(v: Any) -> Any:
    """A value as JSON can hold it."""
    import pandas as pd

    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, datetime):  # pandas Timestamps too; aware times as China time, like the vendor files
        return (v.astimezone(CHINA) if v.tzinfo else v).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalars
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, float | int | str | bool):
        return v
    return str(v)


def _column(config) -> str | None:
    kw = config.kwargs
    if "column" in kw:
        return kw["column"]
    if "column_A" in kw:
        return f"{kw['column_A']}/{kw['column_B']}"
    if "column_list" in kw:
        return ",".join(kw["column_list"])
    return None


def _observed(result: dict, config, column: str | None, is_files: bool, df, names: dict[int, str]) -> str:
    if "unexpected_count" in result and result.get("element_count") is not None:
        n, bad = result["element_count"], result["unexpected_count"]
        if is_files:
            idx = result.get("partial_unexpected_index_list") or []
            shown = [_file_fact(df, i, column, names) for i in idx[:SAMPLE] if column in df.columns]
            return "; ".join(shown) + (f" ({bad} of {n} files)" if n > 1 else "") if shown \
                else f"{bad} of {n} file(s) did not"
        pct = result.get("unexpected_percent")
        examples = ", ".join(_fmt(v, column) for v in (result.get("partial_unexpected_list") or [])[:SAMPLE])
        return (f"{bad} of {n} ({pct:.1f}%) did not" if pct is not None else f"{bad} of {n} did not") + \
            (f", e.g. {examples}" if examples else "")
    if "observed_value" in result:
        ov = result["observed_value"]
        if isinstance(ov, list):
            missing = sorted(set(config.kwargs.get("column_set") or []) - set(ov))
            return f"missing column(s): {', '.join(missing)}" if missing else f"columns: {', '.join(map(str, ov))}"
        return f"observed {_fmt(_plain(ov), column)}"
    return ""


def _file_fact(df, i, column: str, names: dict[int, str]) -> str:
    """What one file of a file suite showed, e.g. `areas.csv: 7 of 7 records rejected (100%)`."""
    name = names.get(int(df.at[i, "file_id"]), str(df.at[i, "file_id"]))
    if column == "rejected_share":
        rejected, records = int(df.at[i, "rejected"]), int(df.at[i, "records"])
        return f"{name}: {rejected} of {rejected + records} records rejected ({_fmt(df.at[i, column], column)})"
    if column == "records":
        return f"{name}: {int(df.at[i, 'records'])} good records"
    return f"{name}: {column.replace('_', ' ')} {_fmt(df.at[i, column], column)}"


def _unescape(text: str | None) -> str | None:
    """COPY text back to the text it encodes."""
    if text is None or "\\" not in text:
        return text
    return (text.replace("\\\\", "\x00").replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r")
            .replace("\x00", "\\"))


def _record_sample(df, rows: list, column: str | None, schema_cols: list[str], key: list[str],
                   names: dict[int, str]) -> list[dict]:
    """Offending records: file, record number and values ([column, value] pairs, in column order)."""
    cols = schema_cols if len(schema_cols) <= MANY_COLUMNS else [*key]
    extra = [c for c in (column or "").split(",") if c in df.columns and c not in cols]
    out = []
    for i in rows[:SAMPLE]:
        fid = int(df.at[i, "file_id"])
        out.append({"file": names.get(fid, str(fid)), "file_id": fid, "record_no": int(df.at[i, "record_no"]),
                    "values": [[c, _plain(df.at[i, c])] for c in [*cols, *extra] if c in df.columns]})
    return out


def sample_text(values) -> str:
    """A sample record's values as `column=value, …`."""
    pairs = values.items() if isinstance(values, dict) else values or []
    return ", ".join(f"{k}={v}" for k, v in pairs)


def _checks(result, spec, df, facts, names: dict[int, str], is_files: bool,
            reject_rows: dict[int, list[dict]], frames: dict) -> list[Check]:
    out = []
    for r in result.results:
        config = r.expectation_config
        column = _column(config)
        res = r.result or {}
        raised = bool((r.exception_info or {}).get("raised_exception")) if isinstance(r.exception_info, dict) else False
        check = Check(
            check=config.meta.get("check") or config.type,
            expectation_type=config.type,
            column=column,
            severity=getattr(config.severity, "value", str(config.severity)),
            success=bool(r.success),
            says=config.description or config.type,
            element_count=res.get("element_count"),
            unexpected_count=res.get("unexpected_count"),
            unexpected_percent=res.get("unexpected_percent"),
        )
        ov = _plain(res.get("observed_value"))
        if isinstance(ov, int | float) and not isinstance(ov, bool):
            check.observed_value = float(ov)
        if not check.success:
            if raised:
                msg = (r.exception_info or {}).get("exception_message") or "error"
                check.observed = f"could not be checked ({str(msg).splitlines()[0]})"
            else:
                explained = spec.explain(check.check, df) if not is_files and getattr(spec, "explain", None) else None
                check.observed = explained or _observed(res, config, column, is_files, df, names)
            check.sample = _sample(res, config, column, spec, df, names, is_files, reject_rows, frames)
        out.append(check)
    return out


def _sample(res: dict, config, column, spec, df, names, is_files, reject_rows, frames) -> list[dict]:
    idx = list(res.get("partial_unexpected_index_list") or [])
    if is_files:
        if not idx and column in df.columns:  # an aggregate over files: every file of the batch
            idx = list(df.index)
        out = []
        for i in idx[:SAMPLE]:
            fid = int(df.at[i, "file_id"])
            rows = reject_rows.get(fid) or []
            if rows:
                out.extend({"file": names.get(fid, str(fid)), "file_id": fid, **x} for x in rows)
                continue
            for tdf in frames.values():  # no rejects: show the file's first records
                mine = tdf.index[(tdf["file_id"] == fid).to_numpy()]
                if len(mine):
                    first = _first(tdf, mine, SAMPLE)
                    cols = [c for c in tdf.columns if c not in ("file_id", "record_no", "type_errors")
                            and not c.endswith("_ahead_s")][:MANY_COLUMNS]
                    out.extend(_record_sample(tdf, first, column, cols, [], names))
                    break
        return out[:SAMPLE * 2]
    schema = spec.schema
    flag = column[: -len("_share")] if column and column.endswith("_share") else None
    if flag in df.columns:  # a share broadcast to its rows: show the rows that make it
        idx = _first(df, df.index[(df[flag] == 1.0).to_numpy()], SAMPLE)
    elif not idx and column in df.columns:  # an aggregate (a mean, a max): rows that make it
        col = df[column]
        pick = col[col == 1.0] if _share_like(column) else col.dropna()
        idx = _first(df, pick.index, SAMPLE)
    return _record_sample(df, idx, column, list(schema.column_names), list(schema.key), names)


# --- the batch ------------------------------------------------------------------------------


def validate_batch(path: LoadPath, batch: list[Delivery], spools: dict[str, Spool], rejects: Spool,
                   parsed: dict, blocks: dict | None = None) -> Verdict | None:
    """Run the suites of the batch's parsed files; raise ValidationFailed for a bad batch of several files.

    `blocks`: target -> (Block, file ids) for targets whose rows all came from a bulk read; their
    frames are built from the blocks, the others' read from the spools' COPY text.
    """
    if not parsed or not path.settings.validate:
        return None
    import pandas as pd

    import expectations
    from expectations.base import Facts
    from schemas import SCHEMAS

    started = time.perf_counter()
    gxr = _Gx.get()
    first = batch[0].match
    feed, kind = first.feed, first.kind
    by_id = {d.file_id: d for d in batch}
    names = {fid: Path(by_id[fid].path).name for fid in parsed}
    infos = {fid: info for fid, (_, _, info) in parsed.items()}
    mine = next((i.mine_code for i in infos.values() if i and i.mine_code), None) or first.context.mine_code
    files = pd.DataFrame({
        "file_id": list(parsed),
        "name": [names[f] for f in parsed],
        "produced_at": pd.to_datetime([infos[f].produced_at if infos[f] else None for f in parsed], utc=True),
        "name_stamp": pd.to_datetime([by_id[f].match.context.stamp for f in parsed]),
        "records": [good for good, _, _ in parsed.values()],
        "rejected": [bad for _, bad, _ in parsed.values()],
    })
    total = files["records"] + files["rejected"]
    files["rejected_share"] = (files["rejected"] / total.where(total > 0)).astype("float64")

    def lookup(sql_text: str, params: tuple) -> list[tuple]:
        with path.conn.cursor() as cur:
            cur.execute(sql_text, params)
            return cur.fetchall()

    facts = Facts(feed=feed, kind=kind, mine_code=mine, now=pd.Timestamp.now(tz=UTC), files=files, lookup=lookup)
    runs: list[SuiteRun] = []
    frames: dict[str, pd.DataFrame] = {}
    specs = {}
    t0 = time.perf_counter()
    for target, spool in spools.items():
        if spool.rows:
            schema = SCHEMAS[target]
            columns = [(c.name, c.pg_type) for c in schema.columns]
            frames[target] = block_frame(*blocks[target], columns) if blocks and target in blocks \
                else frame(spool, columns)
            specs[target] = expectations.table_suite(feed, schema)
    facts.frames = frames
    for target, df in frames.items():
        spec = specs[target]
        frames[target] = df = spec.keyed(df)
        if spec.prepare is not None:
            frames[target] = df = spec.prepare(df, facts)
    prep_ms = (time.perf_counter() - t0) * 1000
    for target, df in frames.items():
        spec = specs[target]
        t = time.perf_counter()
        result = gxr.run(spec, gxr.rows_for(spec, df))
        checks = _checks(result, spec, df, facts, names, False, {}, frames)
        runs.append(SuiteRun(spec.name, len(df), checks, (time.perf_counter() - t) * 1000 + prep_ms / len(frames)))
    fspec = expectations.file_suite(feed, kind)
    t = time.perf_counter()
    fdf = fspec.profile(files.copy(), facts) if fspec.profile else files.copy()
    fresult = gxr.run(fspec, fdf)
    failing = set()
    for r in fresult.results:
        if not r.success:
            idx = (r.result or {}).get("partial_unexpected_index_list") or []
            failing.update(int(fdf.at[i, "file_id"]) for i in idx)
            if not (r.result or {}).get("partial_unexpected_index_list"):
                failing.update(int(x) for x in fdf["file_id"])
    samples = reject_samples(rejects, failing) if failing else {}
    checks = _checks(fresult, fspec, fdf, facts, names, True, samples, frames)
    runs.append(SuiteRun(fspec.name, len(fdf), checks, (time.perf_counter() - t) * 1000))

    verdict = Verdict(
        batch_id=str(uuid.uuid4()), feed=feed, kind=kind, mine_code=mine, file_ids=list(parsed), names=names,
        runs=runs, accepted=path.accept_failed_expectations, duration_ms=(time.perf_counter() - started) * 1000,
    )
    if verdict.failed("critical") and not verdict.accepted and len(parsed) > 1:
        raise ValidationFailed(f"{len(parsed)} {kind} files failed a critical expectation ({verdict.detail()})")
    log.debug("validated %d %s file(s) in %.0f ms: %s", len(parsed), kind, verdict.duration_ms, verdict.outcome)
    return verdict


def record(cur, verdict: Verdict | None) -> list[int]:
    """Keep the verdict in quality.validation and quality.expectation_result; return the validation ids."""
    if verdict is None:
        return []
    ids = []
    for run in verdict.runs:
        crit = sum(1 for c in run.checks if c.severity == "critical" and not c.success)
        warn = sum(1 for c in run.checks if c.severity == "warning" and not c.success)
        cur.execute(
            """INSERT INTO quality.validation (batch_id, suite, feed, kind, mine_code, file_ids, rows_checked,
                                                expectations, failed_critical, failed_warning, success, outcome,
                                                duration_ms)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING validation_id""",
            (verdict.batch_id, run.suite, verdict.feed, verdict.kind, verdict.mine_code, verdict.file_ids, run.rows,
             len(run.checks), crit, warn, run.success, verdict.outcome, round(run.duration_ms)),
        )
        vid = cur.fetchone()[0]
        ids.append(vid)
        execute_values(
            cur,
            """INSERT INTO quality.expectation_result (validation_id, check_name, expectation_type, column_name,
                   severity, success, element_count, unexpected_count, unexpected_percent, observed_value,
                   summary, sample) VALUES %s""",
            [(vid, c.check, c.expectation_type, c.column, c.severity, c.success, c.element_count, c.unexpected_count,
              _finite(c.unexpected_percent), _finite(c.observed_value),
              None if c.success else c.line(), None if c.success else Json(c.sample))
             for c in run.checks],
        )
    return ids


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


# --- Data Docs ------------------------------------------------------------------------------

DOCS_SITE = "minewatch"


def build_docs(conn, settings, days: float = 7.0, limit: int = 500) -> Path:
    """Render the stored validations of the last `days` as Great Expectations Data Docs; return index.html."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    import expectations

    out = settings.data_docs_dir
    out.mkdir(parents=True, exist_ok=True)
    gxr = _Gx.get()
    context = gxr.context
    if DOCS_SITE not in (context.get_config().data_docs_sites or {}):
        context.add_data_docs_site(site_name=DOCS_SITE, site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out)},
        })
    specs = {s.name: s for s in expectations.all_suites()}
    for spec in specs.values():  # every suite gets its page, validated lately or not
        gxr.suite(spec)
    with conn, conn.cursor() as cur:
        cur.execute(
            """SELECT validation_id, suite, feed, kind, mine_code, file_ids, validated_at, success, outcome,
                      rows_checked
                 FROM quality.validation WHERE validated_at >= now() - make_interval(secs => %s)
                ORDER BY validation_id DESC LIMIT %s""",
            (days * 86400, limit),
        )
        validations = cur.fetchall()
        cur.execute(
            """SELECT validation_id, check_name, success, element_count, unexpected_count, unexpected_percent,
                      observed_value, summary, sample
                 FROM quality.expectation_result WHERE validation_id = ANY(%s)""",
            ([v[0] for v in validations],),
        )
        results: dict[int, list] = {}
        for row in cur.fetchall():
            results.setdefault(row[0], []).append(row[1:])
    store = context.validation_results_store
    for vid, suite_name, feed, kind, mine, file_ids, at, success, outcome, rows in validations:
        spec = specs.get(suite_name)
        if spec is None:  # a suite that no longer exists
            continue
        configs = {e.meta.get("check"): e.configuration for e in gxr.suite(spec).expectations}
        evrs = []
        for check, ok, n, bad, pct, observed, summary, sample in results.get(vid, []):
            config = configs.get(check)
            if config is None:
                continue
            result = {k: v for k, v in (("element_count", n), ("unexpected_count", bad), ("unexpected_percent", pct),
                                        ("observed_value", observed)) if v is not None}
            if sample:
                result["partial_unexpected_list"] = [sample_text(s["values"]) if s.get("values") else s.get("raw")
                                                     for s in sample]
            evrs.append(ExpectationValidationResult(success=ok, expectation_config=config, result=result,
                                                    meta={"summary": summary} if summary else {}))
        run_id = RunIdentifier(run_name=f"validation-{vid}-{outcome}", run_time=at)
        batch = f"{feed}-{kind}-{mine or 'all'}-files-{'_'.join(map(str, file_ids[:5]))}"
        evaluated = len(evrs)
        passed = sum(1 for e in evrs if e.success)
        suite_result = ExpectationSuiteValidationResult(
            success=success, results=evrs, suite_name=suite_name,
            statistics={"evaluated_expectations": evaluated, "successful_expectations": passed,
                        "unsuccessful_expectations": evaluated - passed,
                        "success_percent": 100.0 * passed / evaluated if evaluated else None},
            meta={"run_id": run_id, "validation_time": at, "rows_checked": rows, "outcome": outcome,
                  "active_batch_definition": {"datasource_name": "minewatch", "data_asset_name": suite_name,
                                              "batch_identifiers": {"files": list(file_ids)}}},
        )
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite_name), run_id, batch)
        store.set(key, suite_result)
    try:
        context.build_data_docs(site_names=[DOCS_SITE])
    finally:
        for key in store.list_keys():
            store.remove_key(key)
    return out / "index.html"
