"""A publisher SIGKILLed at random moments never shows the public an inconsistent release.

A child process publishes a sequence of warehouse builds (write build -> audit_candidate ->
publish_candidate), and is killed with SIGKILL after seeded random delays, then restarted, round
after round, until a last run completes. Every other round aims at the publish step itself: the kill
falls a random moment after the child announces it is publishing. The child's disk is made slow (a
pause after each fsync of the release code) so the windows between fsync, rename and the swap of
`current` are wide enough for a kill to land in them. Meanwhile a reader process resolves `releases/current` once
per check (readlink) and verifies every file that release's manifest lists against its sha256.
The reader must never see a missing or mismatching file or a release without a passing manifest,
and at the end exactly one release per build exists, with `current` on the last one.

The publisher children are forked from the test process after Great Expectations is imported and
warmed up (~10 s once), so a restart costs milliseconds and the kills land inside audits and
publishes rather than inside `import great_expectations`.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from synthetic_build import MART, mart_rows, mart_table, write_build

from ingestion.catalog import Catalog
from ingestion.durable import sha256_file, swap_symlink
from ingestion.zones import Zones
from publication import release
from publication.quality import suite_path_for, validate_table
from publication.release import KEEP_RELEASES, audit_candidate, list_releases, publish_candidate

log = logging.getLogger(__name__)

PUB = f"disdik__{MART}"
BUILDS = [f"20261127T{i:06d}Z-{i:08x}" for i in range(1, 7)]  # 6 builds: fewer than KEEP_RELEASES, none pruned
SEED = 20261128
KILL_ROUNDS = 6
SLOW_FSYNC = 0.15  # seconds of pause after each fsync of the release code, in the child

# The reader: stdlib only, so it starts at once. It checks until the stop file appears, then prints
# a JSON summary. A check = one readlink of `current`, then every file of that release's manifest.
READER = r"""
import hashlib, json, os, sys, time
releases, stop = sys.argv[1], sys.argv[2]
checks, seen, problems = 0, set(), []

def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

while not os.path.exists(stop):
    try:
        target = os.readlink(os.path.join(releases, "current"))
    except FileNotFoundError:
        time.sleep(0.005)  # no release yet
        continue
    folder = os.path.join(releases, target)
    try:
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as exc:
        problems.append(f"{target}: manifest.json unreadable: {exc!r}")
        continue
    if manifest.get("passed") is not True or manifest.get("release_id") != target or not manifest.get("files"):
        problems.append(f"{target}: manifest is not a passing manifest of this release")
    for name, info in manifest.get("files", {}).items():
        try:
            actual = sha256(os.path.join(folder, name))
        except OSError as exc:
            problems.append(f"{target}/{name}: {exc!r}")
            continue
        if actual != info["sha256"]:
            problems.append(f"{target}/{name}: sha256 {actual} != manifest {info['sha256']}")
    checks += 1
    seen.add(target)
print(json.dumps({"checks": checks, "seen": sorted(seen), "problems": problems[:50]}))
"""


def _only_disdik(catalog: Catalog) -> Catalog:
    """The catalog cut down to the one publication the synthetic builds feed."""
    files = {}
    for path, agency_file in catalog.files.items():
        if agency_file.agency.code == "disdik":
            kept = {name: pub for name, pub in agency_file.publications.items() if name == MART}
            files[path] = agency_file.model_copy(update={"publications": kept, "datasets": {}})
    return Catalog(files=files)


def _build_table(index: int):
    # each build differs (so each has its own sha256) and stays within the suite's bounds
    return mart_table(mart_rows(2015 + index))


def _ensure_build(zones: Zones, index: int) -> None:
    """Build `index` complete and current; a build half-written by a killed publisher is redone."""
    build_id = BUILDS[index]
    folder = zones.warehouse / "builds" / build_id
    complete = False
    try:
        build = json.loads((folder / "build.json").read_text())
        complete = sha256_file(folder / "marts" / f"{MART}.parquet") == build["marts"][MART]["sha256"]
    except (OSError, ValueError, KeyError):
        pass
    if complete:
        swap_symlink(zones.warehouse / "current", f"builds/{build_id}")
        return
    shutil.rmtree(folder, ignore_errors=True)
    (zones.warehouse / f".current-{build_id}").unlink(missing_ok=True)  # write_build's temporary link
    write_build(zones, _build_table(index), build_id)


def _slow(function: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    def slowed(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        time.sleep(seconds)
        return result

    return slowed


def _publisher(root: str, catalog: Catalog, progress: str) -> None:
    """Publish every build in BUILDS that is not released yet; safe to start again after a kill."""
    zones = Zones(Path(root))
    # a slow disk, in this forked child only: widens fsync -> rename -> swap for the kills to hit
    release.fsync_tree = _slow(release.fsync_tree, SLOW_FSYNC)
    release.fsync_dir = _slow(release.fsync_dir, SLOW_FSYNC)
    # a killed publisher's candidate is a crashed run's leftover at once (no lease to wait out between rounds)
    release.PENDING_LEASE_S = 0.0

    def note(text: str) -> None:
        with open(progress, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")

    for index, build_id in enumerate(BUILDS):
        released = {m["build_id"]: m for m in list_releases(zones)}
        if build_id in released:
            later = any(b in released for b in BUILDS[index + 1 :])
            if not released[build_id]["current"] and not later:
                # committed but never made current: the kill fell between the rename and the swap
                note(f"{index} finish")
                publish_candidate(zones, released[build_id]["release_id"])
            continue
        note(f"{index} build")
        _ensure_build(zones, index)
        note(f"{index} audit")
        candidate = audit_candidate(zones, catalog)
        assert candidate is not None, f"build {build_id} is current and unreleased, yet audit found nothing new"
        note(f"{index} publish")
        publish_candidate(zones, candidate["release_id"])
        note(f"{index} done")


def _steps(progress: Path) -> list[str]:
    """The steps the publishers announced so far ('build', 'audit', 'publish', 'done', 'finish')."""
    try:
        return [line.split()[1] for line in progress.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the publisher made no progress"
        time.sleep(0.005)


def _publishing(progress: Path, child: Any, before: int) -> Callable[[], bool]:
    """True once the child announced a publish step beyond the first `before` (or has ended)."""
    return lambda: _steps(progress).count("publish") > before or not child.is_alive()


def _run_child(ctx, zones: Zones, catalog: Catalog, progress: Path):  # noqa: ANN001, ANN202
    child = ctx.Process(target=_publisher, args=(str(zones.root), catalog, str(progress)), daemon=True)
    child.start()
    return child


@pytest.mark.skipif(sys.platform != "linux", reason="fork and SIGKILL semantics of Linux")
def test_a_killed_publisher_never_shows_an_inconsistent_release(zones: Zones, catalog: Catalog, tmp_path: Path) -> None:
    assert len(BUILDS) < KEEP_RELEASES
    catalog = _only_disdik(catalog)
    # Import and warm up GX here, once: every forked publisher inherits it.
    validate_table(mart_table(), suite_path_for(PUB))

    zones.releases.mkdir(parents=True)
    stop = tmp_path / "stop-reader"
    progress = tmp_path / "progress.log"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(zones.releases), str(stop)], stdout=subprocess.PIPE, text=True)
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(SEED)
    killed_in: list[str] = []  # the step each killed publisher was in
    started = time.monotonic()
    try:
        for round_ in range(KILL_ROUNDS):
            publishes = _steps(progress).count("publish")
            child = _run_child(ctx, zones, catalog, progress)
            if round_ % 2:
                # aimed: a moment after the child starts publishing (fsync, rename, swap of current)
                _wait_for(_publishing(progress, child, publishes))
                time.sleep(rng.uniform(0.0, 2.5 * SLOW_FSYNC))
            else:
                time.sleep(rng.uniform(0.02, 1.2))
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
            child.join(10)
            assert child.exitcode in (0, -signal.SIGKILL), f"publisher failed (exit code {child.exitcode})"
            if child.exitcode == -signal.SIGKILL:
                killed_in.append(_steps(progress)[-1])
        child = _run_child(ctx, zones, catalog, progress)  # the restart that finishes the sequence
        child.join(60)
        assert child.exitcode == 0, f"the last publisher run failed (exit code {child.exitcode})"
        time.sleep(0.2)  # let the reader check the final release too
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=30)
    log.info(
        "kill rounds: %.1f s, killed while in: %s, steps run: %s",
        time.monotonic() - started,
        killed_in,
        dict(Counter(_steps(progress))),
    )

    summary = json.loads(out)
    assert summary["problems"] == [], summary["problems"]
    assert len(killed_in) >= KILL_ROUNDS // 2, f"only {len(killed_in)} of {KILL_ROUNDS} rounds were killed"
    # kills fell inside audits and inside publishes (not only between them)
    assert {"audit", "publish"} <= set(killed_in), killed_in

    releases = list_releases(zones)
    assert sorted(m["build_id"] for m in releases) == BUILDS  # one release per build, none twice
    current = [m for m in releases if m["current"]]
    assert len(current) == 1 and current[0]["build_id"] == BUILDS[-1]
    for manifest in releases:
        folder = zones.releases / manifest["release_id"]
        assert manifest["passed"] is True and manifest["files"][f"{PUB}.parquet"]["rows"] == 100
        for name, info in manifest["files"].items():
            assert sha256_file(folder / name) == info["sha256"], f"{folder.name}/{name}"
    assert not list(zones.releases.glob("_tmp-*")) and not (zones.releases / "_rejected").exists()
    # the reader really watched the releases change under it
    assert summary["checks"] >= 50 and len(summary["seen"]) >= 3, summary


def test_the_reader_reports_what_it_must(tmp_path: Path) -> None:
    """The reader above is only worth its silence if it speaks up: a wrong hash, a missing file and
    a failed manifest are each reported."""
    releases = tmp_path / "releases"
    folder = releases / "20261128T080000Z-00000001"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("a\n1\n")
    manifest = {
        "release_id": folder.name,
        "passed": False,
        "files": {"a.csv": {"sha256": "0" * 64}, "b.csv": {"sha256": "0" * 64}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (releases / "current").symlink_to(folder.name)
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(releases), str(stop)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    stop.touch()
    summary = json.loads(reader.communicate(timeout=30)[0])
    problems = "\n".join(summary["problems"])
    assert summary["checks"] >= 1
    assert "not a passing manifest" in problems
    assert f"{folder.name}/a.csv: sha256" in problems
    assert f"{folder.name}/b.csv: FileNotFoundError" in problems
