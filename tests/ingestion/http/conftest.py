"""Fixtures for the REST-like kinds: the misbehaving server, a connection to it, fake timing, a ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingestion import http_client
from tests.ingestion.http.server import JsonApi
from tests.ingestion.http.support import TOKEN, CommittingLedger, FakeTiming


@pytest.fixture
def timing(monkeypatch: pytest.MonkeyPatch) -> FakeTiming:
    fake = FakeTiming()
    monkeypatch.setattr(http_client.TIMING, "sleep", fake.sleep)
    monkeypatch.setattr(http_client.TIMING, "clock", fake.clock)
    monkeypatch.setattr(http_client.TIMING, "jitter", lambda: 1.0)
    return fake


@pytest.fixture
def api() -> Iterator[JsonApi]:
    with JsonApi() as server:
        yield server


@pytest.fixture
def connection(api: JsonApi, monkeypatch: pytest.MonkeyPatch) -> str:
    """AIRFLOW_CONN_SIMPEG: http, the local server, path prefix api/v1, the token as password."""
    monkeypatch.setenv("AIRFLOW_CONN_SIMPEG", f"http://:{TOKEN}@127.0.0.1:{api.port}/api/v1")
    return "simpeg"


@pytest.fixture
def ledger() -> CommittingLedger:
    return CommittingLedger()
