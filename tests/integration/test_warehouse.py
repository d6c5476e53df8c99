"""Migrations, roles and the embedded/configured warehouse, against a real PostgreSQL."""

import psycopg2
import pytest

from minewatch.warehouse import WarehouseError, applied_versions, connect, migrations, upgrade
from tests.conftest import query


def test_upgrade_twice_is_a_no_op(warehouse_url):
    conn = connect(warehouse_url)
    first = upgrade(conn)
    assert [m.version for m in first] == [m.version for m in migrations()]
    tables_before = query(conn, "SELECT count(*) FROM pg_tables WHERE schemaname IN ('ledger','core','quarantine')")
    second = upgrade(conn)
    assert second == []
    assert applied_versions(conn) == [m.version for m in migrations()]
    assert query(conn, "SELECT count(*) FROM meta.schema_migration")[0][0] == len(first)
    assert query(conn, "SELECT count(*) FROM pg_tables WHERE schemaname IN ('ledger','core','quarantine')") == tables_before
    conn.close()


def test_contract_objects_exist(db):
    cols = query(db, """SELECT column_name FROM information_schema.columns
                         WHERE table_schema = 'mart' AND table_name = 'flags' ORDER BY ordinal_position""")
    assert [c[0] for c in cols] == ["flag_id", "mine_code", "flag_code", "subject_kind", "subject_code", "area_code",
                                    "started_at", "ended_at", "severity", "evidence"]
    cols = query(db, """SELECT column_name FROM information_schema.columns
                         WHERE table_schema = 'mart' AND table_name = 'mine_day_risk' ORDER BY ordinal_position""")
    assert [c[0] for c in cols] == ["mine_code", "day", "risk_score", "flags_by_code", "verify_unsealing", "reasons"]
    roles = query(db, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'minewatch_%' ORDER BY 1")
    assert [r[0] for r in roles] == ["minewatch_bi", "minewatch_loader", "minewatch_owner"]


def test_bi_role_reads_mart_only(db):
    with db.cursor() as cur:
        cur.execute("SET ROLE minewatch_bi")
        cur.execute("SELECT count(*) FROM mart.flags")
        assert cur.fetchone()[0] == 0
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT count(*) FROM core.area")
    db.rollback()
    with db.cursor() as cur:
        cur.execute("SET ROLE minewatch_bi")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT count(*) FROM ledger.file")
    db.rollback()


def test_a_newer_warehouse_is_refused(db):
    with db, db.cursor() as cur:
        cur.execute("INSERT INTO meta.schema_migration (version, name, checksum) VALUES (9999, 'from_the_future', 'x')")
    with pytest.raises(WarehouseError, match="newer than this minewatch"):
        upgrade(db)


def test_unreachable_server_is_one_line():
    with pytest.raises(WarehouseError) as exc:
        connect("postgresql://postgres@127.0.0.1:1/nowhere")
    assert "cannot reach the warehouse" in str(exc.value)
    assert "\n" not in str(exc.value)
