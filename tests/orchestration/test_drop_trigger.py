"""DropFolderTrigger: fires for settled new or replaced deliveries, once, and survives a re-arm."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ingestion.zones import Zones
from orchestration.triggers import DropFolderTrigger, read_seen, scan_drop_folder, seen_path, settled_changes

POLL = 0.05


def _trigger(zones: Zones) -> DropFolderTrigger:
    return DropFolderTrigger(
        data_dir=str(zones.root), agency="disdik", dataset="sekolah", pattern="sekolah*.xlsx", poll_seconds=POLL
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
        "pattern": "sekolah*.xlsx", "poll_seconds": POLL,
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


def test_settled_changes_needs_two_equal_polls_and_a_difference_from_seen() -> None:
    assert settled_changes({}, {"a": (1, 1)}, {}) == []  # first sight: may still be written
    assert settled_changes({"a": (1, 1)}, {"a": (2, 2)}, {}) == []  # still growing
    assert settled_changes({"a": (2, 2)}, {"a": (2, 2)}, {}) == ["a"]
    assert settled_changes({"a": (2, 2)}, {"a": (2, 2)}, {"a": (2, 2)}) == []  # already fired for it


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
