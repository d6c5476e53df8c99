"""The video DAG run by Airflow (dag.test): its landing files and its API pull from a real HTTP server on loopback."""

import json
import os
import subprocess
import sys

import pytest
from werkzeug import Request, Response

from tests.conftest import query

M = "410403004688"
TOKEN = "dag-t0ken"  # noqa: S105 - a test value, handed to the DAG through the environment as an operator would


@pytest.mark.airflow
def test_video_dag_loads_its_files_and_pulls_the_platform(db, tmp_path, httpserver):
    landing = tmp_path / "landing" / M
    landing.mkdir(parents=True)
    (landing / f"{M}_video_20260318.csv").write_text(
        "event_id,camera_id,area_code,seal_code,type,at\n"
        f"c-1,V032,{M}0003,,OFFLINE,2026-03-18T01:00:00+08:00\n"
        f"c-2,V032,{M}0003,,ONLINE,2026-03-18T01:30:00+08:00\n", encoding="utf-8")
    cameras = [{"camera_id": "V031", "name": "M-07", "area_code": f"{M}0007", "seal_code": "M-07", "online": True,
                "preset": 1}]
    events = [{"event_id": "e-1", "camera_id": "V031", "type": "OFFLINE", "at": "2026-03-18T02:10:00+08:00"},
              {"event_id": "e-2", "camera_id": "V031", "type": "ONLINE", "at": "2026-03-18T02:40:00+08:00"},
              {"event_id": "e-3", "camera_id": "V031", "type": "OCCLUSION", "at": "2026-03-18T03:00:00+08:00"}]

    def events_page(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response("{}", status=401, content_type="application/json")
        start = int(request.args.get("cursor") or 0)
        body = {"events": events[start:start + 2], "next_cursor": str(start + 2) if start + 2 < len(events) else None}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1/cameras").respond_with_data(json.dumps(cameras),
                                                                  content_type="application/json")
    httpserver.expect_request("/api/v1/events").respond_with_handler(events_page)
    env = {**os.environ, "MINEWATCH_VIDEO_API_URL": httpserver.url_for("/"), "MINEWATCH_VIDEO_TOKEN": TOKEN,
           "MINEWATCH_VIDEO_API_MINES": M}
    proc = subprocess.run([sys.executable, "-m", "minewatch.cli", "airflow", "--landing", str(landing.parent),
                           "--dag", "ingest_video_system"], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "airflow: ingest_video_system: " in proc.stdout and "success" in proc.stdout
    assert query(db, "SELECT event_id, source_kind FROM core.video_event ORDER BY event_id") == [
        ("c-1", "CSV"), ("c-2", "CSV"), ("e-1", "REST"), ("e-2", "REST"), ("e-3", "REST")]
    assert query(db, "SELECT kind, count(*) FROM ledger.file WHERE status = 'loaded' GROUP BY kind ORDER BY kind") == [
        ("cameras", 1), ("video", 1), ("video_events", 2)]
    assert query(db, "SELECT watermark = '2026-03-18T03:00:00+08:00' FROM ledger.api_watermark") == [(True,)]
