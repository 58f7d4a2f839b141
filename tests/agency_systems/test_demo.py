"""The demo systems' Dinkes API runs in its own process, like an agency's: it listens before the block starts,
and after the block (also one that raises, also when the parent dies) no process and no listening port remain."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agency_systems import demo, dinkes
from agency_systems.demo import DemoSystemsError, api_process, demo_systems
from ingestion.zones import DATA_DIR_ENV, Zones
from orchestration.platform import pid_alive
from tests.agency_systems.test_dinkes import synthetic_children


@pytest.fixture
def store(zones: Zones) -> Zones:
    dinkes.write_demo(zones, seed=11, children=synthetic_children(count=50))
    return zones


def _port(url: str) -> int:
    return int(httpx.URL(url).port or 0)


def _listener_pid(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:`port` (from /proc), None when nobody listens."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:  # a process that ended meanwhile, or one we may not read
            continue
    return None


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _token(env: dict[str, str]) -> str:
    return env[dinkes.CONNECTION_ENV].split("@")[0].rsplit(":", 1)[1]


def test_api_serves_from_another_process_and_is_gone_after_the_block(store: Zones, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "elsewhere"))  # the child is told the zones' root, not this
    with api_process(store, 0) as (base_url, env):
        port = _port(base_url)
        assert port > 0 and _port(env[dinkes.CONNECTION_ENV]) == port
        pid = _listener_pid(port)
        assert pid is not None and pid != os.getpid()
        assert b"agency_systems.demo" in Path(f"/proc/{pid}/cmdline").read_bytes()
        answer = httpx.get(f"{base_url}/puskesmas", headers={"Authorization": f"Bearer {_token(env)}"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["count"] == 19
    assert not pid_alive(pid)
    assert _refused(port)


def test_demo_systems_stops_the_api_when_the_block_raises(zones: Zones) -> None:
    seen: dict[str, int] = {}
    with pytest.raises(RuntimeError, match="the chain failed"), demo_systems(zones, scale=0.01, port=0) as env:
        assert os.environ[dinkes.CONNECTION_ENV] == env[dinkes.CONNECTION_ENV]
        seen["port"] = _port(env[dinkes.CONNECTION_ENV])
        seen["pid"] = _listener_pid(seen["port"]) or 0
        raise RuntimeError("the chain failed")
    assert seen["pid"] not in (0, os.getpid())
    assert not pid_alive(seen["pid"])
    assert _refused(seen["port"])
    assert dinkes.CONNECTION_ENV not in os.environ


def test_a_port_in_use_is_an_error_naming_the_port_and_the_childs_complaint(store: Zones) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with (
            pytest.raises(
                DemoSystemsError, match=rf"(?s)port {port}\) exited with code 1.*127.0.0.1:{port}: .*Address already in use"
            ),
            api_process(store, port),
        ):
            pytest.fail("the block ran although the API could not listen")


def test_a_missing_store_is_an_error_naming_it(zones: Zones) -> None:
    with pytest.raises(DemoSystemsError, match=r"(?s)exited with code 1.*no Dinkes store"), api_process(zones, 0):
        pytest.fail("the block ran although the API had nothing to serve")


def test_an_api_that_never_listens_is_killed_and_named(store: Zones, monkeypatch) -> None:
    # a server stuck before listening that also ignores SIGTERM: the wait ends, then SIGKILL
    stuck = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('loading', file=sys.stderr); time.sleep(60)"
    )
    monkeypatch.setattr(demo, "_serve_command", lambda port: [sys.executable, "-c", stuck])
    monkeypatch.setattr(demo, "API_START_SECONDS", 1)
    monkeypatch.setattr(demo, "API_STOP_SECONDS", 1)
    with pytest.raises(DemoSystemsError, match=r"(?s)port 0, pid (\d+)\) did not listen within 1 s.*loading") as raised:
        with api_process(store, 0):
            pytest.fail("the block ran although the API never listened")
    pid = int(re.search(r"pid (\d+)", str(raised.value)).group(1))
    assert not pid_alive(pid)


def test_the_api_stops_when_its_parent_goes_away(store: Zones) -> None:
    # what api_process relies on when its own process is killed and no `finally` runs: the pipe closes
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "agency_systems.demo", "serve", "--port", "0", "--until-stdin-closes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        port = _port(child.stdout.readline().decode().strip())
        assert _listener_pid(port) == child.pid
        started = time.monotonic()
        child.stdin.close()
        assert child.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert _refused(port)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
