"""orchestration/triggerer_wakeup.py: the triggerer's runner loop wakes when an event is queued, not a second later.

The effect under the real triggerer is measured by `benchmarks.latency` (signal -> ingest run queued) and
exercised by every watcher test in this folder; these tests pin down the parts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import anyio
import pytest

from orchestration.triggerer_wakeup import Bell, RingingQueue, install


def _timed_wait(bell: Bell, limit: float) -> float:
    """Seconds until `bell.wait()` returned, at most `limit` (the runner's one-second round)."""

    async def timed() -> float:
        started = time.monotonic()
        with anyio.move_on_after(limit):
            await bell.wait()
        return time.monotonic() - started

    return anyio.run(timed)


def test_a_ring_ends_the_wait_without_stopping_the_runner() -> None:
    bell = Bell()

    async def ring_later() -> tuple[float, bool]:
        async with anyio.create_task_group() as group:
            started = time.monotonic()

            async def ring() -> None:
                await anyio.sleep(0.05)
                bell.ring()

            group.start_soon(ring)
            with anyio.move_on_after(1):
                await bell.wait()
            return time.monotonic() - started, bell.is_set()

    waited, stopped = anyio.run(ring_later)
    assert waited < 0.5 and not stopped
    assert _timed_wait(bell, 0.2) >= 0.19  # rung once, woken once: the next round sleeps again


def test_a_ring_while_the_loop_is_busy_is_kept_for_the_next_wait() -> None:
    bell = Bell()
    bell.ring()  # an event queued while the runner was syncing, not waiting
    assert _timed_wait(bell, 1) < 0.5


def test_set_stops_the_runner_and_every_later_wait_returns() -> None:
    bell = Bell()
    bell.set()
    assert bell.is_set()
    assert _timed_wait(bell, 1) < 0.5 and _timed_wait(bell, 1) < 0.5


def test_the_event_queue_rings_the_runners_bell_on_append() -> None:
    runner = SimpleNamespace(events=[], _stop_event=Bell())
    queue = RingingQueue(runner)
    runner.events = queue
    queue.append("event")
    assert list(queue) == ["event"]
    assert _timed_wait(runner._stop_event, 1) < 0.5


@pytest.mark.parametrize("command", ["scheduler", "api-server", "dag-processor"])
def test_nothing_changes_outside_the_triggerer(command: str) -> None:
    assert install(["airflow", command]) is False


def test_in_the_triggerer_the_runner_gets_the_bell_and_the_ringing_queue() -> None:
    # In a fresh interpreter: install() patches Airflow's triggerer module for the whole process.
    code = (
        "from orchestration.triggerer_wakeup import Bell, RingingQueue, install\n"
        "assert install(['airflow', 'triggerer'])\n"
        "from airflow.jobs import triggerer_job_runner as m\n"
        "runner = m.TriggerRunner()\n"
        "assert isinstance(runner.events, RingingQueue), type(runner.events)\n"
        "assert isinstance(m.anyio.Event(), Bell) and m.anyio.move_on_after is not None\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
