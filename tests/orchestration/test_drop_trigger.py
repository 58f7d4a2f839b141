"""DropFolderTrigger: fires for settled new or replaced deliveries, once, and survives a re-arm."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ingestion.zones import Zones
from orchestration.triggers import DropFolderTrigger, Settling, read_seen, scan_drop_folder, seen_path

POLL = 0.05
SETTLE = 0.2  # the platform waits 1 s (ingestion.file_safety.SETTLE_SECONDS)


def _trigger(zones: Zones) -> DropFolderTrigger:
    return DropFolderTrigger(
        data_dir=str(zones.root), agency="disdik", dataset="sekolah", pattern="sekolah*.xlsx", poll_seconds=POLL,
        settle_seconds=SETTLE,
    )


def _first_event(trigger: DropFolderTrigger, timeout: float) -> dict | None:
    """The payload of the trigger's first event, or None when it does not fire within `timeout`."""

    async def first() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger stopped without an event")

    async def bounded() -> dict | None:
        try:
            return await asyncio.wait_for(first(), timeout)
        except TimeoutError:
            return None

    return asyncio.run(bounded())


def _deliver(zones: Zones, name: str, content: bytes) -> Path:
    folder = zones.drop("disdik")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def test_serialize_names_the_importable_classpath(zones: Zones) -> None:
    classpath, kwargs = _trigger(zones).serialize()
    assert classpath == "orchestration.triggers.DropFolderTrigger"
    assert kwargs == {
        "data_dir": str(zones.root), "agency": "disdik", "dataset": "sekolah",
        "pattern": "sekolah*.xlsx", "poll_seconds": POLL, "settle_seconds": SETTLE,
    }
    rebuilt = DropFolderTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_scan_matches_the_pattern_and_skips_partial_uploads(zones: Zones) -> None:
    _deliver(zones, "sekolah_2019.xlsx", b"x" * 10)
    _deliver(zones, "puskesmas.xlsx", b"y")
    _deliver(zones, ".sekolah_2020.xlsx.part", b"z")
    (zones.drop("disdik") / "sekolah_dir.xlsx").mkdir()
    found = scan_drop_folder(zones.drop("disdik"), "sekolah*.xlsx")
    assert list(found) == ["sekolah_2019.xlsx"]
    assert found["sekolah_2019.xlsx"][0] == 10
    assert scan_drop_folder(zones.root / "missing", "*") == {}


def test_a_file_is_complete_after_two_equal_listings_and_the_settle_time() -> None:
    written_at = 1_000.0  # wall clock, s
    mtime = int(written_at * 1e9)
    settling = Settling(settle_seconds=1.0)
    # First sight: may still be written, whatever its age.
    assert settling.observe({"a": (5, mtime)}, {}, now=0.0, wall_now=written_at + 5) == []
    assert settling.waiting
    # Seen unchanged, last modified 5 s ago: complete (a file renamed in after it was written).
    assert settling.observe({"a": (5, mtime)}, {}, now=0.2, wall_now=written_at + 5.2) == ["a"]
    assert not settling.waiting


def test_a_file_written_just_now_waits_for_the_settle_time() -> None:
    mtime = int(1_000.0 * 1e9)
    settling = Settling(settle_seconds=1.0)
    assert settling.observe({"a": (5, mtime)}, {}, now=0.0, wall_now=1_000.1) == []
    assert settling.observe({"a": (5, mtime)}, {}, now=0.2, wall_now=1_000.3) == []  # unchanged, 0.3 s old
    assert settling.observe({"a": (5, mtime)}, {}, now=0.9, wall_now=1_001.0) == ["a"]


def test_a_growing_file_is_never_complete() -> None:
    settling = Settling(settle_seconds=1.0)
    for step in range(10):  # a slow copy: a new size and mtime on every listing, for 10 s
        signature = (step * 100, int((1_000 + step) * 1e9))
        assert settling.observe({"a": signature}, {}, now=float(step), wall_now=1_000.0 + step + 0.9) == []


def test_a_clock_ahead_of_ours_is_covered_by_how_long_we_saw_the_file_unchanged() -> None:
    future_mtime = int(2_000.0 * 1e9)  # the share's clock is 1,000 s ahead
    settling = Settling(settle_seconds=1.0)
    assert settling.observe({"a": (5, future_mtime)}, {}, now=10.0, wall_now=1_000.0) == []
    assert settling.observe({"a": (5, future_mtime)}, {}, now=10.5, wall_now=1_000.5) == []
    assert settling.observe({"a": (5, future_mtime)}, {}, now=11.0, wall_now=1_001.0) == ["a"]


def test_what_was_fired_for_is_not_complete_again() -> None:
    settling = Settling(settle_seconds=1.0)
    seen = {"a": (5, 1)}
    assert settling.observe({"a": (5, 1)}, seen, now=0.0, wall_now=100.0) == []
    assert settling.observe({"a": (5, 1)}, seen, now=5.0, wall_now=105.0) == []
    assert not settling.waiting


def test_fires_once_per_delivery_across_re_arms(zones: Zones) -> None:
    assert _first_event(_trigger(zones), timeout=0.3) is None  # empty folder: nothing

    _deliver(zones, "sekolah_2019.xlsx", b"first delivery")
    payload = _first_event(_trigger(zones), timeout=5)
    assert payload == {"dataset": "disdik__sekolah", "files": ["drop/disdik/sekolah_2019.xlsx"]}
    assert "sekolah_2019.xlsx" in read_seen(seen_path(zones.root, "disdik__sekolah"))

    # Re-armed (or a restarted triggerer): the same file does not fire again.
    assert _first_event(_trigger(zones), timeout=0.4) is None

    # A replaced file (new size and mtime) fires again.
    path = _deliver(zones, "sekolah_2019.xlsx", b"second, longer delivery")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert _first_event(_trigger(zones), timeout=5) == payload


def test_does_not_fire_while_the_file_is_still_growing(zones: Zones) -> None:
    path = _deliver(zones, "sekolah_2020.xlsx", b"")

    async def grow_then_watch() -> tuple[float, dict]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        watcher = asyncio.ensure_future(_anext(_trigger(zones).run()))
        for _ in range(8):  # keep writing for ~0.4 s, longer than several polls
            with path.open("ab") as handle:
                handle.write(b"more rows\n")
            await asyncio.sleep(POLL)
            assert not watcher.done(), "fired while the file was still being written"
        event = await asyncio.wait_for(watcher, 5)
        return loop.time() - started, event.payload

    elapsed, payload = asyncio.run(grow_then_watch())
    assert payload["files"] == ["drop/disdik/sekolah_2020.xlsx"]
    assert elapsed >= 8 * POLL


async def _anext(iterator):  # noqa: ANN001, ANN202  (an async generator)
    return await iterator.__anext__()


@pytest.mark.parametrize("content", ["not json", '{"files": {"a": [1]}}', '{"other": 1}'])
def test_an_unreadable_marker_counts_as_nothing_seen(tmp_path: Path, content: str) -> None:
    marker = tmp_path / "m.json"
    marker.write_text(content)
    assert read_seen(marker) == {}
