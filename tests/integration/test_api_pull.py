"""Vendor API pulls into a real warehouse (contract C.2, D.1, J): a real HTTP server on loopback.

The fake platform below keeps its items sorted by receive time, answers `since` inclusively and
pages with opaque tokens or cursors, as the contract says. What is proven: every page is
archived and in the ledger; rows and watermark commit together, so a pull that dies after page 2
resumes from page 2's watermark and ends with every item once; a re-pull adds nothing; 401 stops
at once and moves nothing; a 404 mine is one line and the other mines go on.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from werkzeug import Request, Response

from connectors.networking import CHINA_TZ
from connectors.positioning_rest import POSITIONS_PATH
from connectors.rest import RestClient
from minewatch.config import load_settings
from minewatch.pull import Api, PullError, pull_api

pytestmark = pytest.mark.db

M = "410403004688"
OTHER = "410403004699"
TOKEN = "pull-t0ken"  # noqa: S105 - a test value handed to the client, as a caller would


def position(n: int, second: int) -> dict:
    return {"card": f"{M}{n:05d}", "area": f"{M}0003", "station": f"{M}0003000002",
            "read_at": f"2026-03-18T08:00:{second:02d}+08:00", "in_mine": 1, "status": 0}


class Platform:
    """A vendor platform: items sorted by receive time, `since` inclusive, pages of `size` items."""

    def __init__(self, items: list[dict], time_key: str, size: int, items_key: str, next_key: str, param: str):
        self.items = sorted(items, key=lambda i: i[time_key])
        self.time_key, self.size = time_key, size
        self.items_key, self.next_key, self.param = items_key, next_key, param
        self.broken_from_page: int | None = None  # answer 401 from this request on (the pull "dies")
        self.requests: list[dict] = []

    def handler(self, request: Request) -> Response:
        args = dict(request.args)
        self.requests.append(args)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response(json.dumps({"error": "bad token"}), status=401, content_type="application/json")
        since = args.get("since")
        start = 0
        if args.get(self.param):
            start = int(args[self.param])
        elif since:
            at = datetime.fromisoformat(since)
            start = next((i for i, it in enumerate(self.items)
                          if datetime.fromisoformat(it[self.time_key]) >= at), len(self.items))
        if self.broken_from_page is not None and len(self.requests) >= self.broken_from_page:
            return Response(json.dumps({"error": "token revoked"}), status=401, content_type="application/json")
        end = start + self.size
        body = {self.items_key: self.items[start:end], self.next_key: str(end) if end < len(self.items) else None}
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def client(httpserver):
    c = RestClient(httpserver.url_for("/"), TOKEN, feed="positioning", sleep=lambda s: None, backoff=0)
    yield c
    c.close()


def api(httpserver, feed: str, mines=(M,)) -> Api:
    return Api(feed, httpserver.url_for("/"), TOKEN, tuple(mines), "test")


def observations(db) -> list[tuple]:
    with db, db.cursor() as cur:
        cur.execute("""SELECT card_code, observed_at FROM core.positioning_observation
                        WHERE mine_code = %s ORDER BY observed_at, card_code""", (M,))
        return cur.fetchall()


def watermark(db, feed: str, endpoint: str) -> datetime | None:
    with db, db.cursor() as cur:
        cur.execute("SELECT watermark FROM ledger.api_watermark WHERE feed = %s AND endpoint = %s AND mine_code = %s",
                    (feed, endpoint, M))
        row = cur.fetchone()
    return row[0] if row else None


def test_a_pull_interrupted_after_page_2_resumes_without_loss_or_duplicates(db, httpserver, client):
    # 8 reads; two share the receive time 08:00:12, on both sides of the page 2 / page 3 border
    items = [position(1, 1), position(2, 3), position(3, 5), position(1, 7), position(2, 9),
             position(3, 12), position(1, 12), position(2, 20)]
    platform = Platform(items, "read_at", 3, "items", "next_page_token", "page_token")
    httpserver.expect_request("/" + POSITIONS_PATH.format(mine=M)).respond_with_handler(platform.handler)
    settings = load_settings()

    platform.broken_from_page = 3  # pages 1 and 2 answer, page 3 is refused: the pull dies there
    with pytest.raises(PullError, match="refused the token"):
        pull_api(db, settings, "positioning", api(httpserver, "positioning"), client)
    first = observations(db)
    assert len(first) == 6  # pages 1 and 2 committed, with their watermark
    assert watermark(db, "positioning", "positions") == datetime(2026, 3, 18, 8, 0, 12, tzinfo=CHINA_TZ)

    platform.broken_from_page = None
    platform.requests.clear()
    outcome = pull_api(db, settings, "positioning", api(httpserver, "positioning"), client)
    assert platform.requests[0]["since"].startswith("2026-03-18T08:00:12")  # resumed from page 2's watermark
    rows = observations(db)
    assert len(rows) == len(items) == len(set(rows))  # every read once
    assert outcome.files.get("api_failed") is None
    assert watermark(db, "positioning", "positions") == datetime(2026, 3, 18, 8, 0, 20, tzinfo=CHINA_TZ)

    with db, db.cursor() as cur:  # every page answer is archived and in the ledger, named for the load path
        cur.execute("""SELECT name, status, path FROM ledger.file WHERE feed = 'positioning' AND kind = 'positions'
                        ORDER BY file_id""")
        ledger = cur.fetchall()
    assert len(ledger) == 3  # 2 pages, then the resumed pull's one page (the 3 items from 08:00:12 on)
    assert all(status == "loaded" and name.startswith(f"{M}_positions_") and path.startswith("http://")
               for name, status, path in ledger)

    # since is inclusive: a re-pull asks again for the reads at the watermark and stores them once
    pull_api(db, settings, "positioning", api(httpserver, "positioning"), client)
    assert len(observations(db)) == len(items)
    again = pull_api(db, settings, "positioning", api(httpserver, "positioning"), client)
    assert (again.rows_loaded, again.files.get("unchanged")) == (0, 1)  # the same answer to the same request: a no-op
    assert len(observations(db)) == len(items)


def test_a_401_fails_at_once_and_moves_nothing(db, httpserver):
    platform = Platform([position(1, 1)], "read_at", 3, "items", "next_page_token", "page_token")
    httpserver.expect_request("/" + POSITIONS_PATH.format(mine=M)).respond_with_handler(platform.handler)
    wrong = RestClient(httpserver.url_for("/"), "wrong-token", feed="positioning", sleep=lambda s: None)
    with pytest.raises(PullError, match="refused the token"):
        pull_api(db, load_settings(), "positioning", api(httpserver, "positioning"), wrong)
    assert len(platform.requests) == 1  # no retry of a 401
    assert observations(db) == [] and watermark(db, "positioning", "positions") is None


def test_a_mine_the_platform_does_not_serve_is_one_line_and_the_others_go_on(db, httpserver, client):
    platform = Platform([position(1, 1), position(2, 2)], "read_at", 5, "items", "next_page_token", "page_token")
    httpserver.expect_request("/" + POSITIONS_PATH.format(mine=M)).respond_with_handler(platform.handler)
    httpserver.expect_request("/" + POSITIONS_PATH.format(mine=OTHER)).respond_with_data(
        json.dumps({"error": "unknown mine"}), status=404, content_type="application/json")
    outcome = pull_api(db, load_settings(), "positioning", api(httpserver, "positioning", (OTHER, M)), client)
    assert len(observations(db)) == 2
    assert any(f"does not serve mine {OTHER} (404)" in line for line in outcome.problems)
    assert outcome.files.get("api_failed") is None


def test_a_page_with_bad_items_loads_the_good_ones_and_quarantines_the_rest(db, httpserver, client):
    bad = dict(position(2, 3), card="9999")  # not this mine's card structure
    platform = Platform([position(1, 1), bad, position(3, 5)], "read_at", 5, "items", "next_page_token", "page_token")
    httpserver.expect_request("/" + POSITIONS_PATH.format(mine=M)).respond_with_handler(platform.handler)
    outcome = pull_api(db, load_settings(), "positioning", api(httpserver, "positioning"), client)
    assert len(observations(db)) == 2 and outcome.rows_rejected == 1
    with db, db.cursor() as cur:
        cur.execute("SELECT record_no, reason, raw_text FROM quarantine.record WHERE feed = 'positioning'")
        (record_no, reason, raw), = cur.fetchall()
    assert (record_no, reason) == (2, "mine_mismatch") and '"9999"' in raw
    assert watermark(db, "positioning", "positions") == datetime(2026, 3, 18, 8, 0, 5, tzinfo=CHINA_TZ)


def test_a_video_pull_loads_the_inventory_and_the_events_by_cursor_each_event_once(db, httpserver):
    cameras = [{"camera_id": "V031", "name": "M-07 密闭", "area_code": f"{M}0007", "seal_code": "M-07",
                "online": True, "preset": 1},
               {"camera_id": "V032", "name": "主运输巷", "area_code": f"{M}0003", "seal_code": None,
                "online": True, "preset": 2}]
    events = [{"event_id": f"e-{n}", "camera_id": "V031", "type": kind, "at": f"2026-03-18T02:{n:02d}:00+08:00"}
              for n, kind in ((10, "OFFLINE"), (20, "ONLINE"), (30, "OCCLUSION"), (40, "ONLINE"), (50, "OFFLINE"))]
    platform = Platform(events, "at", 2, "events", "next_cursor", "cursor")
    httpserver.expect_request("/api/v1/cameras").respond_with_data(json.dumps(cameras, ensure_ascii=False),
                                                                  content_type="application/json")
    httpserver.expect_request("/api/v1/events").respond_with_handler(platform.handler)
    client = RestClient(httpserver.url_for("/"), TOKEN, feed="video", sleep=lambda s: None, backoff=0)
    try:
        pull_api(db, load_settings(), "video", api(httpserver, "video"), client)
        pull_api(db, load_settings(), "video", api(httpserver, "video"), client)  # since inclusive: e-50 again
    finally:
        client.close()
    assert all(r["mine"] == M for r in platform.requests)
    assert [r.get("cursor") for r in platform.requests[:3]] == [None, "2", "4"]  # cursor paging to the end
    with db, db.cursor() as cur:
        cur.execute("SELECT event_id FROM core.video_event WHERE mine_code = %s ORDER BY event_id", (M,))
        assert [r[0] for r in cur.fetchall()] == ["e-10", "e-20", "e-30", "e-40", "e-50"]
        cur.execute("SELECT camera_id, seal_code FROM core.video_camera WHERE mine_code = %s AND valid_to IS NULL "
                    "ORDER BY camera_id", (M,))
        assert cur.fetchall() == [("V031", "M-07"), ("V032", None)]
        cur.execute("SELECT status, count(*) FROM ledger.file WHERE feed = 'video' GROUP BY status")
        statuses = dict(cur.fetchall())
    # the inventory once (the same answer the second time is a no-op), 3 event pages; the second pull's
    # one page ([e-50], no cursor) has the bytes of the first pull's last page: a duplicate, not reloaded
    assert statuses == {"loaded": 4, "duplicate": 1}
    assert watermark(db, "video", "video_events") == datetime(2026, 3, 18, 2, 50, tzinfo=CHINA_TZ)
