"""The regulator's registry files (contract F.2): mines, areas, points, seals, meters.

Each file is a full snapshot of the mines it lists. Codes are checked
against the national structure: a mine is 6 to 20 digits, an area is its
mine's code plus 4 digits (contract C.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation

from connectors.base import FileContext, Item, Stream
from connectors.csvfile import read_csv
from schemas import Record, Reject
from schemas.registry import REGISTRY_AREA, REGISTRY_METER, REGISTRY_MINE, REGISTRY_POINT, REGISTRY_SEAL

MINE_CODE = re.compile(r"^\d{6,20}$")
MINE_STATUSES = {"producing", "construction", "rectification", "suspended"}
AREA_KINDS = {"working_face", "heading", "roadway", "shaft", "sealed", "goaf"}
TRUE_WORDS = {"true", "t", "1", "yes", "y", "是"}
FALSE_WORDS = {"false", "f", "0", "no", "n", "否", ""}


class BadValue(ValueError):
    """A field that cannot be read; carries the contract I.1 reason code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _mine(v: str) -> str:
    if not MINE_CODE.match(v):
        raise BadValue("bad_number", f"mine_code {v!r} is not 6 to 20 digits")
    return v


def _area(v: str, mine: str) -> str:
    if not re.fullmatch(r"\d+", v) or len(v) != len(mine) + 4:
        raise BadValue("bad_number", f"area_code {v!r} is not the mine code plus 4 digits")
    if not v.startswith(mine):
        raise BadValue("mine_mismatch", f"area_code {v} does not belong to mine {mine}")
    return v


def _decimal(v: str, name: str, positive: bool = False) -> Decimal | None:
    if v == "":
        if positive:
            raise BadValue("bad_number", f"{name} is empty")
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise BadValue("bad_number", f"{name} {v!r} is not a number") from None
    if not d.is_finite() or (positive and d <= 0) or d < 0:
        raise BadValue("bad_number", f"{name} {v!r} is out of range")
    return d


def _one_of(v: str, allowed: set[str], name: str) -> str:
    if v not in allowed:
        raise BadValue("expectation_failed", f"{name} {v!r} is not one of {', '.join(sorted(allowed))}")
    return v


def _bool(v: str, name: str) -> bool:
    low = v.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise BadValue("expectation_failed", f"{name} {v!r} is not true or false")


def _date(v: str, name: str) -> date | None:
    if v == "":
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise BadValue("bad_time", f"{name} {v!r} is not a yyyy-mm-dd date") from None


def _text(v: str) -> str | None:
    return v or None


class RegistryStream(Stream):
    """One registry CSV: declared columns, a row converter, one canonical output."""

    feed = "registry"
    columns: tuple[str, ...] = ()
    convert: Callable[[dict[str, str]], tuple]

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        target = self.outputs[0]
        key_width = len(target.key)
        seen: set[tuple] = set()
        for record_no, row, raw in read_csv(data, self.columns):
            if row is None:
                yield Reject(record_no, "field_count", raw, f"expected {len(self.columns)} fields")
                continue
            try:
                values = self.convert(row)
            except BadValue as exc:
                yield Reject(record_no, exc.reason, raw, exc.detail)
                continue
            key = values[:key_width]
            if key in seen:
                yield Reject(record_no, "duplicate_key", raw, f"{'/'.join(map(str, key))} listed twice in this file")
                continue
            seen.add(key)
            yield Record(target.name, record_no, values)


class MinesStream(RegistryStream):
    """registry/mines.csv."""

    kind = "mines"
    outputs = (REGISTRY_MINE,)
    columns = ("mine_code", "mine_name", "province", "county", "status", "capacity_mtpa")

    @staticmethod
    def convert(r: dict[str, str]) -> tuple:
        if not r["mine_name"]:
            raise BadValue("field_count", "mine_name is empty")
        return (_mine(r["mine_code"]), r["mine_name"], _text(r["province"]), _text(r["county"]),
                _one_of(r["status"], MINE_STATUSES, "status"), _decimal(r["capacity_mtpa"], "capacity_mtpa"))


class AreasStream(RegistryStream):
    """registry/areas.csv."""

    kind = "areas"
    outputs = (REGISTRY_AREA,)
    columns = ("mine_code", "area_code", "area_name", "kind", "declared_active")

    @staticmethod
    def convert(r: dict[str, str]) -> tuple:
        mine = _mine(r["mine_code"])
        return (mine, _area(r["area_code"], mine), _text(r["area_name"]),
                _one_of(r["kind"], AREA_KINDS, "kind"), _bool(r["declared_active"], "declared_active"))


class PointsStream(RegistryStream):
    """registry/points.csv."""

    kind = "points"
    outputs = (REGISTRY_POINT,)
    columns = ("mine_code", "point_code", "area_code")

    @staticmethod
    def convert(r: dict[str, str]) -> tuple:
        mine = _mine(r["mine_code"])
        if not r["point_code"] or len(r["point_code"]) > 28:
            raise BadValue("field_count", f"point_code {r['point_code']!r} is empty or longer than 28 characters")
        return (mine, r["point_code"], _area(r["area_code"], mine))


class SealsStream(RegistryStream):
    """registry/seals.csv."""

    kind = "seals"
    outputs = (REGISTRY_SEAL,)
    columns = ("mine_code", "seal_code", "area_code", "built_on", "design_ref", "camera_id")

    @staticmethod
    def convert(r: dict[str, str]) -> tuple:
        mine = _mine(r["mine_code"])
        if not r["seal_code"]:
            raise BadValue("field_count", "seal_code is empty")
        return (mine, r["seal_code"], _area(r["area_code"], mine), _date(r["built_on"], "built_on"),
                _text(r["design_ref"]), _text(r["camera_id"]))


class MetersStream(RegistryStream):
    """registry/meters.csv."""

    kind = "meters"
    outputs = (REGISTRY_METER,)
    columns = ("mine_code", "meter_id", "usage_point", "area_code", "multiplier")

    @staticmethod
    def convert(r: dict[str, str]) -> tuple:
        mine = _mine(r["mine_code"])
        if not r["meter_id"]:
            raise BadValue("field_count", "meter_id is empty")
        return (mine, r["meter_id"], _text(r["usage_point"]), _area(r["area_code"], mine),
                _decimal(r["multiplier"], "multiplier", positive=True))


# registry files are matched by base name wherever they lie (contract J)
STREAMS: dict[str, type[RegistryStream]] = {
    "mines.csv": MinesStream,
    "areas.csv": AreasStream,
    "points.csv": PointsStream,
    "seals.csv": SealsStream,
    "meters.csv": MetersStream,
}
