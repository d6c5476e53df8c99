"""Explosives ledger (contract F.1): `{mine}_explosives_{yyyyMMdd}.csv`.

Header row `record_id,issued_at,area_code,explosive_kg,detonators,returned_kg,returned_detonators`
(columns by name; encoding per J). One record per issue; the mine is the file
name's. Net use (issued - returned) is computed here; an empty returned
quantity means nothing returned, an empty issued quantity is unknown (NULL).
Rejects: a ledger cannot return more than it issued (bad_number), a negative
or fractional count (bad_number), a time that is no time (bad_time), a
record_id seen earlier in the file (duplicate_key), an area code of another
mine (mine_mismatch). An area code the registry does not know is kept: that is
evidence for detection, not a parse error.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from connectors.base import FileContext, FileRejected, Item, Stream
from connectors.csvfile import read_csv
from connectors.networking import FieldError, local_time
from schemas import FileInfo, Record, Reject
from schemas.explosives import EXPLOSIVES_ISSUES

COLUMNS = ("record_id", "issued_at", "area_code", "explosive_kg", "detonators", "returned_kg", "returned_detonators")


class _Bad(ValueError):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _kg(text: str, name: str) -> Decimal | None:
    if not text:
        return None
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise _Bad("bad_number", f"{name} {text!r} is not a number") from None
    if not v.is_finite() or v < 0:
        raise _Bad("bad_number", f"{name} {text!r} is not a quantity (negative or not finite)")
    return v


def _count(text: str, name: str) -> int | None:
    v = _kg(text, name)
    if v is None:
        return None
    if v != v.to_integral_value():
        raise _Bad("bad_number", f"{name} {text!r} is not a whole number")
    return int(v)


def _net(issued, returned, name: str):
    if issued is None:
        return None
    if returned is None:
        return issued
    if returned > issued:
        raise _Bad("bad_number", f"returned {name} {returned} is more than issued {issued}")
    return issued - returned


class ExplosivesStream(Stream):
    """Explosives issues of one mine's daily ledger (F.1)."""

    feed = "explosives"
    kind = "explosives"
    outputs = (EXPLOSIVES_ISSUES,)

    def read(self, data: bytes, ctx: FileContext) -> Iterator[Item]:
        mine = ctx.mine_code  # the catalog takes it from the file name
        if mine is None:
            raise FileRejected("mine_mismatch", f"file name {ctx.name!r} carries no mine code")
        rows = read_csv(data, COLUMNS)
        yield FileInfo(mine_code=mine, extra={"file_date": ctx.stamp.date() if ctx.stamp else None})
        target = EXPLOSIVES_ISSUES.name
        seen: dict[str, int] = {}
        area_width = len(mine) + 4
        for no, row, raw in rows:
            if row is None:
                yield Reject(no, "field_count", raw, f"expected the {len(COLUMNS)} ledger columns")
                continue
            record_id, area = row["record_id"], row["area_code"]
            try:
                if not record_id:
                    raise _Bad("field_count", "record_id is empty")
                if not area:
                    raise _Bad("field_count", "area_code is empty")
                if area.isdigit() and len(area) == area_width and not area.startswith(mine):
                    raise _Bad("mine_mismatch", f"area_code {area} is not an area of mine {mine}")
                try:
                    issued_at = local_time(row["issued_at"], "issued_at")
                except FieldError as exc:
                    raise _Bad(exc.reason, str(exc)) from None
                if issued_at is None:
                    raise _Bad("bad_time", "issued_at is empty")
                kg = _kg(row["explosive_kg"], "explosive_kg")
                det = _count(row["detonators"], "detonators")
                if kg is None and det is None:
                    raise _Bad("bad_number", "neither explosive_kg nor detonators is given")
                ret_kg = _kg(row["returned_kg"], "returned_kg")
                ret_det = _count(row["returned_detonators"], "returned_detonators")
                net_kg = _net(kg, ret_kg, "kg")
                net_det = _net(det, ret_det, "detonators")
            except _Bad as exc:
                yield Reject(no, exc.reason, raw, str(exc))
                continue
            first = seen.get(record_id)
            if first is not None:
                yield Reject(no, "duplicate_key", raw, f"record_id {record_id} already on line {first}")
                continue
            seen[record_id] = no
            yield Record(target, no, (mine, record_id, issued_at, area, kg, det, ret_kg, ret_det, net_kg, net_det))


STREAMS: dict[str, type[Stream]] = {ExplosivesStream.kind: ExplosivesStream}


