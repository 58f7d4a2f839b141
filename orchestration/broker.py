""""Dataset changed" messages on the broker: NATS JetStream, durable, acknowledged, redelivered.

An agency system publishes a small JSON message to the subject named by the dataset's catalog
`trigger.stream` (e.g. `satudata.disdik.sekolah`) on the broker of `trigger.connection`
(an Airflow connection, `AIRFLOW_CONN_<ID>=nats://[user:password@]127.0.0.1:4222`):

    {"dataset": "disdik__sekolah", "sent_at": "2026-11-28T01:02:03Z", ...anything else...}

`dataset` may be left out (then the message counts for every dataset listening on the subject);
a message naming another dataset is ignored by this one. The message is a hint, never the data:
the ingest it starts reconciles from the source and the ledger.

Why JetStream and not pub/sub: the subject is captured by a stream with file storage, and every
dataset reads it through its own durable pull consumer with explicit acks. So a message published
while nobody listens (triggerer down, platform not started yet) waits in the stream; a message
delivered but never acknowledged (consumer crashed) is delivered again after `ack_wait`; and the
stream survives a broker restart. Redis pub/sub, by contrast, merged five messages into one event
and kept nothing while no one listened.

Semantics: at least once. `BrokerProducer` (the triggerer side, see orchestration.triggers) hands
each fetched batch to Airflow as one trigger event and acknowledges the batch only after Airflow
confirmed that event stored in its metadata DB. A crash in between redelivers the batch and the
ingest runs once more; it finds nothing new, commits no batch and triggers nothing downstream,
so duplicates and merges are harmless, and only a lost message would not be.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_PORT = 4222
FETCH_BATCH = 256  # messages merged into one delivery at most
ACK_WAIT_SECONDS = 60.0  # unacknowledged deliveries come back after this; Airflow confirms in ~1-2 s
RETENTION_SECONDS = 7 * 24 * 3600  # the stream forgets acknowledged hints after a week
RECONNECT_SECONDS = 5.0


def stream_name(subject: str) -> str:
    """The JetStream stream that stores `subject` (stream names allow no dots or wildcards)."""
    return "SATUDATA_" + re.sub(r"[^A-Za-z0-9_-]", "_", subject).upper()


def consumer_name(dataset_id: str) -> str:
    """Each dataset has its own durable consumer, so datasets sharing a subject each see every message."""
    return f"satudata__{dataset_id}"


def server_options(conn_id: str) -> dict[str, Any]:
    """`nats.connect()` options from the Airflow connection `conn_id` (AIRFLOW_CONN_<ID> or Airflow's lookup)."""
    from ingestion.connections import get_connection

    conn = get_connection(conn_id)
    if conn.conn_type not in ("nats", "tls"):
        raise ValueError(f"connection '{conn_id}' is {conn.conn_type}://, expected nats://host:4222")
    options: dict[str, Any] = {
        "servers": [f"{conn.conn_type}://{conn.host or '127.0.0.1'}:{conn.port or DEFAULT_PORT}"],
        "name": "satudata",
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
    }
    if conn.login:
        options["user"] = conn.login
        options["password"] = conn.password or ""
    if conn.extra.get("token"):
        options["token"] = conn.extra["token"]
    return options


async def connect(conn_id: str) -> Any:
    import nats

    return await nats.connect(**server_options(conn_id))


async def ensure_stream(js: Any, subject: str) -> str:
    """Create the file-backed stream capturing `subject` unless it exists; returns its name."""
    from nats.js.api import RetentionPolicy, StorageType, StreamConfig
    from nats.js.errors import NotFoundError

    name = stream_name(subject)
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(StreamConfig(
            name=name, subjects=[subject], storage=StorageType.FILE, retention=RetentionPolicy.LIMITS,
            max_age=RETENTION_SECONDS,
        ))
        log.info("created JetStream stream %s for %s", name, subject)
    return name


def message_body(dataset_id: str, **extra: Any) -> bytes:
    body = {"dataset": dataset_id, "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds"), **extra}
    return json.dumps(body, default=str).encode()


async def publish_change_async(conn_id: str, stream: str, dataset_id: str, **extra: Any) -> int:
    """Publish one "dataset changed" message; returns its sequence number in the stream once stored."""
    nc = await connect(conn_id)
    try:
        js = nc.jetstream()
        await ensure_stream(js, stream)
        ack = await js.publish(stream, message_body(dataset_id, **extra))  # waits for the stream's ack
        return int(ack.seq)
    finally:
        await nc.close()


def publish_change(conn_id: str, stream: str, dataset_id: str, **extra: Any) -> int:
    """Synchronous `publish_change_async`, for agency scripts and the CLI (`satudata signal`)."""
    return asyncio.run(publish_change_async(conn_id, stream, dataset_id, **extra))


def parse(data: bytes) -> dict[str, Any]:
    """A message's body as a dict; anything that is not a JSON object is a bare hint."""
    try:
        body = json.loads(data)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def concerns(body: dict[str, Any], dataset_id: str) -> bool:
    return body.get("dataset") in (None, "", dataset_id)


@dataclass
class Delivery:
    """One fetch: the messages it got (acknowledge or reject them together) and what they say."""

    messages: list[Any]
    dataset_id: str

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [parse(m.data) for m in self.messages]

    def summary(self) -> dict[str, Any]:
        """The trigger event's payload: small, JSON, nothing the ingest relies on."""
        mine = [(m, b) for m, b in zip(self.messages, self.bodies, strict=True) if concerns(b, self.dataset_id)]
        seqs = [m.metadata.sequence.stream for m, _ in mine]
        return {
            "dataset": self.dataset_id,
            "messages": len(mine),
            "stream_seq": [min(seqs), max(seqs)] if seqs else [],
            "last": mine[-1][1] if mine else {},
        }


@dataclass
class ChangeConsumer:
    """A dataset's durable pull consumer on the stream of `subject`."""

    conn_id: str
    subject: str
    dataset_id: str
    ack_wait: float = ACK_WAIT_SECONDS
    _nc: Any = field(default=None, init=False, repr=False)
    _sub: Any = field(default=None, init=False, repr=False)

    async def open(self) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        self._nc = await connect(self.conn_id)
        js = self._nc.jetstream()
        stream = await ensure_stream(js, self.subject)
        # DeliverPolicy.ALL: messages sent before this consumer first existed count too.
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=self.ack_wait, max_deliver=-1,
        )
        self._sub = await js.pull_subscribe(
            self.subject, durable=consumer_name(self.dataset_id), stream=stream, config=config,
        )

    async def fetch(self, timeout: float) -> Delivery | None:
        """Everything available now (up to FETCH_BATCH), waiting up to `timeout` for the first; None if nothing."""
        try:
            messages = await self._sub.fetch(batch=FETCH_BATCH, timeout=timeout)
        except TimeoutError:  # nats-py raises its own subclass or asyncio's, depending on the path
            return None
        return Delivery(messages, self.dataset_id) if messages else None

    async def ack(self, delivery: Delivery) -> None:
        # ack_sync: the server confirmed it, so a confirmed delivery is never redelivered.
        for message in delivery.messages:
            await message.ack_sync()

    async def nak(self, delivery: Delivery) -> None:
        """Give the messages back at once (redelivered without waiting for ack_wait)."""
        for message in delivery.messages:
            await message.nak()

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def deliveries(self, poll_seconds: float) -> AsyncIterator[Delivery]:
        """Deliveries forever; reconnects (and logs) while the broker is unreachable."""
        while True:
            if self._sub is None:
                try:
                    await self.open()
                except Exception as exc:  # noqa: BLE001 - any connect error: log, wait, try again
                    log.warning("broker %s unreachable (%s); retrying in %.0f s", self.conn_id, exc, RECONNECT_SECONDS)
                    await self.close()
                    self._sub = None
                    await asyncio.sleep(RECONNECT_SECONDS)
                    continue
            try:
                delivery = await self.fetch(poll_seconds)
            except Exception as exc:  # noqa: BLE001 - a broken connection: open a new one
                log.warning("fetching from %s failed (%s); reconnecting in %.0f s", self.conn_id, exc, RECONNECT_SECONDS)
                await self.close()
                self._sub = None
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            if delivery is not None:
                yield delivery

