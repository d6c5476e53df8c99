"""The real DAGs, run by Airflow (dag.test) over a small landing folder, into a real warehouse."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import query

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "registry"


@pytest.mark.airflow
def test_registry_dag_loads_and_detection_flags(db, tmp_path):
    landing = tmp_path / "landing"
    (landing / "registry").mkdir(parents=True)
    for name in ("mines.csv", "areas.csv", "seals.csv"):
        shutil.copy(FIX / name, landing / "registry" / name)
    proc = subprocess.run([sys.executable, "-m", "minewatch.cli", "airflow", "--landing", str(landing)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "airflow: ingest_registry: " in proc.stdout and "success" in proc.stdout
    assert "airflow: detect_concealed_works: " in proc.stdout
    assert query(db, "SELECT count(*) FROM core.area_current")[0][0] == 7
    assert query(db, "SELECT reason FROM quarantine.record") == [("bad_number",)]
    assert query(db, "SELECT flag_code, subject_code FROM mart.flags") == [("SEAL_UNWATCHED", "M-08")]
    # a second run finds nothing new and changes nothing
    again = subprocess.run([sys.executable, "-m", "minewatch.cli", "airflow", "--landing", str(landing),
                            "--dag", "ingest_registry"], capture_output=True, text=True, env=dict(os.environ),
                           timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert query(db, "SELECT count(*) FROM ledger.file")[0][0] == 3
