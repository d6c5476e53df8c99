"""ingest_safety_monitoring, run by Airflow (dag.test) over a small landing folder, into a real warehouse."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from minewatch.config import load_settings
from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "safety"


@pytest.mark.airflow
def test_safety_dag_loads_new_files_once_and_publishes_its_asset(db, tmp_path):
    landing = tmp_path / "landing"
    files = {"140211001234": ("140211001234_CDDY_20260318080000.txt", "140211001234_CDSS_20260318080010.txt"),
             "14021100123": ("14021100123_AQMC_20260318080000.txt", "14021100123_AQKC_20260318080000.txt",
                             "14021100123_AQSS_20260318080010.txt")}
    for mine, names in files.items():
        (landing / mine).mkdir(parents=True)
        for name in names:
            shutil.copy(FIX / name, landing / mine / name)
    # the same DAG twice: the second run finds nothing new
    proc = subprocess.run([sys.executable, "-m", "minewatch.cli", "airflow", "--landing", str(landing),
                           "--dag", "ingest_safety_monitoring", "--dag", "ingest_safety_monitoring"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stdout.count("airflow: ingest_safety_monitoring: ") == 2
    assert proc.stdout.count("success") == 2

    assert query(db, "SELECT status, count(*) FROM ledger.file GROUP BY 1") == [("loaded", 5)]
    assert query(db, "SELECT count(*) FROM core.safety_reading")[0][0] == 6 + 6
    assert query(db, "SELECT reason, count(*) FROM quarantine.record WHERE status = 'held' GROUP BY 1 ORDER BY 1") == [
        ("duplicate_key", 1), ("unknown_point", 3)]

    airflow_db = sqlite3.connect(load_settings().airflow_home / "airflow.db")
    try:
        states = airflow_db.execute(
            """SELECT r.task_id, r.state FROM task_instance r JOIN dag_run d ON d.run_id = r.run_id
                WHERE r.dag_id = 'ingest_safety_monitoring' ORDER BY d.id, r.task_id""").fetchall()
        events = airflow_db.execute(
            """SELECT a.name FROM asset_event e JOIN asset a ON a.id = e.asset_id
                WHERE e.source_dag_id = 'ingest_safety_monitoring'""").fetchall()
    finally:
        airflow_db.close()
    # the first run loads and publishes minewatch_safety; the second skips its load and publishes nothing
    assert states == [("find_new_files", "success"), ("load", "success"),
                      ("find_new_files", "success"), ("load", "skipped")]
    assert events == [("minewatch_safety",)]
