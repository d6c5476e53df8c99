"""Great Expectations suites for every feed, versioned with the parsers they guard.

Each feed has a module here, `expectations/<feed>.py`, with two dicts:

- `TABLES`: canonical table name -> `TableSuite`, the suite `<feed>.<table>` over a
  batch's records (e.g. `safety.safety_readings`);
- `FILES`: file kind -> `FileSuite`, the suite `<feed>.files.<kind>` over one row per
  delivered file (e.g. `safety.files.CDSS`).

A table or file kind without an entry of its own gets the common expectations (schema,
types, natural key; rejected share, record count), so every canonical table is checked.
Adding a feed's suites is one module and one line in `FEEDS`. `expectations/base.py`
says how a suite is written; `minewatch/validation.py` runs them.
"""

from __future__ import annotations

import importlib

FEEDS: dict[str, str] = {
    "registry": "expectations.registry",
    "safety": "expectations.safety",
    "meters": "expectations.meters",
    "explosives": "expectations.explosives",
    "positioning": "expectations.positioning",
    "video": "expectations.video",
}


def _module(feed: str):
    name = FEEDS.get(feed)
    if name is None:
        return None
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # no module of its own yet: the common expectations apply
            return None
        raise


def table_suite(feed: str, schema):
    """The suite of a canonical table (a `schemas.RecordSchema`) delivered by `feed`."""
    from expectations.base import TableSuite

    module = _module(feed)
    found = getattr(module, "TABLES", {}).get(schema.name) if module else None
    return found or TableSuite(feed, schema)


def file_suite(feed: str, kind: str):
    """The suite of one file kind's deliveries."""
    from expectations.base import FileSuite

    module = _module(feed)
    found = getattr(module, "FILES", {}).get(kind) if module else None
    return found or FileSuite(feed, kind)


def all_suites() -> list:
    """Every suite minewatch runs: the tables and file kinds of every stream in the catalog."""
    from connectors.catalog import KINDS, _load

    suites: dict[str, object] = {}
    for kind, (feed, _, ref) in KINDS.items():
        stream = _load(ref)
        fs = file_suite(feed, kind)
        suites.setdefault(fs.name, fs)
        for schema in stream.outputs:
            ts = table_suite(feed, schema)
            suites.setdefault(ts.name, ts)
    return [suites[n] for n in sorted(suites)]
