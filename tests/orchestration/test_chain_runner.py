"""The in-process chain: dag.test() along the asset graph, with each room replaced by a scripted fake.

The task bodies import their room when they run, so swapping the room's module in sys.modules
exercises the real DAGs, the real metadata DB and the real asset events, without dbt or GX.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import pytest

from ingestion.zones import Zones
from orchestration.chain import ChainRun, run_chain
from publication.errors import GateFailed
from warehouse.build import BuildFailed


class Rooms:
    """Fake ingestion.extract, warehouse.build and publication.release that record their calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.new_batches: list[dict] = [{"batch_id": "20250101T000000000000Z-aaaaaaaa"}]
        self.build: dict | None = {"build_id": "20250101T000001Z-bbbbbbbb"}
        self.audit_error: Exception | None = None
        self.candidate: dict | None = {"release_id": "20250101T000002Z-cccccccc", "passed": True}

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def extract_load(entry: Any, zones: Zones) -> list[dict]:
            self.calls.append(f"extract_load {entry.id} {zones.root}")
            return self.new_batches

        def build_warehouse(zones: Zones, catalog: Any, *, force: bool = False) -> dict | None:
            self.calls.append("build_warehouse")
            return self.build

        def audit_candidate(zones: Zones, catalog: Any) -> dict | None:
            self.calls.append("audit_candidate")
            if self.audit_error:
                raise self.audit_error
            return self.candidate

        def publish_candidate(zones: Zones, release_id: str) -> dict:
            self.calls.append(f"publish_candidate {release_id}")
            return {"release_id": release_id}

        for name, functions in {
            "ingestion.extract": {"extract_load": extract_load},
            # The real exception types: the DAG tasks catch them to fail without retrying.
            "warehouse.build": {"build_warehouse": build_warehouse, "BuildFailed": BuildFailed},
            "publication.release": {"audit_candidate": audit_candidate, "publish_candidate": publish_candidate,
                                    "GateFailed": GateFailed},
        }.items():
            module = ModuleType(name)
            for attr, fn in functions.items():
                setattr(module, attr, fn)
            monkeypatch.setitem(sys.modules, name, module)


@pytest.fixture
def rooms(monkeypatch: pytest.MonkeyPatch) -> Rooms:
    fakes = Rooms()
    fakes.install(monkeypatch)
    return fakes


def _states(run: ChainRun) -> dict[str, str]:
    return {outcome.dag_id: outcome.state for outcome in run.dags}


def test_new_batch_flows_through_to_a_release(zones: Zones, rooms: Rooms) -> None:
    run = run_chain(zones)
    assert run.ok
    assert _states(run) == {"ingest__disdik__sekolah": "success", "build_warehouse": "success", "publish": "success"}
    assert run.dag("ingest__disdik__sekolah").emitted == ["raw__disdik__sekolah"]
    assert run.dag("ingest__disdik__sekolah").tasks["extract_load"].value == ["20250101T000000000000Z-aaaaaaaa"]
    assert run.dag("build_warehouse").emitted == ["warehouse"]
    assert run.dag("publish").emitted == ["release"]
    assert rooms.calls == [
        f"extract_load disdik__sekolah {zones.root}",
        "build_warehouse",
        "audit_candidate",
        "publish_candidate 20250101T000002Z-cccccccc",
    ]


def test_nothing_new_skips_and_triggers_nothing_downstream(zones: Zones, rooms: Rooms) -> None:
    rooms.new_batches = []
    run = run_chain(zones)
    assert run.ok
    assert run.dag("ingest__disdik__sekolah").tasks["extract_load"].state == "skipped"
    assert run.dag("ingest__disdik__sekolah").emitted == []
    assert _states(run)["build_warehouse"] == "not_triggered"
    assert _states(run)["publish"] == "not_triggered"
    assert rooms.calls == [f"extract_load disdik__sekolah {zones.root}"]


def test_unchanged_warehouse_does_not_publish(zones: Zones, rooms: Rooms) -> None:
    rooms.build = None
    run = run_chain(zones)
    assert run.ok
    assert run.dag("build_warehouse").tasks["build_warehouse"].state == "skipped"
    assert _states(run)["publish"] == "not_triggered"


def test_a_failed_gate_fails_the_run_with_its_message(zones: Zones, rooms: Rooms) -> None:
    rooms.audit_error = RuntimeError("release X blocked: jumlah_sekolah_per_kecamatan column nik is personal")
    run = run_chain(zones)
    assert not run.ok
    publish = run.dag("publish")
    assert publish.state == "failed"
    assert publish.emitted == []
    assert publish.tasks["publish"].state == "upstream_failed"
    assert publish.errors["audit"] == (
        "RuntimeError: release X blocked: jumlah_sekolah_per_kecamatan column nik is personal"
    )
    assert [outcome.dag_id for outcome in run.failed] == ["publish"]
