"""A local vendor API over a generated folder: C.2 positions, D.1 cameras and events, on loopback only.

Bearer-token auth (401 otherwise), paging with opaque tokens, and deterministic
trouble: the first request of every `throttle_every`-th distinct page answers
429 with Retry-After, of every `unavailable_every`-th a 503; the same request
retried then succeeds.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "sample-token"  # noqa: S105 - the sample API's well-known token, not a secret
CST = timezone(timedelta(hours=8))
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def resolve_api_dir(path: str) -> str:
    """The REST folder of a generated sample: the folder itself, or `<landing>.api` beside a landing folder."""
    path = os.path.abspath(path.rstrip("/\\"))
    for cand in (path, path + ".api"):
        if os.path.isfile(os.path.join(cand, "manifest.json")):
            return cand
    raise FileNotFoundError(f"no sample API data (manifest.json) in {path} or {path}.api")


def parse_time(text: str) -> float:
    """ISO 8601 to epoch seconds; no offset means China time."""
    text = text.strip()
    if "T" in text and " " in text:
        text = text.replace(" ", "+")  # a '+' sent unencoded in a query string arrives as a space
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=CST)
    return t.timestamp()


class _Feed:
    """Items of one mine and endpoint, sorted by time."""

    def __init__(self, items: list[dict], time_key: str):
        self.items = items
        self.times = [parse_time(i[time_key]) for i in items]


class SampleServer:
    """A running vendor API: `.url`, `.stats`, `.shutdown()`."""

    def __init__(
        self,
        api_dir: str,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        page_size: int = 200,
        throttle_every: int = 10,
        unavailable_every: int = 25,
        retry_after: int = 1,
    ):
        if host not in LOOPBACK and not host.startswith("127."):
            raise ValueError(f"the sample vendor API binds to loopback only, not {host}")
        self.api_dir = resolve_api_dir(api_dir)
        with open(os.path.join(self.api_dir, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.token = token
        self.page_size = page_size
        self.throttle_every = throttle_every
        self.unavailable_every = unavailable_every
        self.retry_after = retry_after
        self.stats = {"requests": 0, "200": 0, "400": 0, "401": 0, "404": 0, "429": 0, "503": 0}
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._feeds: dict[tuple[str, str], _Feed] = {}
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        h, p = self._httpd.server_address[:2]
        self.url = f"http://{'[' + h + ']' if ':' in h else h}:{p}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sample-vendor-api", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SampleServer:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def feed(self, kind: str, mine: str) -> _Feed | None:
        with self._lock:
            key = (kind, mine)
            if key not in self._feeds:
                name = {"positions": f"positions_{mine}.jsonl", "events": f"events_{mine}.jsonl"}[kind]
                path = os.path.join(self.api_dir, name)
                if not os.path.isfile(path):
                    return None
                with open(path, encoding="utf-8") as f:
                    items = [json.loads(line) for line in f if line.strip()]
                self._feeds[key] = _Feed(items, "read_at" if kind == "positions" else "at")
            return self._feeds[key]

    def trouble(self, key: str) -> int | None:
        """429 or 503 for the first request of every n-th distinct page, else None."""
        with self._lock:
            self.stats["requests"] += 1
            if key in self._seen:
                return None
            n = self._seen[key] = len(self._seen) + 1
            if self.throttle_every and n % self.throttle_every == 0:
                return 429
            if self.unavailable_every and n % self.unavailable_every == 0:
                return 503
            return None

    def count(self, status: int) -> None:
        with self._lock:
            self.stats[str(status)] = self.stats.get(str(status), 0) + 1


def _handler(server: SampleServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - quiet
            pass

        def _send(self, status: int, body: object, headers: dict | None = None) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            server.count(status)

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if self.headers.get("Authorization", "") != f"Bearer {server.token}":
                server.trouble("\0auth")
                return self._send(
                    401, {"error": "invalid or missing bearer token"}, {"WWW-Authenticate": 'Bearer realm="sample"'}
                )
            key = parts.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))
            status = server.trouble(key)
            if status == 429:
                return self._send(429, {"error": "too many requests"}, {"Retry-After": str(server.retry_after)})
            if status == 503:
                return self._send(503, {"error": "service unavailable"})
            segs = [s for s in parts.path.split("/") if s]
            try:
                if segs[:3] == ["api", "v1", "mines"] and len(segs) == 5 and segs[4] == "positions":
                    return self._page("positions", segs[3], query, "page_token", "items", "next_page_token")
                if segs == ["api", "v1", "cameras"]:
                    return self._cameras(query.get("mine", ""))
                if segs == ["api", "v1", "events"]:
                    return self._page("events", query.get("mine", ""), query, "cursor", "events", "next_cursor")
            except ValueError as exc:
                return self._send(400, {"error": str(exc)})
            return self._send(404, {"error": "no such resource"})

        def _cameras(self, mine: str):
            path = os.path.join(server.api_dir, f"cameras_{mine}.json")
            if not mine or not os.path.isfile(path):
                return self._send(404, {"error": f"unknown mine {mine!r}"})
            with open(path, encoding="utf-8") as f:
                return self._send(200, json.load(f))

        def _page(self, kind: str, mine: str, query: dict, token_name: str, items_name: str, next_name: str):
            feed = server.feed(kind, mine) if mine else None
            if feed is None:
                return self._send(404, {"error": f"unknown mine {mine!r}"})
            token = query.get(token_name) or ""
            if token:
                if not token.startswith("o") or not token[1:].isdigit():
                    raise ValueError(f"bad {token_name}")
                start = int(token[1:])
            elif query.get("since"):
                try:
                    start = bisect.bisect_left(feed.times, parse_time(query["since"]))
                except ValueError:
                    raise ValueError("since must be ISO 8601") from None
            else:
                start = 0
            end = start + server.page_size
            nxt = f"o{end}" if end < len(feed.items) else None
            return self._send(200, {items_name: feed.items[start:end], next_name: nxt})

    return Handler


def serve(api_dir: str, host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN, **options) -> SampleServer:
    """Start the sample vendor API in a background thread; call `.shutdown()` when done."""
    return SampleServer(api_dir, host=host, port=port, token=token, **options)
