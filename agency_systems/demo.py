"""The five demo agency systems together, as `make run` (and `make up`) serve them.

    with demo_systems(zones, scale=1.0) as env:    # SQLite registries, drop files, the Dinkes API on loopback
        run_chain(zones)                           # the connectors find them through AIRFLOW_CONN_* in `env`

Each agency module writes its own system (`write_demo(zones, scale=..., seed=...)`): Disdukcapil's
SIAK registry and DPMD's Dana Desa database as SQLite stand-ins for their PostgreSQL and MariaDB
servers, Disdik's workbooks and Diskominfo's complaint export into the drop folders, and Dinkes' data
behind a REST API that runs only while the block runs. Writing is deterministic and skipped when the
system already holds the same (scale, seed), so a second run finds no change.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
from collections.abc import Iterator

from ingestion.zones import Zones

log = logging.getLogger(__name__)

# agency system module -> what it is (for the console)
SYSTEMS: dict[str, str] = {
    "agency_systems.disdukcapil": "Disdukcapil SIAK registry (SQLite stand-in for PostgreSQL)",
    "agency_systems.dinkes": "Dinkes health data (REST API on 127.0.0.1)",
    "agency_systems.disdik": "Disdikbud school list and enrolment (Excel drops)",
    "agency_systems.dpmd": "DPMD Dana Desa (SQLite stand-in for MariaDB)",
    "agency_systems.pengaduan": "SP4N-LAPOR! complaints export (CSV drop, Diskominfo)",
}
DEFAULT_SEED = 20261128
API_PORT_ENV = "SATUDATA_DEMO_API_PORT"  # the Dinkes API's port (0: any free port)
DEFAULT_API_PORT = 8931


def write_all(zones: Zones, *, scale: float = 1.0, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Write every agency system; returns the environment (AIRFLOW_CONN_*) the connectors need."""
    env: dict[str, str] = {}
    for name, what in SYSTEMS.items():
        started = time.perf_counter()
        module = importlib.import_module(name)
        env.update(module.write_demo(zones, scale=scale, seed=seed))
        log.info("%s ready (%.1f s)", what, time.perf_counter() - started)
    return env


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def demo_systems(
    zones: Zones, *, scale: float = 1.0, seed: int = DEFAULT_SEED, port: int | None = None
) -> Iterator[dict[str, str]]:
    """Write the systems, start the Dinkes API, and set AIRFLOW_CONN_* for the duration of the block."""
    from agency_systems import dinkes

    env = write_all(zones, scale=scale, seed=seed)
    api_port = int(os.environ.get(API_PORT_ENV, DEFAULT_API_PORT)) if port is None else port
    with dinkes.serve(zones, host="127.0.0.1", port=api_port) as (base_url, api_env):
        env.update(api_env)
        log.info("Dinkes API serving at %s", base_url)
        with _environment(env):
            yield env




def api_environment(zones: Zones, port: int) -> dict[str, str]:
    """AIRFLOW_CONN_DINKES_API for the API that `python -m agency_systems.demo serve` runs on `port`."""
    from agency_systems import dinkes

    return {dinkes.CONNECTION_ENV: f"http://:{dinkes.api_token(zones)}@127.0.0.1:{port}{dinkes.API_PREFIX}"}


def main(argv: list[str] | None = None) -> int:
    """`python -m agency_systems.demo serve [--port N]`: the Dinkes API in the foreground (for `satudata up --demo`)."""
    import argparse
    import signal
    import threading

    from agency_systems import dinkes

    parser = argparse.ArgumentParser(prog="python -m agency_systems.demo", description=main.__doc__)
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--port", type=int, default=int(os.environ.get(API_PORT_ENV, DEFAULT_API_PORT)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with dinkes.serve(Zones.from_env(), host="127.0.0.1", port=args.port) as (base_url, _):
        log.info("serving the Dinkes demo API at %s until SIGTERM", base_url)
        while not stop.wait(1):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
