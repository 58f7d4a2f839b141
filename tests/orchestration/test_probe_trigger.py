"""SourceProbeTrigger (`trigger.by: poll`): fires on start, then only when the database's change marker moves.

Runs the trigger's own loop on an SQLite agency database; the real-scheduler test of the same path is in
tests/orchestration/test_arrival_paths.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from ingestion.catalog import CATALOG_DIR_ENV
from orchestration import triggers
from orchestration.triggers import SourceProbeTrigger
from tests.ingestion.relational.conftest import penduduk_sqlite
from tests.ingestion.relational.test_change_marker import NEW_ROW, poll_yaml

POLL = 0.05
DATASET = "disdukcapil__penduduk"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An SQLite agency database and a catalog whose penduduk dataset is probed (by: poll)."""
    path = tmp_path / "siak.db"
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "disdukcapil.yml").write_text(poll_yaml("sqlite", "siak_lokal", table="penduduk"), encoding="utf-8")
    monkeypatch.setenv(CATALOG_DIR_ENV, str(catalog))
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{path}")
    monkeypatch.setattr(triggers, "_PROBE_FIRED", {})  # a fresh triggerer process
    return path


def _insert(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO penduduk VALUES (?, ?, ?, ?, ?, ?, ?)", NEW_ROW)


def _events_while(steps: list[Callable[[], None]], pause: float = 0.4) -> list[list[dict]]:
    """Run the trigger; before each step and after the last, wait `pause`: the events seen in each wait."""

    async def scenario() -> list[list[dict]]:
        events: list[dict] = []

        async def consume() -> None:
            async for event in SourceProbeTrigger(dataset_id=DATASET, poll_seconds=POLL).run():
                events.append(event.payload)

        task = asyncio.ensure_future(consume())
        seen = []
        try:
            for step in [*steps, None]:
                await asyncio.sleep(pause)
                seen.append(list(events))
                events.clear()
                if step is not None:
                    step()
        finally:
            task.cancel()
        return seen

    return asyncio.run(scenario())


def test_serialize_names_the_importable_classpath() -> None:
    classpath, kwargs = SourceProbeTrigger(dataset_id=DATASET, poll_seconds=2.0).serialize()
    assert classpath == "orchestration.triggers.SourceProbeTrigger"
    assert SourceProbeTrigger(**kwargs).serialize() == (classpath, {"dataset_id": DATASET, "poll_seconds": 2.0})


def test_fires_on_start_then_once_per_change(database: Path) -> None:
    penduduk_sqlite(database)
    on_start, after_insert, after_nothing = _events_while([lambda: _insert(database), lambda: None])
    assert [event["marker"][0] for event in on_start] == ["3"]  # a fresh triggerer fires once: the ingest reconciles
    assert [event["marker"][0] for event in after_insert] == ["4"]  # ~8 probes, one event
    assert after_nothing == []


def test_a_re_armed_trigger_does_not_fire_again_for_the_same_data(database: Path) -> None:
    penduduk_sqlite(database)
    (first,) = _events_while([])
    assert len(first) == 1
    (again,) = _events_while([])  # a new trigger instance in the same triggerer process
    assert again == []


def test_a_source_that_is_down_is_reported_once_and_probed_until_it_answers(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    while_down, after_up = _events_while([lambda: penduduk_sqlite(database)])
    assert while_down == []
    assert [event["marker"][0] for event in after_up] == ["3"]
    # A trigger logs through Airflow's structlog (to stdout here): ~8 failed probes, one warning.
    warnings = [line for line in capsys.readouterr().out.splitlines() if "probe of" in line]
    assert len(warnings) == 1 and "siak.db does not exist" in warnings[0]
