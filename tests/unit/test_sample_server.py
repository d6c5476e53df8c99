"""The sample vendor API pages, throttles and rejects a bad token; the sample command parses both spellings."""

from __future__ import annotations

import argparse
import json
import os
import urllib.parse

import pytest
import requests

from minewatch.sample import DEFAULT_TOKEN, cli, generate, serve


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "landing"
    summary = generate(str(out), mines=3, days=1, seed=5, cadence=1800)
    manifest = json.load(open(os.path.join(summary["api"], "manifest.json"), encoding="utf-8"))
    positions = next(m for m, v in manifest["mines"].items() if v["positions"])
    video = next(m for m, v in manifest["mines"].items() if v["video"])
    return summary, positions, video


def _get(url: str, token: str | None = DEFAULT_TOKEN) -> tuple[int, dict, object]:
    r = requests.get(url, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)
    return r.status_code, dict(r.headers), r.json()


def _lines(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_bad_or_missing_token_is_401(sample):
    summary, mine, _ = sample
    with serve(summary["landing"], throttle_every=0, unavailable_every=0) as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        assert _get(f"{srv.url}/api/v1/mines/{mine}/positions", token="wrong")[0] == 401  # noqa: S106
        status, headers, _ = _get(f"{srv.url}/api/v1/mines/{mine}/positions", token=None)
        assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
        assert _get(f"{srv.url}/api/v1/mines/{mine}/positions")[0] == 200
        assert _get(f"{srv.url}/api/v1/mines/999999999999/positions")[0] == 404


def test_positions_page_to_the_end_in_time_order(sample):
    summary, mine, _ = sample
    expected = _lines(os.path.join(summary["api"], f"positions_{mine}.jsonl"))
    assert len(expected) > 300
    with serve(summary["api"], page_size=97, throttle_every=0, unavailable_every=0) as srv:
        items, token, pages = [], None, 0
        while True:
            q = {"since": "2026-03-16T00:00:00+08:00"} | ({"page_token": token} if token else {})
            status, _, body = _get(f"{srv.url}/api/v1/mines/{mine}/positions?{urllib.parse.urlencode(q)}")
            assert status == 200 and len(body["items"]) <= 97
            items += body["items"]
            pages += 1
            token = body["next_page_token"]
            if token is None:
                break
        assert items == expected and pages == -(-len(expected) // 97)
        assert [i["read_at"] for i in items] == sorted(i["read_at"] for i in items)
        # since is inclusive on the read time
        since = expected[150]["read_at"]
        _, _, body = _get(f"{srv.url}/api/v1/mines/{mine}/positions?{urllib.parse.urlencode({'since': since})}")
        assert body["items"][0]["read_at"] == since
        assert body["items"][0] == next(i for i in expected if i["read_at"] == since)


def test_429_with_retry_after_then_503_then_the_retry_succeeds(sample):
    summary, mine, _ = sample
    with serve(summary["landing"], page_size=50, throttle_every=2, unavailable_every=3, retry_after=1) as srv:
        url = f"{srv.url}/api/v1/mines/{mine}/positions"
        first = _get(url)
        assert first[0] == 200
        throttled = _get(url + "?page_token=" + first[2]["next_page_token"])
        assert throttled[0] == 429 and throttled[1]["Retry-After"] == "1"
        again = _get(url + "?page_token=" + first[2]["next_page_token"])
        assert again[0] == 200 and again[2]["items"]
        unavailable = _get(url + "?page_token=" + again[2]["next_page_token"])
        assert unavailable[0] == 503
        assert _get(url + "?page_token=" + again[2]["next_page_token"])[0] == 200
        assert srv.stats["429"] == 1 and srv.stats["503"] == 1
        answers = [_get(url + "?page_token=bogus")[0] for _ in range(2)]
        assert answers[-1] == 400 and answers[0] in (400, 429, 503)


def test_cameras_and_events_with_cursor(sample):
    summary, _, mine = sample
    expected = _lines(os.path.join(summary["api"], f"events_{mine}.jsonl"))
    assert expected
    with serve(summary["landing"], page_size=1, throttle_every=0, unavailable_every=0) as srv:
        status, _, cams = _get(f"{srv.url}/api/v1/cameras?mine={mine}")
        assert status == 200 and cams
        assert {"camera_id", "name", "area_code", "seal_code", "online", "preset"} <= set(cams[0])
        assert any(c["seal_code"] for c in cams)
        events, cursor = [], None
        while True:
            q = {"mine": mine, "since": "2026-03-16T00:00:00+08:00"} | ({"cursor": cursor} if cursor else {})
            status, _, body = _get(f"{srv.url}/api/v1/events?{urllib.parse.urlencode(q)}")
            assert status == 200
            events += body["events"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert events == expected
        assert {e["camera_id"] for e in events} <= {c["camera_id"] for c in cams}


def test_server_binds_loopback_only(sample):
    summary, _, _ = sample
    with pytest.raises(ValueError):
        serve(summary["landing"], host="0.0.0.0")  # noqa: S104 - refused
    with pytest.raises(FileNotFoundError):
        serve(os.path.dirname(summary["landing"]) + "/nowhere")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="minewatch sample")
    cli.configure(parser)
    return parser.parse_args(argv)


def test_cli_generates_and_dispatches_both_serve_spellings(tmp_path, monkeypatch, capsys):
    out = tmp_path / "landing"
    args = _parse([str(out), "--mines", "1", "--days", "1", "--cadence", "1800", "--episodes", "none", "--seed", "2"])
    assert args.func(args) == 0
    assert (out / "registry" / "mines.csv").exists() and os.path.exists(str(out) + ".labels.json")
    assert "files in" in capsys.readouterr().out
    assert args.func(args) == 2, "a non-empty OUT_DIR is refused without --force"

    served = []
    monkeypatch.setattr(cli, "_serve", lambda d, a: served.append((d, a.port)) or 0)
    codes = []
    for argv in (["serve", str(out), "--port", "0"], ["--serve", str(out), "--port", "0"], ["serve"], []):
        a = _parse(argv)
        codes.append(a.func(a))
    assert served == [(str(out), 0), (str(out), 0)] and codes == [0, 0, 2, 2]
    a = _parse([str(out), "extra"])
    assert a.func(a) == 2
