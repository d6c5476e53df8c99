"""Canonical records of the explosives ledger (contract F.1)."""

from __future__ import annotations

from schemas.base import schema

EXPLOSIVES_ISSUES = schema(
    "explosives_issues",
    [
        ("mine_code", "text"),  # from the file name
        ("record_id", "text"),
        ("issued_at", "timestamptz"),
        ("area_code", "text"),
        ("explosive_kg", "numeric"),
        ("detonators", "integer"),
        ("returned_kg", "numeric"),  # NULL: nothing returned (yet)
        ("returned_detonators", "integer"),
        ("net_kg", "numeric"),  # explosive_kg - returned_kg (returned NULL counts as 0)
        ("net_detonators", "integer"),
    ],
    key=("mine_code", "record_id"),
    description="one row per explosives issue (火工品领用) of a mine's ledger, issued and returned quantities "
    "and the net use; the area is as the ledger names it (an unknown area is itself evidence)",
)
