"""MINEWATCH_RETENTION_DAYS drops whole days of safety readings after an ingest, and only old ones."""

from minewatch.config import load_settings
from minewatch.pipeline import ingest
from tests.conftest import query


def partitions(db) -> list[str]:
    return [r[0] for r in query(db, """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                        WHERE i.inhparent = 'core.safety_reading'::regclass ORDER BY 1""")]


def test_old_days_are_dropped_recent_ones_kept(db, monkeypatch):
    query(db, "SELECT core.ensure_safety_reading_partitions('2020-01-01 08:00+08', '2020-01-01 09:00+08')")
    query(db, "SELECT core.ensure_safety_reading_partitions(now() - interval '1 hour', now())")
    before = partitions(db)
    assert len(before) >= 2
    ingest(db, load_settings(), [])  # no retention setting: nothing is dropped
    assert partitions(db) == before
    monkeypatch.setenv("MINEWATCH_RETENTION_DAYS", "30")
    ingest(db, load_settings(), [])
    after = partitions(db)
    assert not any("2020" in name for name in after)
    assert len(after) == len(before) - 1
