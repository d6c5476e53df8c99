"""The content-addressed archive: every received file's bytes, kept under their sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive_path(archive_dir: Path, sha256: str) -> Path:
    return archive_dir / "sha256" / sha256[:2] / sha256[2:4] / sha256


_FOLDERS: set[Path] = set()
_STORED: dict[Path, int] = {}  # archive copies this process wrote (and hashed), with their sizes: see fetch
_STORED_AT_MOST = 100_000


def store(archive_dir: Path, data: bytes, sha256: str | None = None, durable: bool = True) -> tuple[str, Path]:
    """Keep `data` in the archive (once per content); return its sha256 and place.

    With durable=False the caller calls `sync()` once for many files before it
    records them as received.
    """
    sha256 = sha256 or sha256_of(data)
    dest = archive_path(archive_dir, sha256)
    if not dest.exists():
        if dest.parent not in _FOLDERS:  # 65,536 folders at most: remember the ones made
            dest.parent.mkdir(parents=True, exist_ok=True)
            _FOLDERS.add(dest.parent)
        tmp = dest.with_name(f".{sha256}.{os.getpid()}.tmp")
        try:
            fh = open(tmp, "wb")  # noqa: SIM115 - closed below
        except FileNotFoundError:  # the folder was removed since it was made
            dest.parent.mkdir(parents=True, exist_ok=True)
            fh = open(tmp, "wb")  # noqa: SIM115
        with fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
        if len(_STORED) >= _STORED_AT_MOST:
            _STORED.clear()
        _STORED[dest] = len(data)
    return sha256, dest


def sync() -> None:
    """Make every archive write so far durable (one flush for a whole chunk of files)."""
    os.sync()


def fetch(archive_dir: Path, sha256: str) -> bytes:
    """The archived bytes of a file, checked against their hash.

    Bytes this process hashed and stored itself moments ago (the same run's registration) are
    not hashed a second time: they come back from the page cache they were just written to.
    """
    path = archive_path(archive_dir, sha256)
    data = path.read_bytes()
    if path in _STORED and len(data) == _STORED[path]:
        return data
    if sha256_of(data) != sha256:
        raise OSError(f"archive copy of {sha256} is corrupt")
    return data
