"""The suites of expectations/: every canonical table has one, each builds, and they catch what they are for."""

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta, timezone

import pytest

import expectations
import schemas
from connectors.catalog import match
from minewatch.load import Delivery, Spool
from minewatch.validation import ValidationFailed, _Gx, frame, validate_batch
from schemas import SCHEMAS, FileInfo

CN = timezone(timedelta(hours=8))
MINE = "140211001234"
FEED_OF = {"registry": "registry", "safety": "safety", "meter": "meters", "explosives": "explosives",
           "positioning": "positioning", "video": "video"}


def _all_schemas():
    for info in pkgutil.iter_modules(schemas.__path__):
        if info.name != "base":
            importlib.import_module(f"schemas.{info.name}")
    return dict(SCHEMAS)


def test_every_canonical_table_has_its_own_suite_and_each_builds():
    gx = _Gx.get()
    for name, schema in _all_schemas().items():
        feed = FEED_OF[name.split("_")[0]]
        spec = expectations.table_suite(feed, schema)
        assert spec.name == f"{feed}.{name}"
        module = importlib.import_module(expectations.FEEDS[feed])
        assert name in module.TABLES, f"{name} has no suite of its own in {module.__name__}"
        suite = gx.suite(spec)
        checks = [e.meta["check"] for e in suite.expectations]
        assert {"types", "key_present", "key_unique"} <= set(checks)
        for e in suite.expectations:
            assert e.description, (spec.name, e.meta)
            assert e.severity.value in ("critical", "warning")


def test_every_file_kind_of_the_catalog_has_a_file_suite():
    from connectors.catalog import KINDS

    for kind, (feed, _, _) in KINDS.items():
        module = importlib.import_module(expectations.FEEDS[feed])
        assert kind in module.FILES, f"{feed} kind {kind} has no file suite"
        assert _Gx.get().suite(module.FILES[kind]).expectations


class _Settings:
    validate = True


class _Path:
    """What validate_batch needs of the load path (no warehouse: national point codes say their sensor type)."""

    settings = _Settings()
    accept_failed_expectations = False
    conn = None


def _cdss_batch(files: list[list[float]], status: int = 0):
    readings = Spool()
    batch, parsed = [], {}
    for n, values in enumerate(files, 1):
        up = datetime(2026, 3, 18, 8, 0, 10 * n, tzinfo=CN)
        m = match(f"{MINE}_CDSS_{up:%Y%m%d%H%M%S}.txt")
        batch.append(Delivery(n, f"/landing/{m.context.name}", "0" * 64, m))
        for i, v in enumerate(values, 1):
            readings.write(f"{n}\t{i}\t", (MINE, f"{MINE}01MN0001{i:03d}A01", up - timedelta(seconds=5), v, status,
                                          status and 8, "national"))
        parsed[n] = (len(values), 0, FileInfo(MINE, up))
    return batch, {"safety_readings": readings}, parsed


def test_frame_reads_copy_text_with_types():
    spool = Spool()
    spool.write("7\t3\t", (MINE, "a\tb", datetime(2026, 3, 18, 8, 0, tzinfo=CN), None, 5, 1, "national"))
    df = frame(spool, [(c.name, c.pg_type) for c in SCHEMAS["safety_readings"].columns])
    row = df.iloc[0]
    assert (row["file_id"], row["record_no"], row["point_code"], row["raw_status"]) == (7, 3, "a\\tb", 5.0)
    assert row["sampled_at"] == datetime(2026, 3, 18, 0, 0, tzinfo=UTC)
    assert row["value"] != row["value"] and row["type_errors"] == 0  # NULL is NaN, not an error
    spool.buf.seek(0, 2)
    assert spool.rows == 1  # the spool is left as it was, ready for COPY


def test_good_readings_pass():
    batch, spools, parsed = _cdss_batch([[0.12, 0.3, 0.05, 0.4, 0.2, 0.08]] * 3)
    verdict = validate_batch(_Path(), batch, spools, Spool(), parsed)
    failed = verdict.failed("critical") + verdict.failed("warning")
    assert verdict.outcome == "passed", [(s, c.line()) for s, c in failed]


def test_ppm_in_one_file_of_a_batch_fails_the_batch():
    batch, spools, parsed = _cdss_batch([[0.12, 0.3, 0.05, 0.4, 0.2, 0.08]] * 3 + [[1200, 3000, 500, 4000, 2000, 800]])
    with pytest.raises(ValidationFailed, match="4 CDSS files failed a critical expectation"):
        validate_batch(_Path(), batch, spools, Spool(), parsed)


def test_one_file_all_zero_is_held_and_says_why():
    batch, spools, parsed = _cdss_batch([[0.0] * 6])
    verdict = validate_batch(_Path(), batch, spools, Spool(), parsed)
    assert verdict.held
    ((suite, check),) = verdict.failed("critical")
    assert (suite, check.check) == ("safety.files.CDSS", "analog_not_all_zero")
    assert check.observed.endswith("analog zero share 100%")
    assert [s["record_no"] for s in check.sample] == [1, 2, 3]


def test_a_batch_of_faults_is_held_but_masking_only_warns():
    batch, spools, parsed = _cdss_batch([[0.1] * 6], status=128)  # every reading: sensor fault
    assert validate_batch(_Path(), batch, spools, Spool(), parsed).held
    # four of six points switched off (national 32, not polled): evidence for detection, so it loads
    batch, _, parsed = _cdss_batch([[0.1] * 6])
    readings = Spool()
    for i in range(1, 7):
        masked = i <= 4
        readings.write(f"1\t{i}\t", (MINE, f"{MINE}01MN0001{i:03d}A01", datetime(2026, 3, 18, 8, 0, 5, tzinfo=CN),
                                      0.1 * i, 32 if masked else 0, 64 if masked else 0, "national"))
    verdict = validate_batch(_Path(), batch, {"safety_readings": readings}, Spool(), parsed)
    assert verdict.outcome == "warning"
    assert [c.check for _, c in verdict.failed("warning")] == ["switched_off_share"]


def test_a_huge_table_is_validated_on_a_systematic_sample(monkeypatch):
    import minewatch.validation as validation

    monkeypatch.setattr(validation, "MAX_ROWS", 10)
    spool = Spool()
    for i in range(1, 101):
        spool.write(f"1\t{i}\t", (MINE, f"P{i}", datetime(2026, 3, 18, 8, 0, tzinfo=CN), float(i), 0, 0, "csv"))
    df = frame(spool, [(c.name, c.pg_type) for c in SCHEMAS["safety_readings"].columns])
    assert list(df["record_no"]) == list(range(1, 101, 10))


def test_repeated_keys_are_what_pandas_calls_duplicated_whatever_the_column_types(monkeypatch):
    import numpy as np
    import pandas as pd

    from expectations import base

    t = pd.Timestamp("2026-03-18 08:00", tz="UTC")
    df = pd.DataFrame({
        "file_id": [1, 1, 1, 2, 1, 1, 1],
        "point": pd.Categorical(["a", "a", None, "a", None, "b", "a"]),
        "at": [t, t, t, t, t, pd.NaT, t + pd.Timedelta(seconds=10)],
        "text": ["x", "x", "y", "x", "y", None, "x"],
    })
    expected = df.duplicated().to_numpy().astype(np.int8)
    assert expected.tolist() == [0, 1, 0, 0, 1, 0, 0]
    assert base._repeated(df, list(df.columns)).tolist() == expected.tolist()
    monkeypatch.setattr(base, "_FOLD_AT", 4)  # codes refolded at every column: the same answer
    assert base._repeated(df, list(df.columns)).tolist() == expected.tolist()
