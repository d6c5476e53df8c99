"""Canonical records of the regulator's registry (contract F.2)."""

from schemas.base import schema

REGISTRY_MINE = schema(
    "registry_mine",
    [("mine_code", "text"), ("mine_name", "text"), ("province", "text"), ("county", "text"),
     ("status", "text"), ("capacity_mtpa", "numeric")],
    key=("mine_code",),
    description="one row per mine as the registry lists it",
)

REGISTRY_AREA = schema(
    "registry_area",
    [("mine_code", "text"), ("area_code", "text"), ("area_name", "text"), ("kind", "text"),
     ("is_declared_active", "boolean")],
    key=("mine_code", "area_code"),
    description="one row per area of a mine, its kind and whether it is a declared working place",
)

REGISTRY_POINT = schema(
    "registry_point",
    [("mine_code", "text"), ("point_code", "text"), ("area_code", "text")],
    key=("mine_code", "point_code"),
    description="one row per safety monitoring point and the area it hangs in",
)

REGISTRY_SEAL = schema(
    "registry_seal",
    [("mine_code", "text"), ("seal_code", "text"), ("area_code", "text"), ("built_on", "date"),
     ("design_ref", "text"), ("camera_id", "text")],
    key=("mine_code", "seal_code"),
    description="one row per seal, the area behind it and the camera that must watch it",
)

REGISTRY_METER = schema(
    "registry_meter",
    [("mine_code", "text"), ("meter_id", "text"), ("usage_point", "text"), ("area_code", "text"),
     ("multiplier", "numeric")],
    key=("mine_code", "meter_id"),
    description="one row per electricity meter and the area it feeds",
)
