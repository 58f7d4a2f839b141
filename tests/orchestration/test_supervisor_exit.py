"""orchestration/supervisor_exit.py: the supervisor sees a task process exit at once once its sockets are closed.

The stand-in below is the supervisor's state only (named as such): the select() and the wait are
Airflow's own `WatchedSubprocess._service_subprocess`, patched in a fresh interpreter, on real
sockets. The effect in the platform is measured by `benchmarks.latency` (queued -> running hops).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestration.supervisor_exit import install

# Runs in a fresh interpreter: install() patches Airflow's supervisor for the whole process.
SCENARIO = """
import selectors, socket, time, types
from orchestration.supervisor_exit import install
assert install(["airflow", "scheduler"])
from airflow.sdk.execution_time.supervisor import WatchedSubprocess

def stand_in(open_sockets):
    # The supervisor's state as _service_subprocess reads it (a stand-in; the method is Airflow's).
    state = types.SimpleNamespace(selector=selectors.DefaultSelector(), _exit_code=None, _open_sockets={})
    state._check_subprocess_exit = lambda **kw: None  # the task process has not exited yet
    for sock in open_sockets:
        state.selector.register(sock, selectors.EVENT_READ, (lambda s: True, lambda s: None))
        state._open_sockets[sock] = "stdout"
    return state

def waited(state, max_wait):
    started = time.monotonic()
    WatchedSubprocess._service_subprocess(state, max_wait_time=max_wait)
    return time.monotonic() - started

closed = waited(stand_in([]), 3.0)
quiet, _ = socket.socketpair()
still_open = waited(stand_in([quiet]), 0.4)
print(f"{closed:.3f} {still_open:.3f}")
"""


def test_with_every_socket_closed_the_exit_is_looked_for_at_once() -> None:
    done = subprocess.run([sys.executable, "-c", SCENARIO], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    closed, still_open = (float(x) for x in done.stdout.split()[-2:])
    assert closed < 0.5  # Airflow alone sleeps the whole 3 s here (5 s in the platform)
    assert still_open >= 0.35  # with a socket open, select() still waits for it as Airflow does


@pytest.mark.parametrize("command", ["triggerer", "api-server", "dag-processor"])
def test_nothing_changes_outside_the_scheduler(command: str) -> None:
    assert install(["airflow", command]) is False
