"""The `minewatch` command as operators and scripts use it (contract I), as a real subprocess."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "registry"


def mw(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minewatch.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, check=False)


def test_run_status_and_flags(warehouse_url, tmp_path):
    landing = tmp_path / "landing" / "registry"
    landing.mkdir(parents=True)
    for name in ("mines.csv", "areas.csv", "seals.csv"):
        shutil.copy(FIX / name, landing / name)
    up = mw("db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert "applied" in up.stdout
    assert "up to date" in mw("db", "upgrade").stdout

    run = mw("run", "--landing", str(tmp_path / "landing"))
    assert run.returncode == 0, run.stderr
    assert "3 loaded" in run.stdout
    assert "record 6: bad_number" in run.stdout

    st = mw("status", "--json")
    assert st.returncode == 0, st.stderr
    report = json.loads(st.stdout)
    assert {"feed": "registry", "kind": "areas", "status": "loaded", "count": 1} in report["files"]
    assert report["quarantine"] == [{"feed": "registry", "reason": "bad_number", "count": 1}]
    for key in ("safety_readings", "positioning_reads", "video_events", "meter_intervals", "explosives_issues"):
        assert report["rows"][key] == 0
    assert report["rows"]["registry_areas"] == 7

    flags = json.loads(mw("flags", "--format", "json").stdout)
    assert [(f["flag_code"], f["subject_code"], f["severity"]) for f in flags] == [("SEAL_UNWATCHED", "M-08", 3)]
    csv_out = mw("flags", "--format", "csv", "--mine", "410403004688").stdout.splitlines()
    assert csv_out[0].startswith("flag_id,mine_code,flag_code")
    assert len(csv_out) == 2
    assert mw("flags", "--mine", "999999").stdout.strip() == "no flags"


def one_line_error(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_bad_url_is_one_line():
    line = one_line_error(mw("status", env={"MINEWATCH_WAREHOUSE_URL": "mysql://x@y/z"}))
    assert "is not a postgresql:// URL" in line


def test_unreachable_server_is_one_line():
    line = one_line_error(mw("status", env={"MINEWATCH_WAREHOUSE_URL": "postgresql://postgres@127.0.0.1:1/none"}))
    assert "cannot reach the warehouse at postgresql://postgres@127.0.0.1:1/none" in line


def test_password_is_not_printed():
    line = one_line_error(mw("status", env={"MINEWATCH_WAREHOUSE_URL": "postgresql://u:s3cret@127.0.0.1:1/none"}))
    assert "s3cret" not in line


def test_missing_landing_folder_is_one_line(warehouse_url, tmp_path):
    line = one_line_error(mw("run", "--landing", str(tmp_path / "nope")))
    assert "landing folder" in line and "does not exist" in line
