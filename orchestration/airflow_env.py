"""The embedded Airflow home: where `satudata run` and the tests keep Airflow's metadata DB and logs.

Airflow reads its configuration once, when `airflow` is first imported, so `activate()` must run
before anything imports it. The home is `$SATUDATA_DATA_DIR/state/airflow` unless
`SATUDATA_AIRFLOW_HOME` names another folder (the test suite points it at a session temp dir, so
one migrated SQLite DB serves every test).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from ingestion.catalog import REPO_ROOT
from ingestion.zones import DATA_DIR_ENV, Zones

log = logging.getLogger(__name__)

HOME_ENV = "SATUDATA_AIRFLOW_HOME"
DAGS_FOLDER = REPO_ROOT / "dags"
LOCAL_SETTINGS = Path(__file__).with_name("airflow_local_settings.py")


def airflow_command(argv: list[str]) -> str | None:
    """The Airflow command this process runs (`airflow scheduler --skip-serve-logs` -> "scheduler")."""
    return next((arg for arg in argv[1:] if not arg.startswith("-")), None)


def airflow_home(zones: Zones) -> Path:
    override = os.environ.get(HOME_ENV)
    return Path(override).resolve() if override else zones.state / "airflow"


def airflow_env(zones: Zones, home: Path, *, api_port: int = 8080) -> dict[str, str]:
    """The environment for every Airflow process of this platform (embedded or real components)."""
    return {
        "AIRFLOW_HOME": str(home),
        DATA_DIR_ENV: str(zones.root),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # The LocalExecutor pre-forks `parallelism` workers (default 32) on a 2-core machine.
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def prepare_home(home: Path) -> None:
    """Create the home and install our `airflow_local_settings.py` into its `config/` folder."""
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    target = config / "airflow_local_settings.py"
    if not target.exists() or target.read_bytes() != LOCAL_SETTINGS.read_bytes():
        shutil.copyfile(LOCAL_SETTINGS, target)


def activate(zones: Zones) -> Path:
    """Point this process's Airflow at the embedded home; returns the home.

    Raises RuntimeError when Airflow was already imported with another home, because Airflow
    would silently keep using that one.
    """
    home = airflow_home(zones)
    prepare_home(home)
    if "airflow.configuration" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(home):
        raise RuntimeError(
            f"Airflow was imported before its home was set (AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME')!r}, "
            f"wanted {home}); call orchestration.airflow_env.activate() first"
        )
    os.environ.update(airflow_env(zones, home))
    return home


def ensure_db(home: Path) -> None:
    """Create or migrate the metadata DB once per Airflow version (a marker file records it)."""
    import airflow
    from airflow.utils import db

    marker = home / f".migrated-{airflow.__version__}"
    if marker.exists():
        return
    log.info("creating the Airflow metadata DB in %s (once)", home)
    db.initdb()
    marker.touch()
