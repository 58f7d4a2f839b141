"""The platform under the real scheduler: Airflow's api-server, scheduler, dag-processor and triggerer.

`satudata up` (`make up`) starts the four components as background processes, each in its own
process group with a PID file under `<airflow home>/run/`, all bound to 127.0.0.1; `satudata down`
(`make down`) stops every group it started (SIGTERM, then SIGKILL after a grace period), so no
component is left behind (Airflow's `standalone` leaves its children running when stopped).

serve-logs would bind 0.0.0.0:8793/8794, so the scheduler and triggerer run with
`--skip-serve-logs`; the api-server reads task logs from the shared log folder instead.
The metadata DB is SQLite in the Airflow home unless `SATUDATA_AIRFLOW_DB` gives an SQLAlchemy URL
(e.g. postgresql+psycopg://airflow@127.0.0.1:5432/airflow).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.catalog import CATALOG_DIR_ENV
from ingestion.zones import Zones
from orchestration import airflow_env
from orchestration.agency_tokens import simple_auth_users

log = logging.getLogger(__name__)

DB_ENV = "SATUDATA_AIRFLOW_DB"
ADMIN_USER = "admin"
USERS_ENV = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"
COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server", "-H", "127.0.0.1", "-p", "{port}", "-w", "1"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
HEALTH_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
STOP_GRACE_SECONDS = 20


class PlatformError(RuntimeError):
    """A component failed to start, or the platform is already running."""


@dataclass
class Platform:
    """The running components of one Airflow home, found through their PID files."""

    zones: Zones
    home: Path
    port: int = 8080
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, name: str) -> Path:
        return self.home / "run" / f"{name}.log"

    def environment(self) -> dict[str, str]:
        """The environment every component gets: ours, with any stray AIRFLOW_* of the caller removed.

        The caller's connections (AIRFLOW_CONN_<ID>, how agencies' credentials are given) pass through;
        our settings and `extra_env` win on a clash.
        """
        env = {
            k: v for k, v in os.environ.items()
            if (not k.startswith("AIRFLOW") or k.startswith("AIRFLOW_CONN_")) and k != airflow_env.HOME_ENV
        }
        env.update(airflow_env.airflow_env(self.zones, self.home, api_port=self.port))
        secret_file = self.home / "jwt_secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
            secret_file.chmod(0o600)
        env.update({
            "AIRFLOW__API_AUTH__JWT_SECRET": secret_file.read_text().strip(),  # one secret for all components
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # The scheduler loop sleeps this long when it found nothing to do (default 1 s): each hop of an
            # event (asset event -> run -> task) waits up to one sleep. 0.1 s costs the idle scheduler ~10 %
            # of one core (0.25 s: ~5 %) for ~0.5 s less per change. Measured in benchmarks/latency.py.
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.1",
            "AIRFLOW__API__WORKERS": "1",
        })
        if os.environ.get(DB_ENV):
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = os.environ[DB_ENV]
        env.update(self.extra_env)
        if USERS_ENV not in env:  # the admin, and one user per agency that posts asset events
            env[USERS_ENV] = simple_auth_users(ADMIN_USER, env.get(CATALOG_DIR_ENV))
        return env

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Migrate the metadata DB, then start the four components in the background."""
        if self.running():
            raise PlatformError(f"already running ({', '.join(self.running())}); stop it with `satudata down`")
        airflow_env.prepare_home(self.home)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        command = [sys.executable, "-m", "airflow"]
        migrate = subprocess.run([*command, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
        if migrate.returncode != 0:
            raise PlatformError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
        for name in COMPONENTS:
            self.start_component(name, env)

    def start_component(self, name: str, env: dict[str, str] | None = None) -> int:
        """Start one component in the background (e.g. a scheduler again after it died); returns its pid."""
        if name in self.running():
            raise PlatformError(f"{name} is already running (pid {self.running()[name]})")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path(name).open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", *(arg.format(port=self.port) for arg in COMPONENTS[name])],
                env=env or self.environment(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: `down` reaches its workers too
            )
        (self.run_dir / f"{name}.pid").write_text(str(process.pid))
        log.info("started %s (pid %d, log %s)", name, process.pid, self.log_path(name))
        return process.pid

    def running(self) -> dict[str, int]:
        """Component name -> pid, for the components whose process is alive."""
        alive = {}
        for name in COMPONENTS:
            pid = _read_pid(self.run_dir / f"{name}.pid")
            if pid is not None and pid_alive(pid):
                alive[name] = pid
        return alive

    def stop(self) -> list[str]:
        """Stop every component with all its descendants; returns the names that were running.

        Airflow's task supervisor gives each task process a process group of its own, so signalling
        the components' groups is not enough: the whole process tree is collected first.
        """
        import psutil

        leaders = {name: pid for name in COMPONENTS if (pid := _read_pid(self.run_dir / f"{name}.pid")) is not None}
        tree: list[psutil.Process] = []
        for pid in leaders.values():
            try:
                leader = psutil.Process(pid)
                tree += [leader, *leader.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        for pid in leaders.values():
            _signal_group(pid, signal.SIGTERM)
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        # wait_procs also reaps the ones that are our own children (the test suite starts them).
        _, alive = psutil.wait_procs(tree, timeout=STOP_GRACE_SECONDS)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=5)
        for name, pid in leaders.items():
            _signal_group(pid, signal.SIGKILL)  # anything that joined a group after we looked
            (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
        return sorted(leaders)

    def wait_healthy(self, timeout: float = 180) -> None:
        """Wait until the API reports every component healthy; raise with the logs' tails if not."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            dead = [name for name in COMPONENTS if name not in self.running()]
            if dead:
                raise PlatformError(f"{', '.join(dead)} exited\n{self.logs()}")
            try:
                health = self.get("/api/v2/monitor/health")
                if all(health.get(part, {}).get("status") == "healthy" for part in HEALTH_PARTS):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as exc:
                last = exc
            time.sleep(1)
        raise PlatformError(f"not healthy after {timeout:.0f} s (last error: {last})\n{self.logs()}")

    # --- talking to it ---------------------------------------------------------------------------

    def get(self, path: str, token: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
            return json.loads(response.read())

    def password(self) -> str | None:
        """The admin password Airflow's simple auth manager generated, once the api-server has started."""
        generated = self.home / "simple_auth_manager_passwords.json.generated"
        try:
            return json.loads(generated.read_text()).get(ADMIN_USER)
        except (OSError, ValueError):
            return None

    def logs(self, tail: int = 40) -> str:
        parts = []
        for name in COMPONENTS:
            path = self.log_path(name)
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"----- {name} (last {tail} lines of {path}) -----\n" + "\n".join(lines[-tail:]))
        return "\n".join(parts)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited and not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
