"""The shared REST client (contract C.2, D.1) against a real HTTP server on loopback (pytest-httpserver)."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
import requests
from werkzeug import Request, Response

from connectors.base import FileContext
from connectors.networking import CHINA_TZ
from connectors.positioning_rest import POSITIONS_PATH, PositionsPageStream, pull, received_at
from connectors.rest import (
    CURSOR,
    PAGE_TOKEN,
    RestAuthError,
    RestClient,
    RestProtocolError,
    RestRequestError,
    RestUnavailable,
    advance,
    env_token,
)
from connectors.video_rest import pull_events
from schemas import Record

M = "410403004688"
TOKEN = "t0k-3x4mple"  # noqa: S105 - a test value handed to the client, as a caller would
PATH = "/" + POSITIONS_PATH.format(mine=M)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(CHINA_TZ)


def item(n: int, at: str) -> dict:
    return {
        "card": f"{M}{n:05d}", "area": f"{M}0003", "station": f"{M}0003000002",
        "read_at": at, "in_mine": 1, "status": 0,
    }  # fmt: skip


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(httpserver, sleeps):
    c = RestClient(httpserver.url_for("/"), TOKEN, feed="positioning", sleep=sleeps.append, backoff=0.5)
    yield c
    c.close()


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json")  # fmt: skip


# ---------------------------------------------------------------- paging


def test_pages_by_page_token_to_the_end_with_since_and_bearer(httpserver, client):
    pages = {
        "": ([item(1, "2026-03-18T08:00:01+08:00"), item(2, "2026-03-18T08:00:05+08:00")], "p2"),
        "p2": ([item(3, "2026-03-18T08:00:09+08:00")], "p3"),
        "p3": ([item(4, "2026-03-18T08:00:20+08:00"), item(5, "2026-03-18T08:00:12+08:00")], None),
    }
    seen: list[tuple[str | None, str | None, str | None]] = []

    def handler(request: Request) -> Response:
        seen.append((request.args.get("since"), request.args.get("page_token"), request.headers.get("Authorization")))
        items, nxt = pages[request.args.get("page_token", "")]
        return json_response({"items": items, "next_page_token": nxt})

    httpserver.expect_request(PATH, method="GET").respond_with_handler(handler)
    since = t("2026-03-18T08:00:00+08:00")
    got = list(pull(client, M, since))

    assert [p.number for p in got] == [1, 2, 3]
    assert [p.token for p in got] == [None, "p2", "p3"]
    assert [p.next_token for p in got] == ["p2", "p3", None] and got[-1].is_last
    assert [i["card"][-3:] for p in got for i in p.items] == ["001", "002", "003", "004", "005"]
    # since goes with every page, '+' arrives intact; the bearer token on every request
    assert seen == [("2026-03-18T08:00:00+08:00", tok, f"Bearer {TOKEN}") for tok in (None, "p2", "p3")]
    # each page knows its greatest receive time (not its last item's)
    assert [p.max_time for p in got] == [t("2026-03-18T08:00:05+08:00"), t("2026-03-18T08:00:09+08:00"),
                                         t("2026-03-18T08:00:20+08:00")]  # fmt: skip
    wm = None
    for p in got:
        wm = advance(wm, p)
    assert wm == t("2026-03-18T08:00:20+08:00")


def test_pages_by_cursor_for_video_events(httpserver, client):
    def handler(request: Request) -> Response:
        assert request.args["mine"] == M
        cursor = request.args.get("cursor")
        if cursor is None:
            return json_response({"events": [{"event_id": "e-1", "camera_id": "V1", "type": "OFFLINE",
                                              "at": "2026-03-18T02:10:00+08:00"}], "next_cursor": "c-2"})  # fmt: skip
        assert cursor == "c-2"
        return json_response({"events": [{"event_id": "e-2", "camera_id": "V1", "type": "ONLINE",
                                          "at": "2026-03-18T04:40:00+08:00"}], "next_cursor": None})  # fmt: skip

    httpserver.expect_request("/api/v1/events").respond_with_handler(handler)
    got = list(pull_events(client, M, t("2026-03-18T00:00:00+08:00")))
    assert [e["event_id"] for p in got for e in p.items] == ["e-1", "e-2"]
    assert [p.token for p in got] == [None, "c-2"]
    assert got[1].max_time == t("2026-03-18T04:40:00+08:00")
    assert len(httpserver.log) == 2


def test_a_page_token_that_comes_back_is_a_paging_loop(httpserver, client):
    httpserver.expect_request(PATH).respond_with_json({"items": [], "next_page_token": "same"})
    with pytest.raises(RestProtocolError, match="loops"):
        list(client.pages(PATH, {}, PAGE_TOKEN))
    assert len(httpserver.log) == 2


def test_an_answer_without_the_items_list_is_a_protocol_error(httpserver, client):
    httpserver.expect_request(PATH).respond_with_json({"data": []})
    with pytest.raises(RestProtocolError, match="no 'items' list"):
        list(client.pages(PATH, {}, PAGE_TOKEN))
    httpserver.clear()
    httpserver.expect_request("/api/v1/events").respond_with_data("<html>maintenance</html>", content_type="text/html")
    with pytest.raises(RestProtocolError, match="answered no JSON"):
        list(client.pages("/api/v1/events", {}, CURSOR))


# ---------------------------------------------------------------- throttling, retries, auth


def test_429_retry_after_is_honoured_then_the_page_loads(httpserver, client, sleeps):
    httpserver.expect_oneshot_request(PATH).respond_with_json({"error": "slow down"}, status=429,
                                                               headers={"Retry-After": "7"})  # fmt: skip
    httpserver.expect_request(PATH).respond_with_json({"items": [item(1, "2026-03-18T08:00:01+08:00")],
                                                       "next_page_token": None})  # fmt: skip
    pages = list(client.pages(PATH, {}, PAGE_TOKEN, received_at))
    assert sleeps == [7.0]
    assert len(pages) == 1 and len(pages[0].items) == 1
    assert [r.status_code for _, r in httpserver.log] == [429, 200]


def test_retry_after_is_capped_and_read_as_an_http_date(httpserver, sleeps):
    now = 1_773_792_000.0  # 2026-03-18T00:00:00Z
    c = RestClient(httpserver.url_for("/"), TOKEN, sleep=sleeps.append, clock=lambda: now, retry_after_max=30)
    httpserver.expect_oneshot_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "86400"})
    httpserver.expect_oneshot_request(PATH).respond_with_data(
        "", status=429, headers={"Retry-After": "Wed, 18 Mar 2026 00:00:12 GMT"}
    )
    httpserver.expect_request(PATH).respond_with_json({"items": [], "next_page_token": None})
    list(c.pages(PATH, {}, PAGE_TOKEN))
    assert sleeps == [30.0, 12.0]


def test_503_is_retried_with_backoff_then_succeeds(httpserver, client, sleeps):
    for _ in range(2):
        httpserver.expect_oneshot_request(PATH).respond_with_json({"error": "unavailable"}, status=503)
    httpserver.expect_request(PATH).respond_with_json({"items": [item(9, "2026-03-18T08:00:01+08:00")],
                                                       "next_page_token": None})  # fmt: skip
    pages = list(client.pages(PATH, {}, PAGE_TOKEN))
    assert pages[0].items[0]["card"].endswith("00009")
    assert sleeps == [0.5, 1.0]  # exponential: backoff, then twice that


def test_persistent_503_gives_up_after_the_bounded_attempts(httpserver, sleeps):
    c = RestClient(httpserver.url_for("/"), TOKEN, feed="positioning", sleep=sleeps.append, max_attempts=4)
    httpserver.expect_request(PATH).respond_with_json({"error": "unavailable"}, status=503)
    with pytest.raises(RestUnavailable) as err:
        list(c.pages(PATH, {}, PAGE_TOKEN))
    assert len(httpserver.log) == 4
    assert sleeps == [1.0, 2.0, 4.0]
    msg = str(err.value)
    assert "positioning API at http://" in msg and "after 4 attempt(s)" in msg and "503" in msg


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_fails_at_once_without_retry(httpserver, client, sleeps, status):
    httpserver.expect_request(PATH).respond_with_json({"error": "invalid token"}, status=status)
    with pytest.raises(RestAuthError) as err:
        list(pull(client, M, None))
    assert len(httpserver.log) == 1 and sleeps == []
    msg = str(err.value)
    assert f"positioning API at {httpserver.url_for(PATH)} refused the token ({status})" in msg
    assert TOKEN not in msg


def test_other_4xx_fail_clearly_without_retry(httpserver, client, sleeps):
    httpserver.expect_request(PATH).respond_with_json({"error": "since must be ISO 8601"}, status=400)
    with pytest.raises(RestRequestError, match=r"rejected the request \(400\): .*since must be ISO 8601") as err:
        client.get_json(PATH, {"since": "yesterday"})
    assert err.value.status == 400 and sleeps == [] and len(httpserver.log) == 1


def test_the_watermark_only_moves_over_committed_pages(httpserver, client):
    def handler(request: Request) -> Response:
        if request.args.get("page_token") == "p2":
            return json_response({"error": "down"}, status=503)
        return json_response({"items": [item(1, "2026-03-18T08:00:01+08:00")], "next_page_token": "p2"})

    httpserver.expect_request(PATH).respond_with_handler(handler)
    committed, watermark = [], t("2026-03-18T08:00:00+08:00")
    with pytest.raises(RestUnavailable):
        for page in pull(client, M, watermark):
            committed.append(page.number)  # the caller's commit of the page's rows
            watermark = advance(watermark, page)
    assert committed == [1]
    assert watermark == t("2026-03-18T08:00:01+08:00")


def test_a_pulled_page_loads_through_the_same_stream_as_a_file(httpserver, client):
    httpserver.expect_request(PATH).respond_with_json(
        {"items": [item(1, "2026-03-18T08:00:01+08:00"), {"card": "1"}], "next_page_token": None}
    )
    (page,) = pull(client, M, None)
    out = list(PositionsPageStream().read(page.body, FileContext(name="positions.json", mine_code=M)))
    recs = [o for o in out if isinstance(o, Record)]
    assert [r.values[1] for r in recs] == [f"{M}00001"]
    assert page.max_time == t("2026-03-18T08:00:01+08:00")  # the malformed item moves no watermark


# ---------------------------------------------------------------- timeouts and the token


def test_every_call_carries_a_connect_and_read_timeout(httpserver, sleeps):
    calls: list[dict] = []

    class Spy(requests.Session):
        def get(self, url, **kw):
            calls.append(kw)
            return super().get(url, **kw)

    pages = {"": "p2", "p2": None}
    httpserver.expect_request(PATH).respond_with_handler(
        lambda r: json_response({"items": [], "next_page_token": pages[r.args.get("page_token", "")]})
    )
    httpserver.expect_request("/api/v1/cameras").respond_with_json([])
    with Spy() as session:
        c = RestClient(httpserver.url_for("/"), TOKEN, session=session, connect_timeout=3, read_timeout=20)
        list(c.pages(PATH, {}, PAGE_TOKEN))
        c.get_json("/api/v1/cameras", {"mine": M})
    assert len(calls) == 3
    assert all(kw["timeout"] == (3, 20) for kw in calls)


def test_a_slow_server_times_out_and_the_retries_stay_bounded(httpserver, sleeps):
    def slow(request: Request) -> Response:
        time.sleep(0.3)
        return json_response({"items": [], "next_page_token": None})

    httpserver.expect_request(PATH).respond_with_handler(slow)
    c = RestClient(httpserver.url_for("/"), TOKEN, feed="video", sleep=sleeps.append, read_timeout=0.05,
                   max_attempts=2, backoff=0.01)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(RestUnavailable, match=r"video API at .* after 2 attempt\(s\): no answer within 0.05 s"):
        list(c.pages(PATH, {}, PAGE_TOKEN))
    assert time.monotonic() - started < 0.3 * 2
    assert sleeps == [0.01]


def test_the_token_comes_from_the_caller_or_the_environment():
    assert env_token("positioning", {"MINEWATCH_POSITIONING_TOKEN": " abc "}) == "abc"
    with pytest.raises(RestAuthError, match="MINEWATCH_VIDEO_TOKEN"):
        env_token("video", {})
    with pytest.raises(RestAuthError, match="no token"):
        RestClient("http://127.0.0.1:9", "  ", feed="video")
    assert TOKEN not in repr(RestClient("http://127.0.0.1:9", TOKEN))
