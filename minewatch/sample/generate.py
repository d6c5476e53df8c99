"""Write a sample province: the landing folder, the REST folder and the labels beside it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import date

from minewatch.sample.episodes import parse_kinds, plan
from minewatch.sample.malformed import add_malformed
from minewatch.sample.positioning import write_positioning_files, write_positioning_rest
from minewatch.sample.province import DAY, build_province, daystamp
from minewatch.sample.safety import write_csv_dialect, write_national, write_provincial
from minewatch.sample.scenario import Scenario, build_stays
from minewatch.sample.server import DEFAULT_TOKEN
from minewatch.sample.writers import Out, write_explosives, write_meters, write_registry, write_video

DEFAULT_START = date(2026, 3, 16)


def sibling_paths(out_dir: str) -> tuple[str, str, str]:
    """(landing folder, REST folder, labels file): the latter two beside, never inside, the landing folder."""
    landing = os.path.abspath(out_dir.rstrip("/\\"))
    return landing, landing + ".api", landing + ".labels.json"


def parse_scale(spec: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """`POINTS:CADENCE_S`, e.g. `500:10`."""
    if spec is None or isinstance(spec, tuple):
        return spec
    try:
        points, cadence = (int(x) for x in spec.split(":"))
    except ValueError:
        raise ValueError(f"--scale wants POINTS:CADENCE_S, e.g. 500:10, not {spec!r}") from None
    if points < 1 or cadence < 1:
        raise ValueError("--scale wants positive POINTS and CADENCE_S")
    return points, cadence


def _prepare(landing: str, api: str, force: bool) -> None:
    """Empty folders to write into; --force replaces an earlier sample, never any other folder."""
    for path, mark in ((landing, "registry/mines.csv"), (api, "manifest.json")):
        if not (os.path.exists(path) and os.listdir(path)):
            continue
        if not force:
            raise FileExistsError(f"{path} is not empty (use --force to replace an earlier sample)")
        if not os.path.isfile(os.path.join(path, mark)):
            raise FileExistsError(f"{path} is not empty and holds no sample ({mark}); not replacing it")
        shutil.rmtree(path)
    os.makedirs(landing, exist_ok=True)


def generate(
    out_dir: str,
    mines: int = 3,
    days: int = 2,
    seed: int = 1,
    start: date | str = DEFAULT_START,
    episodes: str | list[str] | None = "all",
    malformed: bool = False,
    scale: str | tuple[int, int] | None = None,
    cadence: int | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write `mines` mines over `days` days into out_dir; return a summary (paths, files and rows per kind).

    With `scale` (`POINTS:CADENCE_S`) every mine is a national-dialect mine with that many points at that
    cadence, and only the registry, CDDY and CDSS are written (benchmark volumes, streamed file by file).
    """
    if isinstance(start, str):
        start = date.fromisoformat(start)
    if mines < 1 or days < 1:
        raise ValueError("mines and days must be at least 1")
    scale = parse_scale(scale)
    kinds = [] if scale else parse_kinds(episodes)
    landing, api, labels_path = sibling_paths(out_dir)
    _prepare(landing, api, force)
    province = build_province(seed, mines, start, days, scale=scale, cadence=cadence)
    planned, effects = plan(province, kinds)
    out = Out(landing, api)
    write_registry(out, province)
    scenarios = {}
    for mine in province.mines:
        if progress:
            progress(f"mine {mine.code} ({mine.safety} safety, {mine.positioning} positioning, {mine.video} video)")
        fx = effects[mine.code]
        scen = scenarios[mine.code] = Scenario(province, mine, fx)
        if scale:
            write_national(out, province, mine, scen, fx, full=False)
            continue
        {"national": write_national, "provincial": write_provincial, "csv": write_csv_dialect}[mine.safety](
            out, province, mine, scen, fx
        )
        stays = build_stays(province, mine, fx)
        if mine.positioning == "files":
            write_positioning_files(out, province, mine, fx, stays)
        else:
            write_positioning_rest(out, province, mine, stays)
        write_video(out, province, mine, fx)
        write_explosives(out, province, mine, fx)
    if not scale:
        write_meters(out, province, scenarios, effects)
    broken = add_malformed(landing, province) if malformed else []

    os.makedirs(api, exist_ok=True)
    manifest = {
        "token": DEFAULT_TOKEN,
        "landing": os.path.basename(landing),
        "mines": {
            m.code: {"positions": m.positioning == "rest" and not scale, "video": m.video == "rest" and not scale}
            for m in province.mines
        },
    }
    with open(os.path.join(api, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)

    labels = {
        "generator": {
            "seed": seed,
            "mines": mines,
            "days": days,
            "start": start.isoformat(),
            "episodes": kinds,
            "malformed": malformed,
            "scale": f"{scale[0]}:{scale[1]}" if scale else None,
        },
        "landing": os.path.basename(landing),
        "mines": [
            {
                "mine_code": m.code,
                "mine_name": m.name,
                "safety": m.safety,
                "safety_cadence_s": m.cadence,
                "positioning": m.positioning,
                "video": m.video,
                "meters": m.meters_kind,
            }
            for m in province.mines
        ],
        "episodes": [ep.label(n) for n, ep in enumerate(planned, start=1)],
        "verify_mine_days": _verify_days(province, planned),
        "benign": [b for m in province.mines for b in effects[m.code].benign],
        "malformed": broken,
    }
    with open(labels_path, "w", encoding="utf-8") as f:
        json.dump(labels, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return {
        "landing": landing,
        "api": api,
        "labels": labels_path,
        "mines": [m.code for m in province.mines],
        "files": dict(sorted(out.files.items())),
        "rows": dict(sorted(out.rows.items())),
        "total_files": sum(len(files) for _, _, files in os.walk(landing)),
        "episodes": len(planned),
        "malformed": len(broken),
    }


def _verify_days(province, planned) -> list[dict]:
    days = []
    for ep in planned:
        if not ep.verify_unsealing:
            continue
        t = province.t0 + (ep.start - province.t0) // DAY * DAY
        while t <= ep.end and t < province.t1:
            d = daystamp(t)
            item = {"mine_code": ep.mine_code, "day": f"{d[:4]}-{d[4:6]}-{d[6:]}"}
            if item not in days:
                days.append(item)
            t += DAY
    return sorted(days, key=lambda i: (i["mine_code"], i["day"]))
