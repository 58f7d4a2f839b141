"""The five demo agency systems together, as `make run` (and `make up`) serve them.

    with demo_systems(zones, scale=1.0) as env:    # SQLite registries, drop files, the Dinkes API on loopback
        run_chain(zones)                           # the connectors find them through AIRFLOW_CONN_* in `env`

Each agency module writes its own system (`write_demo(zones, scale=..., seed=...)`): Disdukcapil's
SIAK registry and DPMD's Dana Desa database as SQLite stand-ins for their PostgreSQL and MariaDB
servers, Disdik's workbooks and Diskominfo's complaint export into the drop folders, and Dinkes' data
behind a REST API that runs only while the block runs, in its own process as an agency's server does
(`api_process`; in the caller's process its JSON encoding would compete with the ingest for one GIL).
Writing is deterministic and skipped when the system already holds the same (scale, seed), so a second
run finds no change.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import IO
from urllib.parse import urlsplit

from ingestion.catalog import REPO_ROOT
from ingestion.zones import DATA_DIR_ENV, Zones

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
API_START_SECONDS = 30  # from starting the API's process until it listens
API_STOP_SECONDS = 5  # from SIGTERM until SIGKILL


class DemoSystemsError(RuntimeError):
    """A demo agency system could not be started."""


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
    env = write_all(zones, scale=scale, seed=seed)
    api_port = int(os.environ.get(API_PORT_ENV, DEFAULT_API_PORT)) if port is None else port
    with api_process(zones, api_port) as (_base_url, api_env):
        env.update(api_env)
        with _environment(env):
            yield env


@contextlib.contextmanager
def api_process(zones: Zones, port: int) -> Iterator[tuple[str, dict[str, str]]]:
    """The Dinkes API in its own process for the block (`python -m agency_systems.demo serve`), as an agency
    runs it: its JSON encoding does not share an interpreter with the client's decoding. Yields (base_url,
    {AIRFLOW_CONN_DINKES_API: uri}); port 0 takes any free port. The process is gone after the block."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 (our own module, no shell)
            _serve_command(port),
            cwd=REPO_ROOT,
            env={**os.environ, DATA_DIR_ENV: str(zones.root)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        listened = False
        try:
            base_url = _served_url(process, stderr, port)
            listened = True
            log.info("Dinkes API process %d serving at %s", process.pid, base_url)
            yield base_url, api_environment(zones, urlsplit(base_url).port or port)
        finally:
            if listened and process.poll() is not None:
                log.warning(
                    "the Dinkes API (pid %d) ended during the block, with code %s; its stderr ends:\n%s",
                    process.pid,
                    process.returncode,
                    _tail(stderr),
                )
            _stop(process)


def _serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "agency_systems.demo", "serve", "--port", str(port), "--until-stdin-closes"]


def _served_url(process: subprocess.Popen, stderr: IO[bytes], port: int) -> str:
    """The base URL the child writes on stdout once its socket listens; an error naming the port otherwise."""
    assert process.stdout is not None
    received = b""
    deadline = time.monotonic() + API_START_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DemoSystemsError(
                    f"the Dinkes API (port {port}, pid {process.pid}) did not listen within "
                    f"{API_START_SECONDS} s; its stderr ends:\n{_tail(stderr)}"
                )
            chunk = os.read(process.stdout.fileno(), 4096) if selector.select(timeout=min(remaining, 0.1)) else None
            if chunk == b"" or process.poll() is not None:  # stdout closed or exited: it is not going to listen
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=API_STOP_SECONDS)
                raise DemoSystemsError(
                    f"the Dinkes API (port {port}) exited with code {process.returncode} before "
                    f"it listened; its stderr ends:\n{_tail(stderr)}"
                )
            received += chunk or b""
    return received.split(b"\n", 1)[0].decode().strip()


def _tail(stderr: IO[bytes], size: int = 2000) -> str:
    stderr.flush()
    stderr.seek(0, os.SEEK_END)
    stderr.seek(max(0, stderr.tell() - size))
    return stderr.read().decode("utf-8", "replace").strip() or "(nothing)"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL when it has not exited after API_STOP_SECONDS; reaps it, closes its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=API_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("the Dinkes API (pid %d) ignored SIGTERM for %d s; killing it", process.pid, API_STOP_SECONDS)
            process.kill()
            process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


def api_environment(zones: Zones, port: int) -> dict[str, str]:
    """AIRFLOW_CONN_DINKES_API for the API that `python -m agency_systems.demo serve` runs on `port`."""
    from agency_systems import dinkes

    return {dinkes.CONNECTION_ENV: f"http://:{dinkes.api_token(zones)}@127.0.0.1:{port}{dinkes.API_PREFIX}"}


def _set_when_stdin_closes(stop: threading.Event) -> None:
    # os.read on the descriptor, not sys.stdin: a daemon thread blocked in a buffered read holds its lock,
    # and the interpreter aborts when it cannot take that lock at exit.
    while os.read(sys.stdin.fileno(), 4096):
        pass
    stop.set()


def main(argv: list[str] | None = None) -> int:
    """`python -m agency_systems.demo serve [--port N]`: the Dinkes API in the foreground (for `satudata up --demo`
    and `api_process`). Once it listens, it writes its base URL on stdout; it stops on SIGTERM or SIGINT."""
    import argparse
    import signal

    from agency_systems import dinkes

    parser = argparse.ArgumentParser(prog="python -m agency_systems.demo", description=main.__doc__)
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--port", type=int, default=int(os.environ.get(API_PORT_ENV, DEFAULT_API_PORT)), help="0: any free port")
    parser.add_argument(
        "--until-stdin-closes",
        action="store_true",
        help="also stop when stdin closes (the parent holding the pipe exited, even by SIGKILL)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.until_stdin_closes:
        threading.Thread(target=_set_when_stdin_closes, args=(stop,), name="stdin-watch", daemon=True).start()
    zones = Zones.from_env()
    try:
        with dinkes.serve(zones, host="127.0.0.1", port=args.port) as (base_url, _):
            log.info("serving the Dinkes demo API at %s until SIGTERM", base_url)
            sys.stdout.write(base_url + "\n")  # the readiness line `api_process` waits for
            sys.stdout.flush()
            while not stop.wait(1):
                pass
    except (OSError, dinkes.DinkesDemoError) as exc:
        log.error("cannot serve the Dinkes demo API of %s on 127.0.0.1:%d: %s", zones.root, args.port, exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
