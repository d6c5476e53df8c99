"""Settings, read from the environment once per process.

| variable | meaning | default |
| --- | --- | --- |
| MINEWATCH_WAREHOUSE_URL | PostgreSQL URL of the warehouse | the embedded server under MINEWATCH_HOME |
| MINEWATCH_HOME | minewatch's own state: embedded server, archive, outbox, Airflow home | `.minewatch` in the project |
| MINEWATCH_ARCHIVE | content-addressed archive of every received file | `$MINEWATCH_HOME/archive` |
| MINEWATCH_OUTBOX | alert mail written as .eml when no SMTP server is set | `$MINEWATCH_HOME/outbox` |
| MINEWATCH_STALE_AFTER_S | how long an untrailered file may stay unchanged before it is quarantined as truncated | 900 |
| MINEWATCH_STATEMENT_TIMEOUT_S | statement_timeout of every warehouse session | 600 |
| MINEWATCH_RETENTION_DAYS | drop safety readings partitions (whole China-local days) older than this after each ingest; unset = keep all | unset |
| MINEWATCH_BATCH_FILES | at most this many landing files of one mine and kind load in one transaction | 5000 |
| MINEWATCH_BATCH_MB | ... and at most about this many megabytes of them (validated and COPYed together) | 24 |
| MINEWATCH_OVERLAP | commit each batch on a second connection while the next one is parsed (`0`: one thread) | 1 |
| MINEWATCH_VALIDATE | run the expectation suites between parsing and committing (`0` turns them off) | 1 |
| MINEWATCH_DATA_DOCS | where `minewatch quality docs` writes Data Docs | `$MINEWATCH_HOME/data_docs` |
| MINEWATCH_SMTP_HOST | SMTP server for alert mail (else Airflow connection `minewatch_smtp`, else the outbox) | none |
| MINEWATCH_SMTP_PORT | its port | 587 with starttls, 465 with ssl, else 25 |
| MINEWATCH_SMTP_TLS | `none`, `starttls` or `ssl` | starttls |
| MINEWATCH_SMTP_USER, MINEWATCH_SMTP_PASSWORD | login, when the server wants one | none |
| MINEWATCH_ALERT_FROM | sender of alert mail | `minewatch@localhost` |
| MINEWATCH_ALERT_TO | recipients of alert mail, comma-separated | `minewatch-alerts@localhost` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


def project_root() -> Path:
    """The project folder: the source checkout when installed editable, else the working directory."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() and (here / "sql").is_dir():
        return here
    return Path.cwd()


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    """Every setting minewatch reads, resolved."""

    warehouse_url: str | None
    home: Path
    archive_dir: Path
    outbox_dir: Path
    stale_after_s: float
    statement_timeout_s: float
    batch_files: int
    batch_bytes: int = 24 * 1024 * 1024
    validate: bool = True
    overlap: bool = True
    data_docs_dir: Path | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_tls: str = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    alert_from: str = "minewatch@localhost"
    alert_to: tuple[str, ...] = ("minewatch-alerts@localhost",)
    retention_days: float | None = None

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"


def load_settings() -> Settings:
    """Read the settings from the environment."""
    home = Path(os.environ.get("MINEWATCH_HOME") or project_root() / ".minewatch").resolve()
    return Settings(
        warehouse_url=os.environ.get("MINEWATCH_WAREHOUSE_URL") or None,
        home=home,
        archive_dir=Path(os.environ.get("MINEWATCH_ARCHIVE") or home / "archive").resolve(),
        outbox_dir=Path(os.environ.get("MINEWATCH_OUTBOX") or home / "outbox").resolve(),
        stale_after_s=_float("MINEWATCH_STALE_AFTER_S", 900.0),
        statement_timeout_s=_float("MINEWATCH_STATEMENT_TIMEOUT_S", 600.0),
        batch_files=int(_float("MINEWATCH_BATCH_FILES", 5000)),
        batch_bytes=int(_float("MINEWATCH_BATCH_MB", 24) * 1024 * 1024),
        retention_days=_float("MINEWATCH_RETENTION_DAYS", 0.0) or None,
        validate=_flag("MINEWATCH_VALIDATE"),
        overlap=_flag("MINEWATCH_OVERLAP"),
        data_docs_dir=Path(os.environ.get("MINEWATCH_DATA_DOCS") or home / "data_docs").resolve(),
        smtp_host=os.environ.get("MINEWATCH_SMTP_HOST") or None,
        smtp_port=int(_float("MINEWATCH_SMTP_PORT", 0)) or None,
        smtp_tls=_choice("MINEWATCH_SMTP_TLS", ("none", "starttls", "ssl"), "starttls"),
        smtp_user=os.environ.get("MINEWATCH_SMTP_USER") or None,
        smtp_password=os.environ.get("MINEWATCH_SMTP_PASSWORD") or None,
        alert_from=os.environ.get("MINEWATCH_ALERT_FROM") or "minewatch@localhost",
        alert_to=tuple(a.strip() for a in (os.environ.get("MINEWATCH_ALERT_TO") or "minewatch-alerts@localhost")
                       .split(",") if a.strip()),
    )


def _flag(name: str, default: str = "1") -> bool:
    return os.environ.get(name, default).strip().lower() not in ("0", "false", "no", "off")


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in allowed:
        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(allowed)}")
    return raw
