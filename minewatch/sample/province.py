"""The sample province: mines with their areas, points, outstations, stations, persons, cameras, seals and meters.

Everything here is derived from the seed alone (random.Random instances, never
the clock), so one seed always describes the same province.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))
DAY = 86400
SHIFT = 8 * 3600
# shifts 0, 1, 2 run 00-08, 08-16, 16-24 (三八制); in shift 1 (检修班) the faces are serviced, not cut
MAINTENANCE_SHIFT = 1

PROVINCE = "河南省"
COUNTIES = (
    ("平顶山市卫东区", "410403"),
    ("平顶山市石龙区", "410404"),
    ("郑州市登封市", "410185"),
    ("焦作市中站区", "410803"),
    ("鹤壁市鹤山区", "410602"),
)
MINE_NAMES = (
    "新华",
    "东风",
    "红星",
    "大庄",
    "石门",
    "白庙",
    "青山",
    "龙泉",
    "金岭",
    "福兴",
    "杨村",
    "马坡",
    "王庄",
    "梁北",
    "朝川",
    "韩梁",
    "大平",
    "告成",
    "超化",
    "裴沟",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = (
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子"
    "杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮"
    "政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航"
    "弘"
)
EDUCATION = ("初中", "高中", "中专", "大专", "本科")

# B.4: code -> (name, unit, value type, decimals, range_low, range_high, alarm_high, alarm_clear, cutoff, restore)
SENSOR_TYPES: dict[str, tuple] = {
    "0001": ("甲烷", "%CH4", "MN", 2, 0.0, 4.0, 1.00, 0.90, 1.50, 1.00),
    "0002": ("风速", "m/s", "MN", 2, 0.0, 15.0, 8.00, 7.50, None, None),
    "0003": ("温度", "℃", "MN", 1, 0.0, 50.0, 30.0, 29.0, None, None),
    "0004": ("一氧化碳", "ppm", "MN", 0, 0.0, 500.0, 24, 20, None, None),
    "0006": ("负压", "kPa", "MN", 2, 0.0, 10.0, 5.00, 4.80, None, None),
    "0012": ("氧气", "%O2", "MN", 1, 0.0, 25.0, None, None, None, None),
    "0019": ("风量", "m³/min", "MN", 0, 0.0, 10000.0, None, None, None, None),
    "1001": ("局扇", "", "KG", 0, 0, 1, None, None, None, None),
    "1004": ("设备开停", "", "KG", 0, 0, 1, None, None, None, None),
    "1009": ("断电器", "", "KG", 0, 0, 1, None, None, None, None),
    "1010": ("主通风机", "", "KG", 0, 0, 1, None, None, None, None),
    "1011": ("馈电器", "", "KG", 0, 0, 1, None, None, None, None),
}
SWITCH_LABELS = {
    "1001": ("停", "开"),
    "1004": ("停", "开"),
    "1009": ("复电", "断电"),
    "1010": ("停", "开"),
    "1011": ("无电", "有电"),
}

# area kind -> (RYQY type, base kW, working kW at full level)
AREA_KINDS = {
    "shaft": ("井口区域", 620.0, 880.0),
    "roadway": ("其它区域", 210.0, 480.0),
    "working_face": ("重点区域", 120.0, 1650.0),
    "heading": ("重点区域", 45.0, 380.0),
    "sealed": ("限制区域", 0.4, 0.0),
    "goaf": ("限制区域", 0.2, 0.0),
}
CONCEALED_KW = 920.0  # what a concealed face behind a seal draws at full level
IDLE_FACE_KW = 3.0  # an equipped face that is not declared and not worked


def make_rng(*parts: object) -> random.Random:
    """A deterministic random stream named by its parts (a simulation, not secrets)."""
    return random.Random(":".join(map(str, parts)))  # noqa: S311


def day_start(d: date) -> int:
    """Epoch seconds of local midnight (UTC+8) of a day."""
    return int(datetime(d.year, d.month, d.day, tzinfo=CST).timestamp())


def local(ts: int) -> str:
    """`yyyy-MM-dd HH:mm:ss` in China time (networking files)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + 28800))


def iso(ts: int) -> str:
    """ISO 8601 with the +08:00 offset (CSV and JSON dialects)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(ts + 28800))


def stamp(ts: int) -> str:
    """`yyyyMMddHHmmss` file-name stamp."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(ts + 28800))


def daystamp(ts: int) -> str:
    """`yyyyMMdd` of the local day."""
    return time.strftime("%Y%m%d", time.gmtime(ts + 28800))


@dataclass
class Area:
    code: str
    name: str
    kind: str
    declared: bool = False
    registered: bool = True  # False: the mine's systems know it, the regulator's registry does not

    @property
    def ryqy_type(self) -> str:
        return AREA_KINDS[self.kind][0] if self.registered else "其它区域"


@dataclass
class Point:
    """A safety monitoring point and the model of its signal."""

    code: str  # the code the mine's dialect uses (national 26 chars, provincial 6)
    vendor_code: str  # e.g. 003A02
    sensor_type: str
    area: str
    outstation: int
    location: str
    base: float = 0.0
    gain: float = 0.0  # added at full work level of the area
    sigma: float = 0.0  # sample noise
    drift_sd: float = 0.0  # slow drift step
    mode: str = "analog"  # analog | on | off | work (switch follows the area's work)

    @property
    def name(self) -> str:
        return SENSOR_TYPES[self.sensor_type][0]

    @property
    def unit(self) -> str:
        return SENSOR_TYPES[self.sensor_type][1]

    @property
    def value_type(self) -> str:
        return SENSOR_TYPES[self.sensor_type][2]

    @property
    def decimals(self) -> int:
        return SENSOR_TYPES[self.sensor_type][3]


@dataclass
class Station:
    code: str  # area code + 6 digits
    name: str
    area: str
    xyz: tuple[float, float, float]


@dataclass
class Person:
    card: str
    name: str
    job: str
    title: str
    team: str
    birth: str
    education: str
    is_leader: int
    is_special: int
    shift: int | None  # None: reserve (not on a regular crew)
    role: str  # crew | roadway | shaft | leader | inspector | reserve
    work_area: str | None
    off_day: int  # the weekday (0-6 from the start) the person rests


@dataclass
class Camera:
    camera_id: str
    name: str
    area: str
    seal: str | None
    preset: int = 1


@dataclass
class Seal:
    code: str
    area: str
    built_on: str
    design_ref: str
    camera_id: str  # "" when no camera watches it


@dataclass
class Meter:
    meter_id: str
    usage_point: str  # ESPI UsagePoint id, "" for register meters
    area: str
    multiplier: int
    espi: bool


@dataclass
class Mine:
    index: int
    code: str
    name: str
    county: str
    safety: str  # national | provincial | csv
    positioning: str  # files | rest
    video: str  # csv | rest
    meters_kind: str  # espi | registers
    cadence: int  # safety real-time cycle, seconds
    ryss_cadence: int
    one_line: bool  # national real-time files without line breaks
    header_extra: tuple[str, ...]  # optional national header parts
    espi_power: int  # ESPI powerOfTenMultiplier
    areas: list[Area] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    outstations: list[tuple[int, str, str]] = field(default_factory=list)  # (no, area, location)
    stations: list[Station] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)

    def area(self, no: int) -> str:
        return f"{self.code}{no:04d}"

    def areas_of(self, kind: str, declared: bool | None = None) -> list[Area]:
        return [a for a in self.areas if a.kind == kind and (declared is None or a.declared == declared)]

    def stations_in(self, area: str) -> list[Station]:
        return [s for s in self.stations if s.area == area]

    def outstation_code(self, no: int) -> str:
        return f"{self.code}{no:05d}" if self.safety != "provincial" else f"{no:03d}"

    def points_in(self, area: str, sensor_type: str | None = None) -> list[Point]:
        return [p for p in self.points if p.area == area and (sensor_type is None or p.sensor_type == sensor_type)]


@dataclass
class Province:
    seed: int
    start: date
    days: int
    mines: list[Mine]

    @property
    def t0(self) -> int:
        return day_start(self.start)

    @property
    def t1(self) -> int:
        return self.t0 + self.days * DAY


# (sensor type, location suffix, base, gain, sigma, drift_sd, mode) per area kind
POINT_PLAN = {
    "shaft_main": [("1010", "主通风机", 1, 0, 0, 0, "on"), ("0006", "主通风机负压", 2.65, 0.05, 0.02, 0.01, "analog")],
    "shaft_aux": [
        ("0001", "井底甲烷", 0.03, 0.0, 0.008, 0.002, "analog"),
        ("0002", "井底风速", 3.1, 0.0, 0.05, 0.02, "analog"),
    ],
    "roadway_main": [
        ("0001", "大巷甲烷", 0.06, 0.03, 0.01, 0.003, "analog"),
        ("0001", "采区车场甲烷", 0.09, 0.04, 0.01, 0.003, "analog"),
        ("0004", "大巷一氧化碳", 1.0, 1.0, 0.6, 0.1, "analog"),
        ("0002", "大巷风速", 2.4, 0.0, 0.06, 0.02, "analog"),
        ("0003", "大巷温度", 19.5, 0.8, 0.08, 0.05, "analog"),
    ],
    "roadway_return": [
        ("0001", "总回风甲烷", 0.22, 0.10, 0.012, 0.004, "analog"),
        ("0004", "总回风一氧化碳", 2.0, 2.0, 0.6, 0.1, "analog"),
        ("0002", "总回风风速", 4.6, 0.0, 0.07, 0.02, "analog"),
        ("0019", "总回风风量", 4350, 0, 18, 6, "analog"),
    ],
    "working_face": [
        ("0001", "上隅角甲烷", 0.34, 0.24, 0.018, 0.005, "analog"),
        ("0001", "工作面甲烷", 0.26, 0.18, 0.015, 0.005, "analog"),
        ("0001", "回风巷甲烷", 0.29, 0.14, 0.014, 0.005, "analog"),
        ("0004", "回风巷一氧化碳", 2.0, 3.0, 0.7, 0.15, "analog"),
        ("0003", "工作面温度", 23.5, 1.8, 0.08, 0.05, "analog"),
        ("0002", "工作面风速", 2.2, 0.0, 0.05, 0.02, "analog"),
        ("1004", "采煤机开停", 0, 0, 0, 0, "work"),
        ("1011", "工作面馈电", 1, 0, 0, 0, "on"),
        ("1009", "工作面断电器", 0, 0, 0, 0, "off"),
    ],
    "heading": [
        ("0001", "掘进迎头甲烷", 0.22, 0.21, 0.015, 0.005, "analog"),
        ("0001", "掘进回风甲烷", 0.18, 0.14, 0.013, 0.005, "analog"),
        ("0004", "掘进一氧化碳", 1.5, 4.0, 0.7, 0.15, "analog"),
        ("0002", "掘进风速", 0.85, 0.0, 0.03, 0.01, "analog"),
        ("1001", "局部通风机", 1, 0, 0, 0, "on"),
        ("1011", "掘进馈电", 1, 0, 0, 0, "on"),
    ],
    "sealed": [
        ("0001", "密闭墙甲烷", 0.14, 0.22, 0.012, 0.004, "analog"),
        ("0004", "密闭墙一氧化碳", 1.0, 2.5, 0.5, 0.1, "analog"),
        ("0003", "密闭墙温度", 21.0, 1.5, 0.06, 0.04, "analog"),
        ("0012", "密闭墙氧气", 20.4, 0.0, 0.05, 0.02, "analog"),
    ],
    "goaf": [
        ("0001", "采空区密闭甲烷", 0.19, 0.0, 0.013, 0.004, "analog"),
        ("0004", "采空区密闭一氧化碳", 1.2, 0.0, 0.5, 0.1, "analog"),
    ],
    "idle_face": [
        ("0001", "备用工作面甲烷", 0.08, 0.0, 0.011, 0.003, "analog"),
        ("0004", "备用工作面一氧化碳", 0.8, 0.0, 0.5, 0.1, "analog"),
    ],
}

JOBS = {
    "face": ("采煤工", "综采队"),
    "heading": ("掘进工", "掘进队"),
    "roadway": ("皮带司机", "运输队"),
    "shaft": ("信号工", "提升队"),
    "leader": ("带班矿领导", "矿领导"),
    "inspector": ("瓦斯检查工", "通风队"),
    "reserve": ("辅助工", "准备队"),
}


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def build_province(
    seed: int, mines: int, start: date, days: int, scale: tuple[int, int] | None = None, cadence: int | None = None
) -> Province:
    """Describe the province: `mines` mines, each with its dialects, layout and staff."""
    rng = make_rng("province", seed)
    out = []
    for i in range(mines):
        county, prefix = COUNTIES[i % len(COUNTIES)]
        code = f"{prefix}{rng.randrange(1000, 9999):04d}{i % 100:02d}"
        safety = ("national", "provincial", "csv")[i % 3]
        mine = Mine(
            index=i,
            code=code,
            name=f"{MINE_NAMES[i % len(MINE_NAMES)]}煤矿"
            + (f"{i // len(MINE_NAMES) + 1}" if i >= len(MINE_NAMES) else ""),
            county=county,
            safety="national" if scale else safety,
            positioning="rest" if i % 3 == 1 else "files",
            video="rest" if i % 3 == 2 else "csv",
            meters_kind="espi" if i % 3 == 0 else "registers",
            cadence=scale[1] if scale else (cadence or {"national": 60, "provincial": 30, "csv": 120}[safety]),
            ryss_cadence=300,
            one_line=(i % 2 == 0),
            header_extra=("KJ95X", "煤矿安全监控系统", "煤科院", "2028-12-31") if i % 6 != 3 else (),
            espi_power=(1, 3, 2)[(i // 3) % 3],
        )
        _layout(mine, rng, scale[0] if scale else None)
        out.append(mine)
    return Province(seed=seed, start=start, days=days, mines=out)


def _layout(mine: Mine, rng: random.Random, scale_points: int | None) -> None:
    """Areas, points, stations, staff, cameras, seals and meters of one mine."""
    panel = rng.randrange(11, 32)
    faces = 2 if rng.random() < 0.3 else 1
    A = mine.areas
    A.append(Area(mine.area(1), "主井", "shaft"))
    A.append(Area(mine.area(2), "副井", "shaft"))
    A.append(Area(mine.area(3), "井底车场及运输大巷", "roadway"))
    A.append(Area(mine.area(4), "总回风巷", "roadway"))
    A.append(Area(mine.area(5), f"{panel}071综采工作面", "working_face", declared=True))
    A.append(Area(mine.area(6), f"{panel}092掘进工作面", "heading", declared=True))
    A.append(Area(mine.area(7), f"{panel - 1}031采区(已封闭)", "sealed"))
    A.append(Area(mine.area(8), f"{panel - 2:02d}061采空区", "goaf"))
    A.append(Area(mine.area(9), f"{panel}051备用工作面", "working_face", declared=False))
    if faces == 2:
        A.append(Area(mine.area(10), f"{panel + 1}011综采工作面", "working_face", declared=True))
        A.append(Area(mine.area(11), f"{panel + 1}032掘进工作面", "heading", declared=True))

    plans = {
        1: "shaft_main",
        2: "shaft_aux",
        3: "roadway_main",
        4: "roadway_return",
        7: "sealed",
        8: "goaf",
        9: "idle_face",
    }
    station_no = 0
    for area in A:
        no = int(area.code[-4:])
        plan = plans.get(no) or ("working_face" if area.kind == "working_face" else "heading")
        items = POINT_PLAN[plan]
        prefix = "" if area.kind == "roadway" else area.name
        if scale_points:
            continue
        station_no += 1
        mine.outstations.append((station_no, area.code, f"{area.name}分站"))
        for ch, (stype, loc, base, gain, sigma, drift, mode) in enumerate(items, start=1):
            _add_point(mine, rng, stype, area.code, station_no, ch, f"{prefix}{loc}", base, gain, sigma, drift, mode)
    if scale_points:
        _scale_points(mine, rng, scale_points)

    # positioning stations
    st = mine.stations
    for area in A:
        no = int(area.code[-4:])
        names = {
            1: ["主井口"],
            2: ["副井口", "副井井底"],
            3: ["井底车场", "大巷中部", "采区车场"],
            4: ["总回风巷"],
            7: ["密闭内"],
            8: [],
            9: ["备用工作面"],
        }.get(no)
        if names is None:
            names = ["进风巷", "工作面中部", "回风巷"] if area.kind == "working_face" else ["掘进迎头", "掘进巷口"]
        for k, nm in enumerate(names, start=1):
            st.append(
                Station(
                    f"{area.code}{k:06d}",
                    f"{area.name}{nm}",
                    area.code,
                    (
                        round(38_400_000 + rng.uniform(0, 9000), 2),
                        round(3_740_000 + rng.uniform(0, 9000), 2),
                        round(rng.uniform(-650, -380), 1),
                    ),
                )
            )

    _staff(mine, rng)

    # seals, cameras, meters
    sealed, goaf = mine.area(7), mine.area(8)
    cam_no = 0

    def camera(area: str, name: str, seal: str | None) -> str:
        nonlocal cam_no
        cam_no += 1
        cid = f"V{mine.code[-4:]}{cam_no:02d}"
        mine.cameras.append(Camera(cid, name, area, seal, preset=1))
        return cid

    y = 2016 + rng.randrange(0, 7)
    mine.seals.append(
        Seal(
            "M-01",
            sealed,
            f"{y}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
            f"MB-{y}-{rng.randrange(1, 60):03d}",
            "",
        )
    )
    mine.seals.append(
        Seal(
            "M-02",
            goaf,
            f"{y - 2}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
            f"MB-{y - 2}-{rng.randrange(1, 60):03d}",
            "",
        )
    )
    for seal in mine.seals:
        seal.camera_id = camera(seal.area, f"{seal.code}密闭墙", seal.code)
    camera(mine.area(2), "副井井口", None)
    for area in A:
        if area.declared:
            camera(area.code, f"{area.name}", None)

    multipliers = {"shaft": 4800, "roadway": 1200, "working_face": 2400, "heading": 600, "sealed": 80, "goaf": 80}
    m_no = 0
    for area in A:
        if area.code == mine.area(4):
            continue  # the return airway is fed with the main roadway
        m_no += 1
        espi = mine.meters_kind == "espi"
        mult = 80 if (area.kind == "working_face" and not area.declared) else multipliers[area.kind]
        mine.meters.append(
            Meter(
                f"DB{mine.code[-6:]}{m_no:02d}",
                f"UP{mine.code[-6:]}{m_no:02d}" if espi else "",
                area.code,
                1 if espi else mult,
                espi,
            )
        )


def _add_point(
    mine: Mine,
    rng: random.Random,
    stype: str,
    area: str,
    outstation: int,
    ch: int,
    location: str,
    base: float,
    gain: float,
    sigma: float,
    drift: float,
    mode: str,
) -> Point:
    kind = "A" if SENSOR_TYPES[stype][2] == "MN" else "D"
    vendor = f"{outstation:03d}{kind}{ch:02d}"
    if mine.safety == "provincial":
        code = vendor
    else:
        code = f"{mine.code}01{SENSOR_TYPES[stype][2]}{stype}{vendor}"
    jitter = 1.0 + rng.uniform(-0.12, 0.12)
    p = Point(
        code,
        vendor,
        stype,
        area,
        outstation,
        location,
        base * jitter if mode == "analog" else base,
        gain * jitter,
        sigma,
        drift,
        mode,
    )
    mine.points.append(p)
    return p


def _scale_points(mine: Mine, rng: random.Random, n: int) -> None:
    """Benchmark layout: n points spread over the mine's areas, 24 channels per outstation."""
    plans = {
        1: "shaft_main",
        2: "shaft_aux",
        3: "roadway_main",
        4: "roadway_return",
        7: "sealed",
        8: "goaf",
        9: "idle_face",
    }
    cycle = []
    for area in mine.areas:
        no = int(area.code[-4:])
        plan = plans.get(no) or ("working_face" if area.kind == "working_face" else "heading")
        cycle.extend((area, item) for item in POINT_PLAN[plan])
    outstation, ch = 0, 24
    for k in range(n):
        area, (stype, loc, base, gain, sigma, drift, mode) = cycle[k % len(cycle)]
        if ch >= 24:
            outstation, ch = outstation + 1, 0
            mine.outstations.append((outstation, area.code, f"{area.name}{outstation}号分站"))
        ch += 1
        prefix = "" if area.kind == "roadway" else area.name
        _add_point(
            mine,
            rng,
            stype,
            area.code,
            outstation,
            ch,
            f"{prefix}{loc}{k // len(cycle) + 1}",
            base,
            gain,
            sigma,
            drift,
            mode,
        )


def _staff(mine: Mine, rng: random.Random) -> None:
    """Crews on three 8-hour shifts, roadway and shaft hands, leaders, gas inspectors and a reserve."""
    n = 0

    def person(
        role: str, shift: int | None, area: str | None, leader: int = 0, special: int = 0, title: str = ""
    ) -> None:
        nonlocal n
        n += 1
        key = {
            "crew": "face",
            "roadway": "roadway",
            "shaft": "shaft",
            "leader": "leader",
            "inspector": "inspector",
            "reserve": "reserve",
        }[role]
        if role == "crew" and area and area in [a.code for a in mine.areas_of("heading")]:
            key = "heading"
        job, team = JOBS[key]
        y = rng.randrange(1966, 2001)
        mine.persons.append(
            Person(
                card=f"{mine.code}{n:05d}",
                name=_person_name(rng),
                job=job,
                title=title or rng.choice(("", "", "", "班长", "技术员")),
                team=team,
                birth=f"{y}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                education=rng.choice(EDUCATION),
                is_leader=leader,
                is_special=special,
                shift=shift,
                role=role,
                work_area=area,
                off_day=rng.randrange(7),
            )
        )

    for area in mine.areas:
        if not area.declared:
            continue
        for shift in range(3):
            size = (11 if shift == MAINTENANCE_SHIFT else 9) if area.kind == "working_face" else 6
            for _ in range(size):
                person("crew", shift, area.code, special=1 if rng.random() < 0.15 else 0)
            person("inspector", shift, area.code, special=1)
    for shift in range(3):
        for _ in range(2):
            person("roadway", shift, mine.area(3))
        person("roadway", shift, mine.area(4), special=1)
        for _ in range(2):
            person("shaft", shift, mine.area(2), special=1)
        person("leader", shift, None, leader=1, title="副矿长")
    for _ in range(16):
        person("reserve", None, None)
