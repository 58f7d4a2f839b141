"""Staged warehouse builds: committed raw batches -> one dbt build -> `warehouse/current`.

A build reads the ledger (the committed batches' manifests, `ingestion.ledger`), and does nothing when the set of
input batch ids is the one the current build was made from. Otherwise it runs `dbt build`
(seed + run + test) in-process into its own directory:

    warehouse/builds/_tmp-<build_id>/     warehouse.duckdb, marts/<model>.parquet, target/, logs/
                                          raw/ (links to exactly the input batches, dbt's raw_root)
      -> build.json written last, then one rename to builds/<build_id>/
      -> the `warehouse/current` symlink is swapped atomically (a new symlink, then os.replace)

dbt sees every build at one stable path, the symlink warehouse/_building -> builds/_tmp-<build_id>
(the DuckDB file it opens and its vars raw_root and marts_dir are under it), and starts from the previous build's parsed
project (warehouse/.dbt-partial-parse.msgpack): with the same vars and unchanged project files dbt
re-parses nothing, where new paths per build made it parse all 32 models and 325 tests every time
(about 9 s of a 20 s build). After the build the views are re-pointed from _building to builds/<id>.

A failed build raises `BuildFailed` (naming every failing node) and is kept for inspection as
builds/_failed-<build_id>/; `current` is untouched. Builds never overlap: each holds an exclusive
lock on warehouse/.build.lock, because DuckDB allows one writer and dbt writes the whole tree.
Readers use a finished builds/<id>/ (through `current`) or its exported Parquet, never _tmp-*.

dbt is imported inside functions: DAG files import this module while being parsed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.catalog import REPO_ROOT, Catalog
from ingestion.durable import fsync_dir, json_bytes, sha256_file, swap_symlink, write_durably
from ingestion.ledger import batch_dir, buildable_batches
from ingestion.zones import Zones

log = logging.getLogger(__name__)

PROJECT_DIR = REPO_ROOT  # dbt_project.yml and profiles.yml
WAREHOUSE_PATH_ENV = "SATUDATA_WAREHOUSE_PATH"  # read by profiles.yml
KEEP_BUILDS = 5
KEEP_FAILED = 5
BUILD_FILE = "build.json"
DATABASE_FILE = "warehouse.duckdb"
MARTS_DIR = "marts"
# The path dbt builds at (a symlink to the build in progress): constant, so dbt can parse partially.
BUILDING_LINK = "_building"
PARTIAL_PARSE_CACHE = ".dbt-partial-parse.msgpack"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"  # dbt's name, under its target path

_FAILED_STATUSES = {"error", "fail", "runtime error"}
# dbt is not re-entrant within one process (global flags, one DuckDB environment per process):
# invocations from several threads, even for different data roots, take turns.
_DBT_IN_PROCESS = threading.Lock()


class BuildFailed(RuntimeError):
    """dbt could not build the warehouse, or a test failed; `current` was left as it was."""

    def __init__(self, message: str, *, build_id: str, failures: list[dict[str, str]], kept_at: Path | None):
        super().__init__(message)
        self.build_id = build_id
        self.failures = failures  # [{"node": unique_id, "status": ..., "message": ...}]
        self.kept_at = kept_at


# --- the ledger ---------------------------------------------------------------------------


def build_inputs(zones: Zones, catalog: Catalog) -> dict[str, list[str]]:
    """{dataset_id: [batch ids, sorted]} for every dataset with at least one buildable batch.

    Buildable: committed, and not failed by the dataset's raw suite (`ingestion.ledger.buildable_batches`).
    """
    inputs = {}
    for entry in catalog.datasets:
        batch_ids = sorted(manifest["batch_id"] for manifest in buildable_batches(zones, entry))
        if batch_ids:
            inputs[entry.id] = batch_ids
    return inputs


def link_inputs(zones: Zones, catalog: Catalog, inputs: dict[str, list[str]], into: Path) -> Path:
    """A raw zone of exactly the input batches: into/<agency>/<dataset>/batch=<id>/data.parquet, relative symlinks.

    dbt's sources read `batch=*` under `raw_root`; pointed here, a build reads the batches it lists in
    build.json and no others (not a batch that failed its raw suite, nor one committed mid-build).
    """
    for entry in catalog.datasets:
        for batch_id in inputs.get(entry.id, []):
            source = batch_dir(zones, entry, batch_id) / "data.parquet"
            link = into / entry.agency.code / entry.name / source.parent.name / source.name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(source, link.parent))
    return into


def _input_ids(inputs: dict[str, list[str]]) -> list[str]:
    return sorted(batch_id for batch_ids in inputs.values() for batch_id in batch_ids)


def make_build_id(inputs: dict[str, list[str]], at: datetime) -> str:
    digest = hashlib.sha256("\n".join(_input_ids(inputs)).encode()).hexdigest()
    return f"{at:%Y%m%dT%H%M%SZ}-{digest[:8]}"


# --- reading builds -----------------------------------------------------------------------


def current_build(zones: Zones) -> dict | None:
    """The build.json of the build `warehouse/current` points at, or None before the first build."""
    path = zones.warehouse / "current" / BUILD_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


# --- running dbt --------------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        started = time.monotonic()
        fcntl.flock(handle, fcntl.LOCK_EX)
        waited = time.monotonic() - started
        if waited > 0.5:
            log.info("waited %.1f s for another warehouse build to finish", waited)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (profiles.yml reads the DuckDB path from one)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(
    command: list[str], *, database: Path, work_dir: Path, dbt_vars: dict[str, str], manifest: Any = None
) -> Any:
    """Invoke dbt in-process against `database`; target/ and logs/ go under `work_dir`.

    Returns dbt's `dbtRunnerResult`. dbt writes nothing to the console: failures come back in the
    result (node messages, `result.exception`), and dbt's full log is in work_dir/logs/dbt.log. A
    `manifest` (parsed for the same project, profile and vars) spares dbt reading the project.
    """
    from dbt.cli.main import dbtRunner

    args = [
        *command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--vars",
        json.dumps(dbt_vars),
        # Not `--quiet`: dbt formats every event for the console (its secrets scrubber walks the whole
        # environment for each line) and only then drops it below ERROR; `none` adds no console logger.
        "--log-level",
        "none",
        "--log-level-file",  # it follows --log-level unless given
        "debug",
        "--no-use-colors",
    ]
    env = {WAREHOUSE_PATH_ENV: str(database), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with _DBT_IN_PROCESS, _environment(env):
        try:
            return dbtRunner(manifest=manifest).invoke(args)
        finally:
            _close_duckdb()


def _close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation.

    Otherwise the file stays open (with its WAL) after dbt returns: the build directory would be
    renamed under a live database, and the next build in this process would reuse the handle.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
        DuckDBConnectionManager.close_all_connections()


def building_path(warehouse_dir: Path) -> Path:
    """Where dbt sees the build in progress: raw_root and marts_dir are under it, the compiled SQL names it."""
    return warehouse_dir / BUILDING_LINK


def restore_parsed_project(warehouse_dir: Path, work_dir: Path) -> None:
    """Give dbt the previous build's parsed project: it re-parses only the files that changed since.

    dbt checks the saved manifest itself (dbt version, vars, profile, project config, each file's
    checksum) and falls back to a full parse when anything global differs.
    """
    cache = warehouse_dir / PARTIAL_PARSE_CACHE
    if cache.exists():
        (work_dir / "target").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, work_dir / "target" / PARTIAL_PARSE_FILE)


def keep_parsed_project(warehouse_dir: Path, work_dir: Path) -> None:
    """Save this build's parsed project for the next build (copy, then rename: never a torn file)."""
    parsed = work_dir / "target" / PARTIAL_PARSE_FILE
    if parsed.exists():
        cache = warehouse_dir / PARTIAL_PARSE_CACHE
        partial = cache.with_name(f"{cache.name}.{os.getpid()}")
        shutil.copyfile(parsed, partial)
        os.replace(partial, cache)


def _write_incremental_artifacts(result: Any, base_dir: Path, work_dir: Path) -> None:
    """target/ of an incremental build: its own run_results.json, and the base build's manifest.json.

    The base was built from the same project files (the code fingerprint matched), so its manifest
    describes this build's nodes too.
    """
    target = work_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    run_results: Any = getattr(result, "result", None)  # dbt's RunExecutionResult, when there is one
    if hasattr(run_results, "write"):
        run_results.write(str(target / "run_results.json"))
    base_manifest = base_dir / "target" / "manifest.json"
    if base_manifest.exists():
        shutil.copyfile(base_manifest, target / "manifest.json")


def build_vars(warehouse_dir: Path) -> dict[str, str]:
    """dbt's vars for every build: constant paths under the `_building` link, so a saved parse stays valid."""
    building = building_path(warehouse_dir)
    return {"raw_root": str(building / "raw"), "marts_dir": str(building / MARTS_DIR)}


def _node_results(result: Any) -> list[Any]:
    return list(getattr(result.result, "results", None) or [])


def _failures(result: Any) -> list[dict[str, str]]:
    failures = []
    for node_result in _node_results(result):
        status = str(node_result.status)
        if status in _FAILED_STATUSES:
            message = (node_result.message or "").strip().replace("\n", " ")
            failures.append({"node": node_result.node.unique_id, "status": status, "message": message})
    return failures


def _summary(result: Any) -> tuple[list[str], dict[str, int]]:
    models, tests = [], {"passed": 0, "failed": 0, "warned": 0}
    for node_result in _node_results(result):
        status = str(node_result.status)
        resource_type = str(node_result.node.resource_type)
        if resource_type == "model" and status == "success":
            models.append(node_result.node.name)
        elif resource_type in ("test", "unit_test"):
            if status == "pass":
                tests["passed"] += 1
            elif status == "warn":
                tests["warned"] += 1
            elif status in _FAILED_STATUSES:
                tests["failed"] += 1
    return sorted(models), tests


def _mart_files(marts_dir: Path) -> dict[str, dict]:
    import pyarrow.parquet as pq

    return {
        path.stem: {
            "path": f"{MARTS_DIR}/{path.name}",
            "rows": pq.read_metadata(path).num_rows,
            "sha256": sha256_file(path),
        }
        for path in sorted(marts_dir.glob("*.parquet"))
    }


UNMAPPED_REPORT = "core.rpt_wilayah_tidak_terpetakan"


def unmapped_report(database: Path) -> list[dict]:
    """Rows per agency dataset that no region code or spelling could map (the conformance report), if built."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        exists = connection.execute(
            "select count(*) from duckdb_tables() where schema_name = 'core' and table_name = 'rpt_wilayah_tidak_terpetakan'"
        ).fetchone()
        if not exists or not exists[0]:
            return []
        cursor = connection.execute(f"select * from {UNMAPPED_REPORT} order by all")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _repoint_external_views(database: Path, old_dirs: list[Path], new_dir: Path) -> None:
    """Point the views dbt-duckdb made over exported Parquet and raw links at the build's final directory.

    dbt wrote the marts (and read the raw links) under warehouse/_building/, and DuckDB stores
    absolute paths in the view text, so after the commit rename those views are rewritten to read
    builds/<id>/. An incremental build's copy also holds the views it did not rebuild, which read the
    previous build's directory (the same batches and marts: that build is current, so it stays) until then.
    """
    import duckdb

    from warehouse.pseudonym import load_key, macro_statements

    with duckdb.connect(str(database)) as connection:
        # Staging views call the pseudonym macros: they must exist for the views to be recreated.
        for statement in macro_statements(load_key()):
            connection.execute(statement)
        # Filtered here, not in SQL: duckdb_views() in a prepared statement (a `?` parameter) took
        # 2-7 s on a freshly built 130 MB warehouse file, the plain query a few milliseconds.
        views = [sql for (sql,) in connection.execute("select sql from duckdb_views() where not internal").fetchall()
                 if any(str(old_dir) in sql for old_dir in old_dirs)]
        for sql in views:
            for old_dir in old_dirs:
                sql = sql.replace(str(old_dir), str(new_dir))
            connection.execute(sql.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))


def _prune(builds_dir: Path, current_id: str | None) -> None:
    """Keep the newest KEEP_BUILDS builds (never deleting current) and KEEP_FAILED failed ones."""
    finished = sorted(p for p in builds_dir.iterdir() if p.is_dir() and not p.name.startswith("_"))
    for old in finished[:-KEEP_BUILDS]:
        if old.name != current_id:
            log.info("removing old warehouse build %s", old.name)
            shutil.rmtree(old, ignore_errors=True)
    failed = sorted(p for p in builds_dir.iterdir() if p.is_dir() and p.name.startswith("_failed-"))
    for old in failed[:-KEEP_FAILED]:
        shutil.rmtree(old, ignore_errors=True)


def _set_aside_crashed_builds(builds_dir: Path) -> None:
    """Rename _tmp-* left by a build that died (we hold the lock, so none is running) to _failed-*."""
    for leftover in sorted(builds_dir.glob("_tmp-*")):
        target = builds_dir / f"_failed-{leftover.name.removeprefix('_tmp-')}"
        log.warning("warehouse build %s did not finish; kept as %s", leftover.name, target.name)
        if target.exists():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.rename(target)


def _excluded_datasets(inputs: dict[str, list[str]]) -> list[str]:
    """Datasets of the dbt project with no committed batch (or not in this catalog): their models cannot be built."""
    from warehouse.sources import project_datasets

    return [dataset for dataset in project_datasets() if dataset not in inputs]


def _excluded_sources(catalog: Catalog, inputs: dict[str, list[str]]) -> list[str]:
    """dbt selectors for the models of datasets with no committed batch."""
    return [f"source:raw_{dataset.replace('__', '.', 1)}+" for dataset in _excluded_datasets(inputs)]


# What the warehouse is made of besides the data: a change here means every model may change.
CODE_PATHS = ("models", "macros", "seeds", "tests/warehouse/dbt", "dbt_project.yml", "profiles.yml",
              "warehouse/pseudonym.py")


# The engine is code too: a new dbt or DuckDB may compute differently, so it means a full build.
ENGINE_PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb")


def project_fingerprint() -> str:
    """sha256 over the dbt project's files and the engine's versions: what dbt's parse of the project depends on."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for name in CODE_PATHS:
        root = PROJECT_DIR / name
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(PROJECT_DIR).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for package in ENGINE_PACKAGES:
        digest.update(f"{package}=={version(package)}\0".encode())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """The project's fingerprint and the pseudonym key id (a new key changes every pseudonym)."""
    from warehouse.pseudonym import load_key

    return hashlib.sha256(f"{project_fingerprint()}\0{load_key().key_id}".encode()).hexdigest()


def changed_datasets(current: dict | None, inputs: dict[str, list[str]]) -> set[str]:
    """Datasets whose committed batches differ from those the current build was made from."""
    before = (current or {}).get("inputs", {})
    return {dataset for dataset in set(before) | set(inputs) if before.get(dataset) != inputs.get(dataset)}


def _incremental_base(
    current: dict | None, catalog: Catalog, inputs: dict[str, list[str]], fingerprint: str, force: bool
) -> set[str] | None:
    """The datasets to rebuild from, when the current build can be extended; None: build everything.

    A build is extended only when it was made by the same code (fingerprint) and every dataset it
    had is still there; then only the models downstream of changed datasets run, on a copy of it.
    """
    if force or current is None or current.get("code_fingerprint") != fingerprint:
        return None
    changed = changed_datasets(current, inputs)
    if not changed or any(dataset not in inputs for dataset in changed):
        return None
    known = {entry.id for entry in catalog.datasets}
    if not changed <= known:
        return None
    return changed


def _copy_file(source: Path, target: Path) -> None:
    """Copy in the kernel with copy_file_range: the 750 MB scale-10 database in 0.2 s where shutil's sendfile took 0.4 s."""
    try:
        with source.open("rb") as reading, target.open("wb") as writing:
            remaining = os.fstat(reading.fileno()).st_size
            while remaining > 0:
                copied = os.copy_file_range(reading.fileno(), writing.fileno(), remaining)
                if copied == 0:
                    raise OSError(f"{source}: copy_file_range stopped with {remaining} bytes left")
                remaining -= copied
    except OSError as exc:  # a file system or kernel without it (EXDEV, ENOSYS, EOPNOTSUPP)
        log.debug("copy_file_range of %s failed (%s): copying with shutil", source, exc)
        shutil.copyfile(source, target)


def _copy_previous(current_dir: Path, tmp_dir: Path) -> None:
    """Start from the current build: its database and exported marts (copies: a build never changes another)."""
    _copy_file(current_dir / DATABASE_FILE, tmp_dir / DATABASE_FILE)
    for mart in sorted((current_dir / MARTS_DIR).glob("*.parquet")):
        _copy_file(mart, tmp_dir / MARTS_DIR / mart.name)


def _free_build_id(builds_dir: Path, inputs: dict[str, list[str]]) -> tuple[str, datetime]:
    # A forced rebuild of the same inputs within one second would reuse the id: wait for the next.
    while True:
        started = datetime.now(UTC)
        build_id = make_build_id(inputs, started)
        if not any((builds_dir / name).exists() for name in (build_id, f"_tmp-{build_id}", f"_failed-{build_id}")):
            return build_id, started
        time.sleep(1.05 - started.microsecond / 1e6)


# --- the build ----------------------------------------------------------------------------


def build_warehouse(zones: Zones, catalog: Catalog, *, force: bool = False) -> dict | None:
    """Build the warehouse from the committed raw batches; return the new build.json.

    Returns None when there is nothing to do: the input batch ids are those of the current
    build (unless `force`), or there are no committed batches at all. Raises `BuildFailed`
    when dbt fails or a test fails; `current` then still points at the previous build.
    """
    warehouse_dir = zones.warehouse
    builds_dir = warehouse_dir / "builds"
    builds_dir.mkdir(parents=True, exist_ok=True)

    with _exclusive_lock(warehouse_dir / ".build.lock"):
        inputs = build_inputs(zones, catalog)
        if not inputs:
            log.info("no committed raw batches yet: nothing to build")
            return None
        current = current_build(zones)
        if not force and current is not None and _input_ids(current["inputs"]) == _input_ids(inputs):
            log.info("warehouse build %s is current for these inputs: nothing to do", current["build_id"])
            return None

        from warehouse.warm import take_warm_manifest  # warm.py builds on this module

        _set_aside_crashed_builds(builds_dir)
        build_id, started_at = _free_build_id(builds_dir, inputs)
        tmp_dir = builds_dir / f"_tmp-{build_id}"
        (tmp_dir / MARTS_DIR).mkdir(parents=True)
        database = tmp_dir / DATABASE_FILE
        building = building_path(warehouse_dir)
        swap_symlink(building, f"builds/{tmp_dir.name}")
        log.info("warehouse build %s: dbt build over %d batch(es)", build_id, len(_input_ids(inputs)))

        command = ["build"]
        fingerprint = code_fingerprint()
        rebuild_from = _incremental_base(current, catalog, inputs, fingerprint, force)
        excluded = _excluded_sources(catalog, inputs)
        # The build an incremental one extends, named as its views name it (builds/<id>, as final_dir below).
        base_dir = builds_dir / current["build_id"] if rebuild_from is not None and current else None
        phases: dict[str, float] = {}  # seconds of the build's steps, in build.json
        try:
            link_inputs(zones, catalog, inputs, tmp_dir / "raw")
            if base_dir is not None:
                assert current is not None and rebuild_from is not None  # only the current build is extended
                copy_started = time.perf_counter()
                _copy_previous(base_dir, tmp_dir)
                phases["copy_previous"] = round(time.perf_counter() - copy_started, 3)
                command += ["--select", *sorted(f"source:raw_{dataset.replace('__', '.', 1)}+" for dataset in rebuild_from)]
                # dbt unit tests check the models' logic on fixed fixtures, never the data: the build this one
                # extends passed them with the same code (fingerprint), so they would pass again. The data
                # tests of every rebuilt model still run.
                command += ["--exclude-resource-type", "unit_test"]
                # dbt's artifacts cost ~0.9 s a build (manifest.json written twice, graph.gpickle): the
                # project is the base build's (same fingerprint), so its manifest is copied instead and
                # run_results.json is written below.
                command += ["--no-write-json"]
                log.info("incremental build from %s: only what depends on %s", current["build_id"],
                         ", ".join(sorted(rebuild_from)))
            if excluded:
                log.info("no batches yet for %s: their models are left out", ", ".join(excluded))
                command += ["--exclude", *excluded]
            restore_parsed_project(warehouse_dir, tmp_dir)
            # The database too: its path is part of the profile, which dbt's saved manifest must match.
            dbt_started = time.perf_counter()
            result = run_dbt(command, database=building / DATABASE_FILE, work_dir=tmp_dir,
                             dbt_vars=build_vars(warehouse_dir),
                             manifest=take_warm_manifest(warehouse_dir, project_fingerprint()))
            phases["dbt"] = round(time.perf_counter() - dbt_started, 3)
            keep_parsed_project(warehouse_dir, tmp_dir)
            if base_dir is not None:
                _write_incremental_artifacts(result, base_dir, tmp_dir)
        except BaseException:
            building.unlink(missing_ok=True)
            tmp_dir.rename(builds_dir / f"_failed-{build_id}")
            raise

        failures = _failures(result)
        if not result.success or failures:
            building.unlink(missing_ok=True)
            failed_dir = builds_dir / f"_failed-{build_id}"
            tmp_dir.rename(failed_dir)
            if result.exception is not None:
                failures.append({"node": "dbt", "status": "error", "message": str(result.exception)})
            lines = [f"{f['node']} ({f['status']}): {f['message']}" for f in failures] or ["dbt reported failure"]
            message = (
                f"warehouse build {build_id} failed; current build unchanged; kept at {failed_dir}\n  "
                + "\n  ".join(lines)
            )
            log.error("%s", message)
            _prune(builds_dir, current["build_id"] if current else None)
            raise BuildFailed(message, build_id=build_id, failures=failures, kept_at=failed_dir)

        models, tests = _summary(result)
        unmapped = unmapped_report(database)
        finished_at = datetime.now(UTC)
        build = {
            "build_id": build_id,
            "mode": "full" if rebuild_from is None else "incremental",
            "rebuilt_from": sorted(rebuild_from or []),
            "based_on": current["build_id"] if rebuild_from is not None and current else None,
            "code_fingerprint": fingerprint,
            "inputs": inputs,
            "models": models,
            "tests": tests,
            "marts": _mart_files(tmp_dir / MARTS_DIR),
            "unmapped": unmapped,
            "excluded_datasets": _excluded_datasets(inputs),
            "started_at": started_at.isoformat(),
            "finished_at": finished_at.isoformat(),
            "seconds": round((finished_at - started_at).total_seconds(), 3),
            "phase_seconds": phases,
        }
        write_durably(tmp_dir / BUILD_FILE, json_bytes(build))
        final_dir = builds_dir / build_id
        tmp_dir.rename(final_dir)
        fsync_dir(builds_dir)
        building.unlink()
        # The view fix-up runs after the rename (it needs the final path to exist) and before the
        # swap, so no reader is pointed at this build until it is complete.
        _repoint_external_views(final_dir / DATABASE_FILE, [building, *([base_dir] if base_dir else [])], final_dir)
        swap_symlink(warehouse_dir / "current", f"builds/{build_id}")
        _prune(builds_dir, build_id)
        log.info(
            "warehouse build %s is current: %d models, tests %s, %.1f s",
            build_id,
            len(models),
            tests,
            build["seconds"],
        )
        return build


def generate_docs(zones: Zones, out_dir: Path) -> Path:
    """Write the dbt docs of the current build as one offline HTML file; return its path.

    dbt reads the catalog from a copy of the build's database, so the committed build is never
    opened for writing.
    """
    current = zones.warehouse / "current"
    if not (current / BUILD_FILE).exists():
        raise FileNotFoundError(f"{current}: no current warehouse build to document")
    build_dir = current.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="satudata-docs-") as scratch:
        database = Path(scratch) / DATABASE_FILE
        shutil.copy2(build_dir / DATABASE_FILE, database)
        dbt_vars = {"raw_root": str(zones.root / "raw"), "marts_dir": str(build_dir / MARTS_DIR)}
        result = run_dbt(["docs", "generate", "--static"], database=database, work_dir=Path(scratch), dbt_vars=dbt_vars)
        if not result.success:
            raise RuntimeError(f"dbt docs generate failed for build {build_dir.name}: {result.exception}")
        target = out_dir / "index.html"
        shutil.copy2(Path(scratch) / "target" / "static_index.html", target)
    return target
