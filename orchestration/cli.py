"""`satudata`: run the platform once, write demo data, inspect the catalog, releases and status.

    satudata run [--demo]        every ingest, then whatever their asset events call for (in-process Airflow);
                                 --demo first starts the five demo agency systems (--scale 1 = Paser today)
    satudata demo-data           write the demo agency systems (registries, drops) without running anything
    satudata catalog             validate the catalog and list datasets and publications
    satudata releases            list releases; --rollback ID makes an older release current again
    satudata status              latest batch per dataset, the current build, the current release
    satudata up / down           start / stop the real Airflow components in the background (127.0.0.1)
    satudata signal DATASET      say "DATASET changed" as its agency would: REST asset event or broker message

Data lives under $SATUDATA_DATA_DIR (default: the repository's data/). Airflow's own logs from `run` go to
data/state/logs/; --verbose shows them on the console instead.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ingestion.catalog import (
    CatalogError,
    CkanSource,
    DatasetEntry,
    FileSource,
    HttpJsonSource,
    Trigger,
    load_catalog,
)
from ingestion.zones import Zones
from orchestration.platform import ADMIN_USER, Platform, PlatformError

log = logging.getLogger(__name__)

OUR_PACKAGES = ("orchestration", "ingestion", "warehouse", "publication", "agency_systems")
QUARANTINE_SHOWN = 5  # quarantined rows listed per batch on the console; the rest are counted


def _rel(zones: Zones, path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.relative_to(zones.root))
    except ValueError:
        return str(path)


# --- demo data --------------------------------------------------------------------------------------

def _demo_systems(zones: Zones, scale: float) -> contextlib.AbstractContextManager:
    from agency_systems.demo import demo_systems

    return demo_systems(zones, scale=scale)


# --- run --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _output_to_file(path: Path) -> Iterator[None]:
    """Send everything written to fd 1 and 2 (Airflow's and dbt's logs) to `path` meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with path.open("ab") as target:
            os.dup2(target.fileno(), 1)
            os.dup2(target.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


@contextlib.contextmanager
def _console_logging(stream: TextIO) -> Iterator[None]:
    """Show our packages' INFO lines on `stream` meanwhile (on top of Airflow's logging setup)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    loggers = [logging.getLogger(name) for name in OUR_PACKAGES]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _quarantine_lines(zones: Zones, entry: DatasetEntry, manifest: dict) -> list[str]:
    if not manifest.get("rows_quarantined"):
        return []
    path = zones.raw(entry.agency.code, entry.name) / f"batch={manifest['batch_id']}" / "quarantine.parquet"
    try:
        import pyarrow.parquet as pq

        rows = pq.read_table(path, columns=["_source_row", "_column", "_reason"]).to_pylist()
    except (OSError, KeyError, ValueError) as exc:
        return [f"(cannot read {_rel(zones, path)}: {exc})"]
    lines = [
        (f"row {r['_source_row']}, " if r["_source_row"] is not None else "") + f"column {r['_column']}: {r['_reason']}"
        for r in rows[:QUARANTINE_SHOWN]
    ]
    if len(rows) > QUARANTINE_SHOWN:
        lines.append(f"... and {len(rows) - QUARANTINE_SHOWN} more in {_rel(zones, path)}")
    return lines


def _dataset_summary(zones: Zones, run: object) -> list[str]:
    from ingestion.ledger import committed_batches

    lines = ["Datasets:"]
    for entry in load_catalog().datasets:
        try:
            outcome = run.dag(entry.ingest_dag_id)  # type: ignore[attr-defined]
        except KeyError:
            continue
        task = outcome.tasks.get("extract_load")
        manifests = committed_batches(zones, entry)
        if task is None or task.state != "success":
            state = task.state if task else outcome.state
            latest = manifests[-1]["batch_id"] if manifests else "none"
            why = "nothing new" if state == "skipped" else state
            lines.append(f"  {entry.id}: {why} (latest batch: {latest})")
            continue
        new_ids = set(task.value or [])
        for manifest in (m for m in manifests if m["batch_id"] in new_ids):
            block = manifest.get("source", {})
            source = block.get("path") or block.get("label") or block.get("kind", "?")
            lines.append(f"  {entry.id}: new batch {manifest['batch_id']} from {source}")
            lines.append(
                f"    rows in {manifest['rows_in']}, loaded {manifest['rows_loaded']}, "
                f"quarantined {manifest['rows_quarantined']}, deduplicated {manifest.get('rows_deduplicated', 0)}"
            )
            lines.extend(f"      quarantined: {line}" for line in _quarantine_lines(zones, entry, manifest))
    return lines


def _gate_lines(manifest: dict) -> list[str]:
    """`Gate: passed|FAILED`, then one line per publication with each gate's result."""
    by_publication: dict[str, list[str]] = {}
    for gate, results in sorted(manifest.get("gates", {}).items()):
        for pub, result in sorted(results.items()):
            by_publication.setdefault(pub, []).append(f"{gate} {result}")
    suppression = (manifest.get("privacy") or {}).get("suppression") or {}
    lines = ["Gate: " + ("passed" if manifest.get("passed") else "FAILED")]
    for pub, results in sorted(by_publication.items()):
        cells = suppression.get(pub, {}).get("cells")
        hidden = f" ({cells} small cell(s) suppressed)" if cells else ""
        lines.append(f"  {pub}: {', '.join(results)}{hidden}")
    return lines


def _unmapped_lines(zones: Zones) -> list[str]:
    from warehouse.build import current_build

    build = current_build(zones) or {}
    rows = [row for row in build.get("unmapped", []) if row.get("jumlah_tidak_terpetakan")]
    if not rows:
        return []
    lines = ["Records whose region could not be mapped (reported, left out of every region's figures):"]
    lines += [f"  {row['dataset']}: {row['jumlah_tidak_terpetakan']} of {row['jumlah_baris']} "
              f"({row['persen_tidak_terpetakan']} %)" for row in rows]
    return lines + [""]


def _release_summary(zones: Zones, run: object) -> list[str]:
    from publication.release import current_release

    publish = run.dag("publish")  # type: ignore[attr-defined]
    current = current_release(zones)
    published = publish.tasks.get("publish")
    if published is not None and published.state == "success":
        release_id = str(published.value)
        manifest = current if current and current.get("release_id") == release_id else {"passed": True}
        portal = zones.releases / release_id / "portal" / "index.html"
        return [
            *_gate_lines(manifest),
            f"Release: {release_id}",
            f"  at {zones.releases / release_id}",
            f"  releases/current -> {release_id}",
            *([f"  portal: {portal}"] if portal.is_file() else []),
        ]
    if current:
        return [f"No change: release {current.get('release_id')} is current ({zones.releases / 'current'})"]
    return ["No release yet."]


def command_run(args: argparse.Namespace, zones: Zones) -> int:

    systems: contextlib.AbstractContextManager = contextlib.nullcontext()
    if args.demo:
        print(f"demo: preparing the five agency systems at scale {args.scale:g} in {_rel(zones, zones.agency_systems)} "
              "(written once; unchanged on later runs)", flush=True)
        started = time.perf_counter()
        systems = _demo_systems(zones, args.scale)
        systems.__enter__()
        print(f"demo: agency systems ready in {time.perf_counter() - started:.1f} s", flush=True)
    try:
        return _run_chain_and_report(args, zones)
    finally:
        systems.__exit__(None, None, None)


def _run_chain_and_report(args: argparse.Namespace, zones: Zones) -> int:
    from orchestration import airflow_env

    airflow_env.activate(zones)
    import airflow  # noqa: F401  (configures Airflow's logging; our console handler goes on top)

    from orchestration.chain import ChainError, run_chain

    log_path = zones.state / "logs" / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    print(f"Running the chain in-process (Airflow logs: {_rel(zones, log_path)})", flush=True)
    started = time.perf_counter()
    # The console is a copy of stderr taken before Airflow's output is sent to the log file.
    with os.fdopen(os.dup(2), "w", buffering=1) as console, _console_logging(console):
        try:
            with contextlib.nullcontext() if args.verbose else _output_to_file(log_path):
                run = run_chain(zones)
        except ChainError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    print()
    print(f"Chain finished in {time.perf_counter() - started:.1f} s:")
    for outcome in run.dags:
        emitted = f" -> {', '.join(outcome.emitted)}" if outcome.emitted else ""
        print(f"  {outcome.dag_id:<28} {outcome.state:<14} {outcome.seconds:5.1f} s{emitted}")
    print()
    for line in _dataset_summary(zones, run):
        print(line)
    print()
    for line in _unmapped_lines(zones):
        print(line)
    if not run.ok:
        for outcome in run.failed:
            for task_id, error in outcome.errors.items():
                print(f"FAILED {outcome.dag_id}.{task_id}: {error}", file=sys.stderr)
        print(f"See {log_path} for the full log.", file=sys.stderr)
        return 1
    for line in _release_summary(zones, run):
        print(line)
    return 0


# --- catalog, releases, status ----------------------------------------------------------------------

def _describe_source(entry: DatasetEntry) -> str:
    source = entry.spec.source
    if isinstance(source, FileSource):
        return f"{source.format} files '{source.pattern}' in drop/{entry.agency.code}/"
    if isinstance(source, HttpJsonSource):
        return f"REST API {source.path} (connection {source.connection})"
    if isinstance(source, CkanSource):
        return f"CKAN resource {source.package}/{source.resource} (connection {source.connection})"
    what = f"table {source.table}" if source.table else "a query"
    return f"{source.kind} {what} (connection {source.connection})"


def _describe_trigger(trigger: Trigger) -> str:
    if trigger.by == "schedule":
        return f"schedule {trigger.schedule}"
    if trigger.by in ("poll", "file_drop"):
        return f"{trigger.by} every {trigger.poll_seconds:g} s"
    return trigger.by


def command_catalog(args: argparse.Namespace, zones: Zones) -> int:
    catalog = load_catalog(args.catalog_dir)
    print(f"Catalog OK: {len(catalog.datasets)} dataset(s), {len(catalog.publications)} publication(s)")
    print("Datasets:")
    for entry in catalog.datasets:
        print(f"  {entry.id:<28} {entry.spec.title}")
        print(f"    {_describe_source(entry)}, trigger {_describe_trigger(entry.spec.trigger)}, "
              f"key {', '.join(entry.spec.primary_key)}, {len(entry.spec.contract.columns)} columns, "
              f"owner {entry.spec.owner}")
    print("Publications:")
    for pub in catalog.publications:
        print(f"  {pub.id:<28} {pub.spec.metadata.judul} (model {pub.spec.model}, akses {pub.spec.metadata.akses})")
    return 0


def command_releases(args: argparse.Namespace, zones: Zones) -> int:
    from publication.errors import ReleaseError
    from publication.release import list_releases, rollback

    if args.rollback:
        try:
            rollback(zones, args.rollback)
        except ReleaseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"releases/current -> {args.rollback}")
    releases = list_releases(zones)
    if not releases:
        print(f"No releases under {zones.releases}")
        return 0
    for release in releases:
        marker = "*" if release["current"] else " "
        print(f"{marker} {release['release_id']}  build {release.get('build_id')}  created {release.get('created_at')}")
    print("(* = current)")
    return 0


def command_status(args: argparse.Namespace, zones: Zones) -> int:
    from ingestion.ledger import committed_batches
    from publication.release import current_release
    from warehouse.build import current_build

    print(f"Data root: {zones.root}")
    print("Datasets (latest batch):")
    for entry in load_catalog().datasets:
        manifests = committed_batches(zones, entry)
        if not manifests:
            print(f"  {entry.id:<28} no batch yet")
            continue
        m = manifests[-1]
        print(f"  {entry.id:<28} {m['batch_id']}  rows loaded {m['rows_loaded']}, quarantined "
              f"{m['rows_quarantined']} ({len(manifests)} batch(es))")
    build = current_build(zones)
    print(f"Warehouse build: {build['build_id'] if build else 'none'}")
    release = current_release(zones)
    print(f"Current release: {release.get('release_id') if release else 'none'}")
    return 0


def command_demo_data(args: argparse.Namespace, zones: Zones) -> int:
    from agency_systems.demo import SYSTEMS, write_all

    env = write_all(zones, scale=args.scale)
    for what in SYSTEMS.values():
        print(f"ready: {what}")
    print(f"under {zones.agency_systems} and {zones.root / 'drop'}; connections:")
    for key, value in sorted(env.items()):
        print(f"  {key}={value}")
    return 0


# --- the platform under the real scheduler ------------------------------------------------------------

def _platform(zones: Zones, port: int = 8080) -> Platform:
    return Platform(zones, zones.state / "platform", port=port)


AGENCY_API = "agency-api"  # the demo Dinkes API's process, beside the Airflow components


def _start_demo_systems(zones: Zones, platform: Platform, scale: float) -> None:
    """Write the demo systems, start the Dinkes API in the background, and give Airflow their connections."""
    import subprocess

    from agency_systems.demo import API_PORT_ENV, DEFAULT_API_PORT, api_environment, write_all

    port = int(os.environ.get(API_PORT_ENV, DEFAULT_API_PORT))
    env = write_all(zones, scale=scale)
    platform.run_dir.mkdir(parents=True, exist_ok=True)
    with platform.log_path(AGENCY_API).open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "agency_systems.demo", "serve", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (platform.run_dir / f"{AGENCY_API}.pid").write_text(str(process.pid))
    platform.extra_env.update({**env, **api_environment(zones, port)})
    print(f"demo agency systems ready (scale {scale:g}); Dinkes API on 127.0.0.1:{port}")


def _stop_demo_systems(platform: Platform) -> bool:
    import signal

    pid_file = platform.run_dir / f"{AGENCY_API}.pid"
    try:
        pid = int(pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def command_up(args: argparse.Namespace, zones: Zones) -> int:
    platform = _platform(zones, args.port)
    if args.demo:
        _start_demo_systems(zones, platform, args.scale)
    print(f"starting Airflow (api-server, scheduler, dag-processor, triggerer) in {platform.home} ...")
    try:
        platform.start()
        platform.wait_healthy(args.timeout)
    except PlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        platform.stop()
        _stop_demo_systems(platform)
        return 1
    print(f"Airflow UI:  {platform.url}  (user {ADMIN_USER}, password {platform.password() or '(see api-server log)'})")
    print(f"Drop folder: {zones.drop('<agency>')}   Releases: {zones.releases / 'current'}")
    print(f"Logs:        {platform.run_dir}/*.log      Stop with: make down")
    return 0


def command_down(args: argparse.Namespace, zones: Zones) -> int:
    platform = _platform(zones)
    stopped = platform.stop() + ([AGENCY_API] if _stop_demo_systems(platform) else [])
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


# --- entry point ------------------------------------------------------------------------------------

def command_signal(args: argparse.Namespace, zones: Zones) -> int:
    """Signal a change the way the dataset's catalog trigger says its agency does."""
    from orchestration import agency_tokens, broker

    entry = load_catalog().dataset(args.dataset)
    trigger = entry.spec.trigger
    extra = dict(args.extra)
    if trigger.by == "message":
        assert trigger.connection is not None and trigger.stream is not None
        seq = broker.publish_change(trigger.connection, trigger.stream, entry.id, **extra)
        print(f"published to {trigger.stream} (stream {broker.stream_name(trigger.stream)}, sequence {seq})")
        return 0
    if trigger.by == "asset_event":
        platform = _platform(zones, args.port)
        user = entry.agency.code
        try:
            token = agency_tokens.issue_token(platform.url, user, agency_tokens.password(platform.home, user))
            event = agency_tokens.post_change(platform.url, token, entry.id, **extra)
        except (LookupError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"posted asset event {event['id']} on signal__{entry.id} as {user}")
        return 0
    print(f"error: {entry.id} is triggered by {trigger.by}; nothing to signal", file=sys.stderr)
    return 1


def _key_value(text: str) -> tuple[str, str]:
    """`--extra KEY=VALUE` as (key, value); anything else is a usage error."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. note=corrected), got '{text}'")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="satudata",
        description="Satu Data Paser: agency data -> raw Parquet -> dbt/DuckDB warehouse -> gated open-data releases.",
        epilog="Data lives under $SATUDATA_DATA_DIR (default: the repository's data/).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the whole chain once, in-process (ingest -> build_warehouse -> publish)",
        description="Run every ingest DAG, then the DAGs their asset events call for, with Airflow in-process "
        "(SQLite metadata DB under data/state/airflow). Exits non-zero when a task fails.",
    )
    run.add_argument("--demo", action="store_true",
                     help="first prepare the five demo agency systems (SQLite registries, Excel/CSV drops, the Dinkes "
                     "REST API on 127.0.0.1 for the duration of the run)")
    run.add_argument("--scale", type=float, default=1.0,
                     help="with --demo only: demo size, 1 = Paser today (about 310,000 residents); 0.1 for a quick try "
                     "(default %(default)g)")
    run.add_argument("--verbose", action="store_true",
                     help="show Airflow's logs on the console instead of the log file")
    run.set_defaults(func=command_run)

    demo = commands.add_parser(
        "demo-data", help="write the five demo agency systems (registries and drop files)",
        description="Write the five demo agency systems (SQLite registries, Excel/CSV drops, the Dinkes API's data) "
        "under the data root without running anything, and print the AIRFLOW_CONN_* connections they need.",
    )
    demo.add_argument("--scale", type=float, default=1.0,
                      help="demo size: 1 = Paser today (about 310,000 residents); 0.1 for a quick try (default %(default)g)")
    demo.set_defaults(func=command_demo_data)

    catalog = commands.add_parser(
        "catalog", help="validate the catalog and list datasets and publications",
        description="Validate every catalog file and list each dataset (source, trigger, key, owner) and publication; "
        "exits non-zero naming the file and key of the first invalid entry.",
    )
    catalog.add_argument("--catalog-dir", type=Path, default=None,
                         help="catalog folder (default: $SATUDATA_CATALOG_DIR, else the repository's catalog/)")
    catalog.set_defaults(func=command_catalog)

    releases = commands.add_parser(
        "releases", help="list releases (* marks the current one)",
        description="List the published releases under data/releases (* marks the current one); with --rollback, "
        "first make an earlier release current again.",
    )
    releases.add_argument("--rollback", metavar="ID", help="make release ID current again (atomic swap)")
    releases.set_defaults(func=command_releases)

    status = commands.add_parser(
        "status", help="latest batch per dataset, current warehouse build and release",
        description="Show the latest committed batch of every dataset, the current warehouse build and the current "
        "release under the data root.",
    )
    status.set_defaults(func=command_status)

    up = commands.add_parser(
        "up", help="start the real Airflow components in the background, on 127.0.0.1 (stop with `down`)",
        description="Start Airflow's api-server, scheduler, dag-processor and triggerer as background processes "
        "(PID files and logs under data/state/platform/run/), wait until healthy, print the UI address and login. "
        "Metadata DB: SQLite, or $SATUDATA_AIRFLOW_DB (an SQLAlchemy URL, e.g. PostgreSQL).",
    )
    up.add_argument("--port", type=int, default=8080, help="api-server / UI port on 127.0.0.1 (default %(default)s)")
    up.add_argument("--timeout", type=float, default=180,
                    help="seconds to wait for every component to be healthy (default %(default)g)")
    up.add_argument("--demo", action="store_true",
                    help="also prepare the five demo agency systems and run the Dinkes demo API (127.0.0.1)")
    up.add_argument("--scale", type=float, default=1.0,
                    help="with --demo only: demo size, 1 = Paser today (default %(default)g)")
    up.set_defaults(func=command_up)

    signal_ = commands.add_parser(
        "signal", help="tell the platform a dataset changed, as its agency does (asset_event or message trigger)",
        description="For a dataset with trigger by: asset_event, log in as its agency and post an event on "
        "signal__<dataset> to the running platform; with by: message, publish a change message to its broker.",
    )
    signal_.add_argument("dataset", help="<agency>__<dataset> triggered by asset_event or message, e.g. dinkes__balita")
    signal_.add_argument("--port", type=int, default=8080,
                         help="the running platform's port, for asset_event triggers (default %(default)s)")
    signal_.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE", type=_key_value,
                         help="a key and value carried in the event's extra; repeat for more keys")
    signal_.set_defaults(func=command_signal)

    down = commands.add_parser(
        "down", help="stop every component `up` started (their whole process groups)",
        description="Stop every Airflow component and the demo agency API that `satudata up` started (each whole "
        "process group, found through the PID files under data/state/platform/run/).",
    )
    down.set_defaults(func=command_down)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args, Zones.from_env()))
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
