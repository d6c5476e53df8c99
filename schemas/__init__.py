"""Canonical record types that every connector yields.

A connector turns vendor bytes into `Record`s (one canonical table each) and
`Reject`s; the load path COPYs records into staging tables named after their
target and merges them into the core schema with the SQL in `sql/merge/`.
Values are plain Python objects (str, int, float, bool, Decimal, datetime,
date, dict for jsonb) or None; their order follows the target's columns.
"""

from schemas.base import SCHEMAS, Block, Column, FileInfo, Record, RecordSchema, Reject, schema

__all__ = ["Block", "Column", "FileInfo", "Record", "RecordSchema", "Reject", "SCHEMAS", "schema"]
