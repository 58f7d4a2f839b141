"""The "dataset changed" messages on the real NATS JetStream server (127.0.0.1:4222): none is lost.

Each test uses its own subject (so its own stream) and deletes that stream at the end. The broker
restart test runs a private nats-server on a free port with its own store, never the shared one.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.triggers.shared_stream import AdvanceItem, AdvanceOutcome

from orchestration import broker
from orchestration.triggers import BrokerMessageTrigger, BrokerProducer

CONN_ID = "satudata_broker_test"
DATASET = "disdik__sekolah"


@pytest.fixture
def subject(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh subject on the shared broker; its stream is deleted afterwards."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", "nats://127.0.0.1:4222")
    name = f"satudata.test.{uuid.uuid4().hex[:12]}"
    yield name

    async def drop() -> None:
        nc = await broker.connect(CONN_ID)
        try:
            await nc.jetstream().delete_stream(broker.stream_name(name))
        except Exception:  # noqa: BLE001 - the test may not have created it
            pass
        await nc.close()

    asyncio.run(drop())


def _seq(message) -> int:
    return int(message.metadata.sequence.stream)


async def _consumer_state(subject: str) -> tuple[int, int]:
    """(messages not yet delivered, delivered but not acknowledged) of the dataset's durable consumer."""
    nc = await broker.connect(CONN_ID)
    try:
        info = await nc.jetstream().consumer_info(broker.stream_name(subject), broker.consumer_name(DATASET))
        return int(info.num_pending), int(info.num_ack_pending)
    finally:
        await nc.close()


def test_five_messages_0_3_s_apart_are_all_consumed(subject: str) -> None:
    async def scenario() -> tuple[list[int], list[int], int]:
        consumer = broker.ChangeConsumer(CONN_ID, subject, DATASET)
        await consumer.open()

        async def agency() -> list[int]:
            sent = []
            for i in range(5):
                sent.append(await broker.publish_change_async(CONN_ID, subject, DATASET, n=i))
                await asyncio.sleep(0.3)
            return sent

        publishing = asyncio.create_task(agency())
        consumed: list[int] = []
        deliveries = 0
        deadline = time.monotonic() + 15
        while len(consumed) < 5 and time.monotonic() < deadline:
            delivery = await consumer.fetch(timeout=1)
            if delivery:
                deliveries += 1
                consumed += [_seq(m) for m in delivery.messages]
                await consumer.ack(delivery)
        sent = await publishing
        await consumer.close()
        return sent, consumed, deliveries

    sent, consumed, deliveries = asyncio.run(scenario())
    assert consumed == sent  # all five, in order, each once
    assert 1 <= deliveries <= 5
    assert asyncio.run(_consumer_state(subject)) == (0, 0)


def test_messages_published_while_nobody_listens_are_delivered_when_the_consumer_starts(subject: str) -> None:
    async def scenario() -> tuple[list[int], list[int], dict]:
        # The consumer existed and went away (triggerer stopped); the agency keeps publishing.
        first = broker.ChangeConsumer(CONN_ID, subject, DATASET)
        await first.open()
        await first.close()
        sent = [await broker.publish_change_async(CONN_ID, subject, DATASET, n=i) for i in range(3)]
        again = broker.ChangeConsumer(CONN_ID, subject, DATASET)
        await again.open()
        delivery = await again.fetch(timeout=5)
        assert delivery is not None
        await again.ack(delivery)
        await again.close()
        return sent, [_seq(m) for m in delivery.messages], delivery.summary()

    sent, got, summary = asyncio.run(scenario())
    assert got == sent
    assert summary["messages"] == 3 and summary["stream_seq"] == [sent[0], sent[-1]]
    assert summary["last"]["n"] == 2 and summary["last"]["dataset"] == DATASET


def test_an_unacknowledged_delivery_is_redelivered_after_a_consumer_crash(subject: str) -> None:
    async def scenario() -> tuple[int, list[int], int]:
        seq = await broker.publish_change_async(CONN_ID, subject, DATASET)
        crashing = broker.ChangeConsumer(CONN_ID, subject, DATASET, ack_wait=1.0)
        await crashing.open()
        delivery = await crashing.fetch(timeout=5)
        assert delivery is not None and [_seq(m) for m in delivery.messages] == [seq]
        await crashing.close()  # dies without acknowledging (no nak either)
        survivor = broker.ChangeConsumer(CONN_ID, subject, DATASET, ack_wait=1.0)
        await survivor.open()
        redelivered = await survivor.fetch(timeout=10)
        assert redelivered is not None
        await survivor.ack(redelivered)
        await survivor.close()
        return seq, [_seq(m) for m in redelivered.messages], redelivered.messages[0].metadata.num_delivered

    seq, redelivered, times = asyncio.run(scenario())
    assert redelivered == [seq]
    assert times == 2
    assert asyncio.run(_consumer_state(subject)) == (0, 0)


def test_the_producer_acks_only_what_airflow_stored(subject: str) -> None:
    """Ack mode: a clean outcome acknowledges; an event nobody stored goes back to the broker at once."""

    async def scenario() -> tuple[int, int, list[int]]:
        producer = BrokerProducer(conn_id=CONN_ID, stream=subject, dataset_id=DATASET, poll_seconds=1)
        stream = producer.open_stream()
        first = await broker.publish_change_async(CONN_ID, subject, DATASET)
        summary, delivery = await anext(stream)
        assert summary["messages"] == 1
        await producer.advance([AdvanceItem(delivery, AdvanceOutcome(acked=1, failed=0))])
        second = await broker.publish_change_async(CONN_ID, subject, DATASET)
        _, lost = await anext(stream)
        # Broadcast while no trigger subscribed: nothing was stored, so it must come back.
        await producer.advance([AdvanceItem(lost, AdvanceOutcome(acked=0, failed=0))])
        _, again = await anext(stream)
        redelivered = [_seq(m) for m in again.messages]
        await producer.advance([AdvanceItem(again, AdvanceOutcome(acked=1, failed=0))])
        await stream.aclose()
        await producer.aclose()
        return first, second, redelivered

    first, second, redelivered = asyncio.run(scenario())
    assert redelivered == [second] and first != second
    assert asyncio.run(_consumer_state(subject)) == (0, 0)


def test_a_message_for_another_dataset_fires_nothing(subject: str) -> None:
    async def scenario() -> list:
        trigger = BrokerMessageTrigger(conn_id=CONN_ID, stream=subject, dataset_id=DATASET, poll_seconds=1)
        producer = BrokerProducer(conn_id=CONN_ID, stream=subject, dataset_id=DATASET, poll_seconds=1)
        await broker.publish_change_async(CONN_ID, subject, "disdik__guru")
        await broker.publish_change_async(CONN_ID, subject, DATASET, note="mine")

        async def raw():
            async for summary, delivery in producer.open_stream():
                await producer.consumer.ack(delivery)
                yield summary

        events = []
        async for event in trigger.filter_shared_stream(raw()):
            events.append(event.payload)
            break
        await producer.aclose()
        return events

    (payload,) = asyncio.run(scenario())
    assert payload["messages"] == 1 and payload["last"]["note"] == "mine"


def test_the_trigger_serializes_to_its_classpath() -> None:
    trigger = BrokerMessageTrigger(conn_id="broker", stream="satudata.disdik.sekolah", dataset_id=DATASET, poll_seconds=2)
    classpath, kwargs = trigger.serialize()
    assert classpath == "orchestration.triggers.BrokerMessageTrigger"
    assert BrokerMessageTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert trigger.shared_stream_key() == ("satudata-broker", "broker", "satudata.disdik.sekolah", DATASET)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs the nats-server binary")
def test_a_message_survives_a_broker_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", f"nats://127.0.0.1:{port}")
    command = ["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(tmp_path / "store")]

    def start() -> subprocess.Popen:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return server
            time.sleep(0.05)
        server.kill()
        raise AssertionError("private nats-server did not start")

    server = start()
    try:
        seq = broker.publish_change(CONN_ID, "satudata.disdik.sekolah", DATASET)
        server.terminate()
        server.wait(10)
        server = start()

        async def consume() -> list[int]:
            consumer = broker.ChangeConsumer(CONN_ID, "satudata.disdik.sekolah", DATASET)
            await consumer.open()
            delivery = await consumer.fetch(timeout=5)
            await consumer.close()
            return [_seq(m) for m in delivery.messages] if delivery else []

        assert asyncio.run(consume()) == [seq]
    finally:
        server.terminate()
        server.wait(10)


def test_satudata_signal_publishes_a_change_message(subject: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from ingestion.catalog import CATALOG_DIR_ENV
    from orchestration.cli import main
    from tests.orchestration.scheduler_support import catalog_variant

    variant = catalog_variant(tmp_path / "catalog", DATASET, {"by": "message", "connection": CONN_ID, "stream": subject})
    monkeypatch.setenv(CATALOG_DIR_ENV, str(variant))
    assert main(["signal", DATASET, "--extra", "file=drop/disdik/sekolah_2019.xlsx"]) == 0
    assert f"published to {subject}" in capsys.readouterr().out

    async def consume() -> dict:
        consumer = broker.ChangeConsumer(CONN_ID, subject, DATASET)
        await consumer.open()
        delivery = await consumer.fetch(timeout=5)
        assert delivery is not None
        await consumer.ack(delivery)
        await consumer.close()
        return delivery.summary()

    summary = asyncio.run(consume())
    assert summary["messages"] == 1 and summary["last"]["file"] == "drop/disdik/sekolah_2019.xlsx"
