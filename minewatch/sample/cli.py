"""`minewatch sample OUT_DIR [...]` and `minewatch sample serve DIR --port P`."""

from __future__ import annotations

import argparse
import sys
import threading
import time

from minewatch.sample.episodes import EPISODE_KINDS
from minewatch.sample.generate import DEFAULT_START, generate
from minewatch.sample.server import DEFAULT_TOKEN, serve


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sample arguments to the `minewatch sample` parser."""
    parser.description = (
        "Write a deterministic sample province (landing folder, REST data and labels beside it), "
        "or serve the REST dialects of one: `minewatch sample serve DIR --port P`."
    )
    parser.add_argument(
        "target",
        nargs="*",
        metavar="OUT_DIR | serve DIR",
        help="landing folder to write; or the word 'serve' and a generated folder",
    )
    g = parser.add_argument_group("generate")
    g.add_argument("--mines", type=int, default=3, help="number of mines (default 3)")
    g.add_argument("--days", type=int, default=None, help="number of days (default 2; 1 with --scale)")
    g.add_argument("--seed", type=int, default=1, help="random seed: same seed, same bytes (default 1)")
    g.add_argument(
        "--start", default=DEFAULT_START.isoformat(), help=f"first day, YYYY-MM-DD (default {DEFAULT_START})"
    )
    g.add_argument(
        "--episodes",
        default="all",
        help=f"labelled episodes: all (default), none, or a comma list of {','.join(EPISODE_KINDS)}",
    )
    g.add_argument("--malformed", action="store_true", help="add broken files, labelled with their expected handling")
    g.add_argument("--scale", metavar="POINTS:CADENCE_S", help="benchmark volume, e.g. 500:10 (national CDSS only)")
    g.add_argument(
        "--cadence", type=int, help="safety real-time cycle in seconds for every mine (default per mine 30-120)"
    )
    g.add_argument("--force", action="store_true", help="replace a non-empty OUT_DIR (and its .api folder)")
    s = parser.add_argument_group("serve")
    s.add_argument("--serve", dest="serve_dir", metavar="DIR", help="same as `serve DIR`")
    s.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    s.add_argument("--token", default=DEFAULT_TOKEN, help=f"bearer token to accept (default {DEFAULT_TOKEN})")
    s.add_argument("--page-size", type=int, default=200)
    s.add_argument(
        "--throttle-every", type=int, default=10, help="429 on the first request of every n-th page (0: never)"
    )
    s.add_argument(
        "--unavailable-every", type=int, default=25, help="503 on the first request of every n-th page (0: never)"
    )
    s.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of a 429")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = list(args.target)
    if not target and not args.serve_dir:
        print("minewatch sample: give OUT_DIR, or serve DIR", file=sys.stderr)
        return 2
    if args.serve_dir or target[0] == "serve":
        if args.serve_dir and target and target[0] != "serve":
            print("minewatch sample: give either OUT_DIR or --serve DIR, not both", file=sys.stderr)
            return 2
        dirs = target[1:] if target else []
        if args.serve_dir:
            dirs.append(args.serve_dir)
        if len(dirs) != 1:
            print("minewatch sample serve: give exactly one DIR", file=sys.stderr)
            return 2
        return _serve(dirs[0], args)
    if target[0] == "make":
        target = target[1:]
    if len(target) != 1:
        print("minewatch sample: give exactly one OUT_DIR", file=sys.stderr)
        return 2
    days = args.days if args.days is not None else (1 if args.scale else 2)
    began = time.monotonic()
    try:
        summary = generate(
            target[0],
            mines=args.mines,
            days=days,
            seed=args.seed,
            start=args.start,
            episodes=args.episodes,
            malformed=args.malformed,
            scale=args.scale,
            cadence=args.cadence,
            force=args.force,
            progress=lambda msg: print(f"  {msg}", file=sys.stderr),
        )
    except (ValueError, FileExistsError) as exc:
        print(f"minewatch sample: {exc}", file=sys.stderr)
        return 2
    for kind, n in summary["files"].items():
        print(f"{kind:22} {n:8d} files {summary['rows'][kind]:10d} rows")
    for kind, n in summary["rows"].items():
        if kind not in summary["files"]:
            print(f"{kind:22} {'(REST)':>8} {n:16d} items")
    print(f"{summary['total_files']} files in {summary['landing']} ({time.monotonic() - began:.1f} s)")
    print(f"labels: {summary['labels']} ({summary['episodes']} episodes, {summary['malformed']} malformed files)")
    print(f"REST data: {summary['api']} (serve it with: minewatch sample serve {summary['landing']} --port 8765)")
    return 0


def _serve(directory: str, args: argparse.Namespace) -> int:
    try:
        server = serve(
            directory,
            host=args.host,
            port=args.port,
            token=args.token,
            page_size=args.page_size,
            throttle_every=args.throttle_every,
            unavailable_every=args.unavailable_every,
            retry_after=args.retry_after,
        )
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"minewatch sample serve: {exc}", file=sys.stderr)
        return 2
    print(f"serving {server.api_dir} at {server.url} (Authorization: Bearer {args.token}); Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run without the minewatch CLI: `python -m minewatch.sample ...`."""
    parser = argparse.ArgumentParser(prog="minewatch sample")
    configure(parser)
    args = parser.parse_args(argv)
    return args.func(args)
