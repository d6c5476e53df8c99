"""Run the real Airflow DAGs on this machine: `minewatch airflow --landing DIR` (used by `make demo`).

Airflow's metadata database is SQLite under `$MINEWATCH_HOME/airflow`; the DAGs run with
`dag.test()`, in order (ingest DAGs first, then detection), against the same warehouse as
the CLI. The embedded warehouse, if used, is started here and handed to the DAGs by URL.
When the landing folder is a generated sample (`minewatch sample` leaves its vendor APIs'
data in `<landing>.api`) and no API is configured, the sample's vendor API is served on
loopback for the run, so the positioning and video DAGs pull from a real HTTP server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from minewatch.config import load_settings, project_root
from minewatch.warehouse import resolve_url

# the order a local run goes in: reference data, then the feeds, then detection
DAG_ORDER = [
    "ingest_registry",
    "ingest_safety_monitoring",
    "ingest_personnel_positioning",
    "ingest_video_system",
    "ingest_utility_meters",
    "ingest_explosives",
    "detect_concealed_works",
]


def airflow_env(landing: Path, warehouse_url: str) -> dict[str, str]:
    """The environment the DAGs run in."""
    settings = load_settings()
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "MINEWATCH_WAREHOUSE_URL": warehouse_url,
        "MINEWATCH_LANDING": str(landing.resolve()),
        "MINEWATCH_HOME": str(settings.home),
        "PYTHONWARNINGS": "ignore",
    }


def sample_apis(landing: Path):
    """(server, environment) serving a generated sample's vendor APIs; (None, {}) when there are none to serve."""
    if any(os.environ.get(f"MINEWATCH_{f}_API_URL") for f in ("POSITIONING", "VIDEO")):
        return None, {}
    api_dir = Path(str(landing.resolve()) + ".api")
    manifest_path = api_dir / "manifest.json"
    if not manifest_path.is_file():
        return None, {}
    import json

    from minewatch.sample.server import serve

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    server = serve(str(api_dir), token=manifest["token"], page_size=1000)
    env = {}
    for feed, key in (("POSITIONING", "positions"), ("VIDEO", "video")):
        mines = [m for m, has in manifest["mines"].items() if has.get(key)]
        if mines:
            env[f"MINEWATCH_{feed}_API_URL"] = server.url
            env[f"MINEWATCH_{feed}_TOKEN"] = manifest["token"]
            env[f"MINEWATCH_{feed}_API_MINES"] = ",".join(mines)
    return server, env


def run_dags(landing: Path, dag_ids: list[str] | None = None) -> int:
    """Migrate Airflow's metadata DB, then test-run the DAGs; 0 when every run succeeded."""
    from minewatch.pipeline import LandingError

    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} does not exist")
    url = resolve_url()  # keeps the embedded server up for as long as this process lives
    server, api_env = sample_apis(landing)
    if server is not None:
        served = [f"{f.lower()} for {len(v.split(','))} mine(s)" for f in ("POSITIONING", "VIDEO")
                  if (v := api_env.get(f"MINEWATCH_{f}_API_MINES"))]
        print(f"sample vendor API on {server.url}: {', '.join(served) or 'nothing to serve'}")
    try:
        return _run(landing, url, api_env, dag_ids)
    finally:
        if server is not None:
            server.shutdown()


def _run(landing: Path, url: str, api_env: dict[str, str], dag_ids: list[str] | None) -> int:
    env = {**os.environ, **airflow_env(landing, url), **api_env}
    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env,
                             capture_output=True, text=True, check=False)
    if migrate.returncode != 0:
        tail = (migrate.stderr.strip().splitlines() or ["(no output)"])[-1]
        print(f"minewatch: airflow db migrate failed: {tail}", file=sys.stderr)
        return 2
    code = subprocess.run([sys.executable, "-m", "minewatch.airflow_local", *(dag_ids or [])], env=env,
                          check=False).returncode
    return code


def _test_dags(dag_ids: list[str]) -> int:
    """In the Airflow environment: parse the DAG folder and dag.test() each DAG in order."""
    import logging

    from airflow.dag_processing.dagbag import DagBag

    logging.getLogger("airflow").setLevel(logging.WARNING)
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"minewatch: DAG file {path} does not import: {err.strip().splitlines()[-1]}", file=sys.stderr)
        return 1
    wanted = dag_ids or [d for d in DAG_ORDER if d in bag.dags] + sorted(set(bag.dags) - set(DAG_ORDER))
    failed = []
    for dag_id in wanted:
        dag = bag.dags.get(dag_id)
        if dag is None:
            print(f"minewatch: no DAG {dag_id} in {os.environ['AIRFLOW__CORE__DAGS_FOLDER']}", file=sys.stderr)
            failed.append(dag_id)
            continue
        run = dag.test(run_conf={"landing": os.environ["MINEWATCH_LANDING"]})
        state = str(getattr(run, "state", "unknown"))
        print(f"airflow: {dag_id}: {state}")
        if "success" not in state:
            failed.append(dag_id)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_test_dags(sys.argv[1:]))
