"""The triggerer hands a fired event on at once, not at its next one-second tick.

Airflow's `TriggerRunner` (the triggerer's asyncio subprocess, airflow/jobs/triggerer_job_runner.py)
queues the events its triggers fire and sends them to its supervisor, which stores them in the
metadata DB, once per round of its main loop; between rounds it sleeps one second
(`anyio.move_on_after(1)` around `await stop_event.wait()`). So an event from a watcher - a settled
drop, a broker message, a moved change marker - waited 0.5 s on average, and up to 1 s, before the
scheduler could see it (benchmarks/README.md, issue 6).

`install()` makes that sleep end as soon as an event is queued: the runner's stop event (the only
`anyio.Event` the module makes) becomes a `Bell` whose `wait()` also returns when rung, and the
runner's outbound event queue rings it on every append. With nothing fired, the loop sleeps as before,
so an idle triggerer does no more work. It acts only in the triggerer, and only on the Airflow it
was written for: if the runner no longer has that shape it changes nothing and says so.
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from types import ModuleType
from typing import Any

import anyio

from orchestration.airflow_env import airflow_command

log = logging.getLogger(__name__)

_installed = False


class Bell:
    """The runner's stop event: `set()` stops the runner as before; `ring()` only ends the current `wait()`.

    A ring while the loop is busy is kept, so the next `wait()` returns at once: no event waits a round.
    """

    def __init__(self) -> None:
        self._stopped = False
        self._rung = anyio.Event()

    def set(self) -> None:
        self._stopped = True
        self._rung.set()

    def is_set(self) -> bool:
        return self._stopped

    def ring(self) -> None:
        self._rung.set()

    async def wait(self) -> None:
        await self._rung.wait()
        if not self._stopped:
            self._rung = anyio.Event()


class _AnyioWithBell(ModuleType):
    """`anyio` as the runner module sees it: the same, except that `Event()` is a `Bell`."""

    def __init__(self) -> None:
        super().__init__("anyio")

    def __getattr__(self, name: str) -> Any:
        return getattr(anyio, name)

    Event = Bell


class RingingQueue(deque):
    """The runner's outbound event queue: every event appended rings the runner's bell."""

    def __init__(self, runner: Any) -> None:
        super().__init__(runner.events)
        self._runner = runner

    def append(self, item: Any) -> None:
        super().append(item)
        bell = getattr(self._runner, "_stop_event", None)
        if isinstance(bell, Bell):
            bell.ring()


def install(argv: list[str] | None = None) -> bool:
    """In the triggerer: wake the runner's loop when an event is queued; returns whether it did."""
    global _installed
    if _installed:
        return True
    if airflow_command(sys.argv if argv is None else argv) != "triggerer":
        return False
    from airflow.jobs import triggerer_job_runner as module

    runner = getattr(module, "TriggerRunner", None)
    if getattr(module, "anyio", None) is not anyio or runner is None or "events" not in getattr(runner, "__annotations__", {}):
        log.warning("triggerer wake-up not installed: this Airflow's TriggerRunner is not the one it was written for")
        return False
    original_init = runner.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.events = RingingQueue(self)

    runner.__init__ = __init__
    module.anyio = _AnyioWithBell()
    _installed = True
    return True
