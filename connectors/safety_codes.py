"""Safety monitoring code tables: sensor types (B.4), status bits (B.5, B.6), abnormal types.

Both dialects' status bits map onto one set of named conditions, stored as a
smallint bitmask in the warehouse column `conditions`:

    alarm=1  power_cut=2  feed_abnormal=4  fault=8  calibrating=16  over_range=32  switched_off=64

(the canonical bits happen to equal the provincial bits of B.6, which makes a
provincial status readable as-is). Detection tests a condition with
`conditions & 64 <> 0`; `condition_names(mask)` names them. Bits the contract
does not define (national >= 256, provincial >= 128) map to nothing; the raw
status column keeps them.
"""

from __future__ import annotations

from typing import NamedTuple

ALARM = 1
POWER_CUT = 2
FEED_ABNORMAL = 4
FAULT = 8
CALIBRATING = 16
OVER_RANGE = 32
SWITCHED_OFF = 64

CONDITIONS: dict[str, int] = {
    "alarm": ALARM,
    "power_cut": POWER_CUT,
    "feed_abnormal": FEED_ABNORMAL,
    "fault": FAULT,
    "calibrating": CALIBRATING,
    "over_range": OVER_RANGE,
    "switched_off": SWITCHED_OFF,
}

# B.5: national bit -> canonical condition
NATIONAL_BITS: dict[int, int] = {
    1: ALARM,
    2: POWER_CUT,
    4: CALIBRATING,
    8: OVER_RANGE,
    16: FAULT,  # outstation fault
    32: SWITCHED_OFF,  # not polled
    64: SWITCHED_OFF,  # paused
    128: FAULT,  # sensor fault
}

# B.6: provincial bit -> canonical condition
PROVINCIAL_BITS: dict[int, int] = {
    1: ALARM,
    2: POWER_CUT,
    4: FEED_ABNORMAL,
    8: FAULT,  # disconnected / fault
    16: CALIBRATING,
    32: OVER_RANGE,
    64: SWITCHED_OFF,  # masked by the operator
}


def _table(bits: dict[int, int], size: int) -> tuple[int, ...]:
    out = []
    for raw in range(size):
        mask = 0
        for bit, cond in bits.items():
            if raw & bit:
                mask |= cond
        out.append(mask)
    return tuple(out)


_NATIONAL = _table(NATIONAL_BITS, 256)
_PROVINCIAL = _table(PROVINCIAL_BITS, 128)


def national_conditions(status: int | None) -> int | None:
    """Canonical condition mask of a national (B.5) status; None when the status is missing."""
    if status is None:
        return None
    return _NATIONAL[status & 255]


def provincial_conditions(status: int | None) -> int | None:
    """Canonical condition mask of a provincial (B.6) status; None when the status is missing."""
    if status is None:
        return None
    return _PROVINCIAL[status & 127]


def condition_names(mask: int | None) -> tuple[str, ...]:
    """Names of the conditions set in a canonical mask, in canonical bit order."""
    if not mask:
        return ()
    return tuple(name for name, bit in CONDITIONS.items() if mask & bit)


def conditions_mask(names) -> int:
    """Canonical mask of condition names (inverse of `condition_names`)."""
    mask = 0
    for name in names:
        mask |= CONDITIONS[name]
    return mask


# YCBJ abnormal types (B.1): code -> (name, canonical condition it stands for, 0 if none)
ABNORMAL_TYPES: dict[str, tuple[str, int]] = {
    "001": ("over_limit_alarm", ALARM),
    "002": ("power_cut_alarm", POWER_CUT),
    "003": ("feed_abnormal", FEED_ABNORMAL),
    "004": ("sensor_disconnected", FAULT),
    "005": ("outstation_power_loss", FAULT),
    "006": ("outstation_unreachable", FAULT),
    "007": ("calibrating", CALIBRATING),
    "008": ("over_range", OVER_RANGE),
    "009": ("upper_early_warning", 0),
    "010": ("lower_early_warning", 0),
}


def abnormal_conditions(abnormal_type: str) -> int | None:
    """Canonical condition mask an abnormal type stands for; None for an unknown type."""
    entry = ABNORMAL_TYPES.get(abnormal_type)
    return None if entry is None else entry[1]


# FZSS / JZSS codes (B.1)
RUN_STATUS = {0: "communicating", 1: "interrupted", 2: "fault", 9: "unknown"}
POWER_STATUS = {0: "dc_battery", 1: "ac_mains", 2: "power_fault", 9: "unknown"}


class SensorType(NamedTuple):
    """What a sensor type code (B.4) says: quantity, unit, kind and whether the code is known."""

    code: str
    quantity: str | None
    unit: str | None
    kind: str  # analog, switch, cumulative, outstation, unknown
    known: bool


_B4 = {
    "0001": ("methane", "%CH4", "analog"),
    "0002": ("wind_speed", "m/s", "analog"),
    "0003": ("temperature", "℃", "analog"),
    "0004": ("carbon_monoxide", "ppm", "analog"),
    "0005": ("wind_pressure", "Pa", "analog"),
    "0006": ("negative_pressure", "kPa", "analog"),
    "0012": ("oxygen", "%O2", "analog"),
    "0013": ("carbon_dioxide", "%CO2", "analog"),
    "0014": ("dust", "mg/m³", "analog"),
    "0019": ("air_volume", "m³/min", "analog"),
    "1001": ("local_fan_running", None, "switch"),
    "1002": ("air_door", None, "switch"),
    "1004": ("equipment_running", None, "switch"),
    "1009": ("power_cutoff_device", None, "switch"),
    "1010": ("main_fan_running", None, "switch"),
    "1011": ("feed_sensor", None, "switch"),
}

# other known codes, by range (B.4): (low, high, kind)
_RANGES = ((1, 53, "analog"), (1001, 1015, "switch"), (3001, 3005, "cumulative"), (4001, 4002, "outstation"))

SENSOR_TYPES: dict[str, SensorType] = {c: SensorType(c, q, u, k, True) for c, (q, u, k) in _B4.items()}


def normalize_sensor_type(code: str | None) -> str | None:
    """A sensor type code as 4 digits (`1` -> `0001`); other text is kept stripped; empty -> None."""
    if code is None:
        return None
    code = code.strip()
    if not code:
        return None
    if code.isascii() and code.isdigit() and len(code) < 4:
        return code.zfill(4)
    return code


def sensor_type(code: str | None) -> SensorType:
    """Look a sensor type code up in B.4; an unknown code comes back with known=False."""
    code = normalize_sensor_type(code)
    if code is None:
        return SensorType("", None, None, "unknown", False)
    found = SENSOR_TYPES.get(code)
    if found is not None:
        return found
    if code.isascii() and code.isdigit() and len(code) == 4:
        n = int(code)
        for low, high, kind in _RANGES:
            if low <= n <= high:
                return SensorType(code, None, None, kind, True)
    return SensorType(code, None, None, "unknown", False)


# national value types (B.1)
VALUE_TYPES = {"MN": "analog", "KG": "switch", "LJ": "cumulative", "DT": "multistate"}
