"""Airflow event triggers of the platform: the drop-folder watcher (`file_drop`), the broker watcher (`message`)
and the source probe (`poll`).

`DropFolderTrigger` runs in the triggerer as the AssetWatcher of `drop__<agency>__<dataset>`. It
lists the agency's drop folder every `poll_seconds` and fires when a file matching the dataset's
pattern is new or changed and complete: unchanged on two listings in a row and not modified for
`SETTLE_SECONDS` (`Settling`; while a file settles the folder is listed every 0.2 s).
What it fired for is kept in `state/drop_seen/<agency>__<dataset>.json`, so the re-armed trigger
(or a restarted triggerer) does not fire again for the same file. That marker is only a cheap
filter: the ingest task is the source of truth and does nothing for content it already holds.

`BrokerMessageTrigger` runs as the AssetWatcher of `message__<agency>__<dataset>`: it waits on the
dataset's durable JetStream consumer (orchestration.broker) and fires one event per delivery of one
or more "dataset changed" messages. It uses the triggerer's shared-stream ack mode (Airflow 3.3):
the batch is acknowledged on the broker only after Airflow confirmed the event stored in its
metadata DB; anything not confirmed (crash, timeout, no subscriber) is redelivered.

`SourceProbeTrigger` runs as the AssetWatcher of `probe__<agency>__<dataset>` for a database with no
signal: every `poll_seconds` it asks the server for the table's count and max(cursor) and fires when
they moved. The ingest reconciles from the ledger, so a spurious event (a restarted triggerer fires
once) loads nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Hashable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from airflow.triggers.shared_stream import AdvanceItem, SharedStreamProducer

from ingestion.file_safety import SETTLE_SECONDS

log = logging.getLogger(__name__)

# (size in bytes, mtime in ns) of one file: cheap, and changes whenever the agency replaces it.
Signature = tuple[int, int]


def scan_drop_folder(folder: Path, pattern: str) -> dict[str, Signature]:
    """Signatures of the regular files in `folder` whose name matches `pattern` (a glob)."""
    found: dict[str, Signature] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                # Dot files are partial uploads (rsync, scp) or editor locks, never deliveries.
                if entry.name.startswith(".") or not fnmatchcase(entry.name, pattern):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    stat = entry.stat()
                except FileNotFoundError:  # removed between listing and stat
                    continue
                found[entry.name] = (stat.st_size, stat.st_mtime_ns)
    except FileNotFoundError:
        pass  # the agency has not delivered anything yet
    return found


def seen_path(data_dir: Path, dataset_id: str) -> Path:
    return data_dir / "state" / "drop_seen" / f"{dataset_id}.json"


def read_seen(path: Path) -> dict[str, Signature]:
    """The signatures the trigger last fired for; an unreadable marker counts as empty."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: (int(sig[0]), int(sig[1])) for name, sig in raw["files"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("ignoring unreadable drop marker %s: %s", path, exc)
        return {}


def write_seen(path: Path, files: dict[str, Signature]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"files": {name: list(sig) for name, sig in sorted(files.items())}}), encoding="utf-8")
    os.replace(tmp, path)


# How often a folder is listed again while a new file in it is settling (poll_seconds otherwise).
SETTLING_POLL_SECONDS = 0.2


class Settling:
    """Tells, listing after listing, which new or replaced files are complete: not changed for SETTLE_SECONDS.

    A file is complete when two listings in a row show it unchanged and it was last modified at least
    `settle_seconds` ago, by its mtime or, for a clock that disagrees with ours (a network share), by
    how long this watcher has seen it unchanged. A file renamed into the folder a second or more after it
    was written (what agencies are asked to do) is complete on the next listing; one still being copied
    waits until its writes stop.
    """

    def __init__(self, settle_seconds: float = SETTLE_SECONDS) -> None:
        self.settle_seconds = settle_seconds
        self.pending: dict[str, tuple[Signature, float]] = {}  # name -> (signature, when this version was first seen)

    def observe(self, current: dict[str, Signature], seen: dict[str, Signature], *, now: float, wall_now: float) -> list[str]:
        """Files of this listing that are complete and differ from `seen` (what was fired for before)."""
        complete = []
        pending: dict[str, tuple[Signature, float]] = {}
        for name, signature in sorted(current.items()):
            if seen.get(name) == signature:
                continue
            before = self.pending.get(name)
            if before is None or before[0] != signature:
                pending[name] = (signature, now)  # first sight of this version: maybe still being written
                continue
            unchanged_for = now - before[1]
            modified_ago = wall_now - signature[1] / 1e9
            if max(unchanged_for, modified_ago) >= self.settle_seconds:
                complete.append(name)
            else:
                pending[name] = before
        self.pending = pending
        return complete

    @property
    def waiting(self) -> bool:
        """A new file is settling: list again soon rather than after a whole poll interval."""
        return bool(self.pending)


class DropFolderTrigger(BaseEventTrigger):
    """Fires once per new or replaced delivery in `<data_dir>/drop/<agency>/` matching `pattern`."""

    def __init__(
        self, *, data_dir: str, agency: str, dataset: str, pattern: str, poll_seconds: float = 5.0,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.agency = agency
        self.dataset = dataset
        self.pattern = pattern
        self.poll_seconds = poll_seconds
        self.settle_seconds = settle_seconds

    @property
    def dataset_id(self) -> str:
        return f"{self.agency}__{self.dataset}"

    @property
    def folder(self) -> Path:
        return Path(self.data_dir) / "drop" / self.agency

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "orchestration.triggers.DropFolderTrigger",
            {
                "data_dir": self.data_dir,
                "agency": self.agency,
                "dataset": self.dataset,
                "pattern": self.pattern,
                "poll_seconds": self.poll_seconds,
                "settle_seconds": self.settle_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        marker = seen_path(Path(self.data_dir), self.dataset_id)
        self.log.info("watching %s for %s (every %ss)", self.folder, self.pattern, self.poll_seconds)
        settling = Settling(self.settle_seconds)
        while True:
            current = await asyncio.to_thread(scan_drop_folder, self.folder, self.pattern)
            seen = await asyncio.to_thread(read_seen, marker)
            changed = settling.observe(current, seen, now=time.monotonic(), wall_now=time.time())
            if changed:
                # Remember every file present now, so deleted files do not linger in the marker.
                remembered = {name: seen[name] for name in current if name in seen}
                remembered.update({name: current[name] for name in changed})
                await asyncio.to_thread(write_seen, marker, remembered)
                self.log.info("new delivery for %s: %s", self.dataset_id, ", ".join(changed))
                yield TriggerEvent({"dataset": self.dataset_id, "files": [f"drop/{self.agency}/{n}" for n in changed]})
                return
            await asyncio.sleep(min(self.poll_seconds, SETTLING_POLL_SECONDS) if settling.waiting else self.poll_seconds)


class BrokerProducer(SharedStreamProducer):
    """The broker side of a BrokerMessageTrigger's stream: fetch batches, ack them once Airflow stored the event."""

    def __init__(self, *, conn_id: str, stream: str, dataset_id: str, poll_seconds: float = 5.0) -> None:
        from orchestration.broker import ChangeConsumer

        self.consumer = ChangeConsumer(conn_id, stream, dataset_id)
        self.poll_seconds = poll_seconds
        self.unresolved: dict[int, Any] = {}  # id(delivery) -> delivery handed out, not yet advanced

    async def open_stream(self) -> AsyncIterator[tuple[Any, Any]]:
        async for delivery in self.consumer.deliveries(self.poll_seconds):
            self.unresolved[id(delivery)] = delivery
            yield delivery.summary(), delivery

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        for item in batch:
            delivery = self.unresolved.pop(id(item.broker_payload), item.broker_payload)
            if item.outcome.is_clean:
                await self.consumer.ack(delivery)
            else:
                # Not stored by Airflow (or nobody subscribed): give it back so it is delivered again.
                log.warning("redelivering %d message(s) for %s: %s", len(delivery.messages), delivery.dataset_id, item.outcome)
                await self.consumer.nak(delivery)

    async def aclose(self) -> None:
        # A stopping triggerer: hand back what Airflow has not confirmed, at once rather than after ack_wait.
        for delivery in self.unresolved.values():
            try:
                await self.consumer.nak(delivery)
            except Exception as exc:  # noqa: BLE001 - the broker redelivers after ack_wait anyway
                log.warning("could not hand back %d message(s): %s", len(delivery.messages), exc)
        self.unresolved.clear()
        await self.consumer.close()


class BrokerMessageTrigger(BaseEventTrigger):
    """Fires once per delivery of "dataset changed" messages for `dataset_id` on the broker's `stream`."""

    def __init__(self, *, conn_id: str, stream: str, dataset_id: str, poll_seconds: float = 5.0) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.stream = stream
        self.dataset_id = dataset_id
        self.poll_seconds = poll_seconds

    def _kwargs(self) -> dict[str, Any]:
        return {"conn_id": self.conn_id, "stream": self.stream, "dataset_id": self.dataset_id, "poll_seconds": self.poll_seconds}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("orchestration.triggers.BrokerMessageTrigger", self._kwargs())

    # --- the triggerer's shared-stream ack mode: the path Airflow 3.3 takes ---------------------------

    def shared_stream_key(self) -> Hashable:
        return ("satudata-broker", self.conn_id, self.stream, self.dataset_id)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> SharedStreamProducer:
        return BrokerProducer(**kwargs)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        # Never return: the delivery is resolved (and acked) when we pull the next one.
        async for summary in shared_stream:
            if summary["messages"]:
                self.log.info("%d change message(s) for %s", summary["messages"], self.dataset_id)
                yield TriggerEvent(summary)
            # a delivery only for other datasets on the subject: nothing to fire, acked all the same

    # --- without shared streams (a triggerer that calls run()): ack once the runner took the event ----

    async def run(self) -> AsyncIterator[TriggerEvent]:
        producer = BrokerProducer(**self._kwargs())
        try:
            async for summary, delivery in producer.open_stream():
                if summary["messages"]:
                    yield TriggerEvent(summary)
                # Resumed: the runner queued the event. Weaker than ack mode (not yet in the DB).
                producer.unresolved.pop(id(delivery), None)
                await producer.consumer.ack(delivery)
        finally:
            await producer.aclose()


# The marker each dataset's probe last fired for, per triggerer process: it outlives a re-armed trigger. A
# restarted triggerer starts empty and fires once; the ingest then finds nothing new if nothing changed.
_PROBE_FIRED: dict[str, list[str]] = {}


class SourceProbeTrigger(BaseEventTrigger):
    """Fires when a database source's change marker moves (`trigger.by: poll`): count and max(cursor), see
    `ingestion.kinds.relational.change_marker`. One cheap query every `poll_seconds`, in the triggerer:
    unchanged data starts no DAG run at all and takes no worker slot."""

    def __init__(self, *, dataset_id: str, poll_seconds: float = 5.0) -> None:
        super().__init__()
        self.dataset_id = dataset_id
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("orchestration.triggers.SourceProbeTrigger", {"dataset_id": self.dataset_id, "poll_seconds": self.poll_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from ingestion.catalog import load_catalog
        from ingestion.errors import IngestionError
        from ingestion.kinds.relational import change_marker

        entry = (await asyncio.to_thread(load_catalog)).dataset(self.dataset_id)
        self.log.info("probing %s's source every %ss", self.dataset_id, self.poll_seconds)
        failing = ""
        while True:
            try:
                marker = await asyncio.to_thread(change_marker, entry)
            except IngestionError as exc:  # the agency's server is down or refuses us: say so once, keep probing
                if str(exc) != failing:
                    self.log.warning("probe of %s failed, trying again every %ss: %s", self.dataset_id, self.poll_seconds, exc)
                failing = str(exc)
            else:
                failing = ""
                if _PROBE_FIRED.get(self.dataset_id) != marker:
                    _PROBE_FIRED[self.dataset_id] = marker
                    self.log.info("%s changed at the source", self.dataset_id)
                    yield TriggerEvent({"dataset": self.dataset_id, "marker": marker})
            await asyncio.sleep(self.poll_seconds)
