"""Event-to-live latency and memory of the platform under the real scheduler, per arrival path.

    uv run python -m benchmarks.latency                          # 20 events on each path (make bench)
    uv run python -m benchmarks.latency --events 5 --paths rest,file

For each path the platform is started once (`satudata up` in a temporary home and data root, with a
catalog variant of the agency's datasets in which the measured dataset has that path's trigger), one
warm-up change is published, then `--events` changes follow one at a time. Each change is a real change
(new batch, new build, new release): on Disdik's school workbook one address changed, on DPMD's Dana Desa
table (the SQLite stand-in of its MariaDB, as `make run` serves it) one desa's tahap II reported.

    rest      the workbook is written, then the agency posts the asset event with its own token
    file      the workbook appears in the drop folder (the DropFolderTrigger notices it)
    message   the workbook is written, then a "dataset changed" message goes to NATS JetStream
    poll      a Dana Desa row is updated; no signal at all: the triggerer probes the table's count and
              max(updated_at) every `--watch-seconds` (SourceProbeTrigger, `by: poll`)
    schedule  the workbook is written; no signal at all: the ingest itself runs every `--poll-every`
              (not in the default set)

Event-to-live is from the signal (post, message, file rename; for `poll` and `schedule` the write) to
releases/current pointing at a new release, polled every 50 ms. The per-hop split comes from the
API's DAG run and task instance timestamps: scheduler hops (signal or upstream task end -> run
queued -> task queued), start-up (task queued -> task running: executor, supervisor, task process)
and the task itself (DAG file parse and imports + the work). The work alone is timed in this process
on the same dataset and changes, warm, so task time minus work is the in-task start-up. Memory: RSS summed over
each component's process tree (task processes included), at idle and the peak while the events run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform as pyplatform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingestion.catalog import CATALOG_DIR_ENV, DEFAULT_CATALOG_DIR, load_catalog
from ingestion.zones import Zones

log = logging.getLogger("benchmarks.latency")

SCHOOLS, DANA_DESA = "disdik__sekolah", "dpmd__dana_desa"
PATHS = ("rest", "file", "message", "poll", "schedule")
DEFAULT_PATHS = ("rest", "file", "message", "poll")
BROKER_CONN = "satudata_broker"
BROKER_URL = "nats://127.0.0.1:4222"
TARGET_MEDIAN, TARGET_P95, TARGET_MEMORY_MB = 5.0, 10.0, 2048
STARTUP_SECONDS, EVENT_SECONDS = 300, 180


# --- the platform for one path -------------------------------------------------------------------


def dataset_for(path: str) -> str:
    """The dataset a path changes: a database table for `poll` (the probe needs one), the school workbook otherwise."""
    return DANA_DESA if path == "poll" else SCHOOLS


def chain(dataset: str) -> list[str]:
    return [f"ingest__{dataset}", "build_warehouse", "publish"]


def tasks(dataset: str) -> list[tuple[str, str]]:
    ingest = chain(dataset)[0]
    return [(ingest, "extract_load"), (ingest, "validate_raw"), ("build_warehouse", "build_warehouse"),
            ("publish", "audit"), ("publish", "publish")]


def trigger_for(path: str, args: argparse.Namespace, subject: str) -> dict[str, Any]:
    if path == "rest":
        return {"by": "asset_event"}
    if path == "file":
        return {"by": "file_drop", "poll_seconds": args.watch_seconds}
    if path == "message":
        return {"by": "message", "connection": BROKER_CONN, "stream": subject, "poll_seconds": args.watch_seconds}
    if path == "poll":
        return {"by": "poll", "poll_seconds": args.watch_seconds}
    return {"by": "schedule", "schedule": args.poll_every}


def write_catalog(folder: Path, dataset: str, trigger: dict[str, Any], *, all_agencies: bool = False) -> Path:
    """The shipped catalog with `dataset`'s trigger replaced: its agency's datasets only, unless `all_agencies`.

    The other agencies' systems do not run in this benchmark: with them in the catalog, their ingests
    fail and retry in the executor's two worker slots, and a measured change waits for a slot.
    """
    agency, name = dataset.split("__", 1)
    folder.mkdir(parents=True)
    for source in DEFAULT_CATALOG_DIR.glob("*.yml"):
        if source.stem != agency and not all_agencies:
            continue
        text = source.read_text(encoding="utf-8")
        if source.stem == agency:
            spec = yaml.safe_load(text)
            spec["datasets"][name]["trigger"] = trigger
            text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        (folder / source.name).write_text(text, encoding="utf-8")
    return folder


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_ADMIN_TOKEN: dict[str, str] = {}  # base url -> the admin's JWT, for reading runs and task instances


def api(base: str, path: str) -> Any:
    headers = {"Accept": "application/json"}
    if base in _ADMIN_TOKEN:
        headers["Authorization"] = f"Bearer {_ADMIN_TOKEN[base]}"
    request = urllib.request.Request(f"{base}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def wait(what: str, timeout: float, probe: Any, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, TimeoutError, LookupError, ValueError):
            pass
        time.sleep(every)
    raise TimeoutError(f"{what}: nothing after {timeout:.0f} s")


# --- memory ---------------------------------------------------------------------------------------


class MemorySampler:
    """RSS and PSS summed over each component's process tree, sampled every `every` seconds in a thread.

    RSS counts a page shared after `fork` once per process (the scheduler's pre-imported task stacks
    are in every worker and task process); PSS splits it among them, so its sum is the memory used.
    """

    def __init__(self, pids: dict[str, int], every: float = 0.25) -> None:
        self.pids, self.every = pids, every
        self.peak_total = 0.0
        self.peak_pss = 0.0
        self.peak_by_component: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def tree_rss_mb(pid: int) -> float:
        import psutil

        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20

    def sample(self) -> dict[str, float]:
        return {name: self.tree_rss_mb(pid) for name, pid in self.pids.items()}

    def _run(self) -> None:
        while not self._stop.is_set():
            by = self.sample()
            self.peak_total = max(self.peak_total, sum(by.values()))
            self.peak_pss = max(self.peak_pss, pss_total(self.pids))
            for name, mb in by.items():
                self.peak_by_component[name] = max(self.peak_by_component.get(name, 0.0), mb)
            self._stop.wait(self.every)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- one change -----------------------------------------------------------------------------------


def agency_system(zones: Zones, dataset: str) -> dict[str, str]:
    """Write the measured dataset's agency system into `zones`; the connection variables it needs."""
    if dataset != DANA_DESA:
        return {}  # the school list is a file: each change writes it
    from agency_systems import dpmd

    return dpmd.write_demo(zones)


def write_change(zones: Zones, dataset: str, n: int) -> None:
    """Change n: the school workbook with one address changed, or one desa's tahap II reported in the Dana Desa table."""
    if dataset == DANA_DESA:
        report_tahap_2(zones, n)
        return
    from agency_systems.disdik import load_sekolah_reference, write_sekolah_workbook

    rows = load_sekolah_reference()
    rows[n % len(rows)]["alamat_jalan"] = f"{rows[n % len(rows)].get('alamat_jalan') or ''} (perubahan {n})"
    write_sekolah_workbook(zones.drop("disdik") / "sekolah_2019.xlsx", rows)


def report_tahap_2(zones: Zones, n: int) -> None:
    """A desa reports (or corrects) its 2026 tahap II: the application sets the value and bumps `updated_at`."""
    import sqlite3

    from agency_systems import dpmd

    database = Path(dpmd.write_demo(zones)[dpmd.CONNECTION_ENV].removeprefix("sqlite:///"))  # written: a no-op
    with sqlite3.connect(database) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM dana_desa WHERE tahun_anggaran = 2026 ORDER BY id")]
        db.execute(
            "UPDATE dana_desa SET realisasi_tahap_2 = ?, total_realisasi = coalesce(realisasi_tahap_1, 0) + ?, "
            "updated_at = datetime('2026-07-01 08:00:00', ?) WHERE id = ?",
            (1000 * (n + 1), 1000 * (n + 1), f"+{n} minutes", ids[n % len(ids)]),
        )


class Signaller:
    """Sends one path's signal for a change that is already written."""

    def __init__(self, path: str, base: str, home: Path, subject: str) -> None:
        self.path, self.base, self.home, self.subject = path, base, home, subject
        self.dataset = dataset_for(path)
        self.token: str | None = None

    def prepare(self) -> None:
        if self.path == "rest":
            from orchestration import agency_tokens

            self.token = agency_tokens.issue_token(self.base, "disdik", agency_tokens.password(self.home, "disdik"))

    def send(self, n: int) -> None:
        if self.path == "rest":
            from orchestration import agency_tokens

            assert self.token is not None
            agency_tokens.post_change(self.base, self.token, self.dataset, file="drop/disdik/sekolah_2019.xlsx", change=n)
        elif self.path == "message":
            from orchestration import broker

            broker.publish_change(BROKER_CONN, self.subject, self.dataset, file="drop/disdik/sekolah_2019.xlsx", change=n)


# --- reading the hops back from the API -----------------------------------------------------------


def at(timestamp: str | None) -> float | None:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() if timestamp else None


def runs(base: str, dag_id: str) -> list[dict]:
    return api(base, f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=100")["dag_runs"]


def task_instance(base: str, dag_id: str, run_id: str, task_id: str) -> dict:
    from urllib.parse import quote

    return api(base, f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}")


def chain_of(base: str, dataset: str, live_at: float) -> dict[str, dict]:
    """The task instances that produced the release seen at `live_at`: publish, then upstream from it."""
    found: dict[str, dict] = {}
    limit = live_at + 1
    for dag_id, task_id in reversed(tasks(dataset)):
        for run in runs(base, dag_id):
            queued = at(run["queued_at"])
            if run["state"] != "success" or queued is None or queued > limit:
                continue
            ti = task_instance(base, dag_id, run["dag_run_id"], task_id)
            if ti["state"] != "success":
                continue  # a poll or a duplicate that found nothing new (skipped)
            found[task_id] = {**ti, "run_queued_at": run["queued_at"]}
            limit = at(run["queued_at"]) if task_id not in ("publish", "validate_raw") else limit
            break
    return found


def hops(signal_at: float, live_at: float, dataset: str, chain: dict[str, dict]) -> dict[str, float]:
    """Seconds spent in each hop: sched = scheduler, startup = task queued -> running, task = running."""
    out: dict[str, float] = {}
    previous_end = signal_at
    previous_dag, previous_task = None, None
    for dag_id, task_id in tasks(dataset):
        ti = chain.get(task_id)
        if ti is None:
            return {}
        queued_run, queued_ti = at(ti["run_queued_at"]), at(ti["queued_when"])
        start, end = at(ti["start_date"]), at(ti["end_date"])
        assert queued_run and queued_ti and start and end
        if dag_id == previous_dag:  # the same DAG run as the task before: only the scheduler's handover
            out[f"sched: {previous_task} end -> {task_id} queued"] = queued_ti - previous_end
        else:
            label = "signal" if task_id == "extract_load" else "upstream end"
            out[f"sched: {label} -> {dag_id} run queued"] = queued_run - previous_end
            out[f"sched: {dag_id} run queued -> {task_id} queued"] = queued_ti - queued_run
        out[f"startup: {task_id} queued -> running"] = start - queued_ti
        out[f"task: {task_id}"] = end - start
        previous_end, previous_dag, previous_task = end, dag_id, task_id
    out["live: publish end -> current seen"] = live_at - previous_end
    return out


# --- in-process work (warm), for the split of task time -------------------------------------------


def measure_work(catalog_dir: Path, dataset: str, repeats: int = 2) -> dict[str, float]:
    """Seconds of pure work per task on `dataset`: the task's function in this process, imports already warm."""
    from ingestion.extract import extract_load
    from publication.raw_quality import validate_new_batches
    from publication.release import audit_candidate, publish_candidate
    from warehouse.build import build_warehouse

    catalog = load_catalog(catalog_dir)
    entry = next(e for e in catalog.datasets if e.id == dataset)
    steps = tasks(dataset)
    timings: dict[str, list[float]] = {name: [] for _, name in steps}
    with tempfile.TemporaryDirectory(prefix="satudata-work-") as tmp:
        zones = Zones(Path(tmp))
        os.environ.update(agency_system(zones, dataset))
        for n in range(repeats + 1):  # the first round only warms the imports
            write_change(zones, dataset, n)
            time.sleep(1.1 if dataset == SCHOOLS else 0)  # the file kind waits until a file is a second old
            clock = [time.perf_counter()]
            manifests = extract_load(entry, zones)
            assert manifests
            clock.append(time.perf_counter())
            validate_new_batches(zones, entry, [manifest["batch_id"] for manifest in manifests])
            clock.append(time.perf_counter())
            assert build_warehouse(zones, catalog) is not None
            clock.append(time.perf_counter())
            candidate = audit_candidate(zones, catalog)
            assert candidate is not None
            clock.append(time.perf_counter())
            publish_candidate(zones, candidate["release_id"])
            clock.append(time.perf_counter())
            if n:
                for (_, name), start, end in zip(steps, clock[:-1], clock[1:], strict=True):
                    timings[name].append(end - start)
    return {name: statistics.median(values) for name, values in timings.items()}


# --- one path -------------------------------------------------------------------------------------


@dataclass
class PathResult:
    path: str
    trigger: dict[str, Any]
    dataset: str = ""
    measured: bool = True
    reason: str = ""
    startup_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    hops: list[dict[str, float]] = field(default_factory=list)
    idle_mb: dict[str, float] = field(default_factory=dict)
    idle_pss_mb: float = 0.0
    peak_total_mb: float = 0.0
    peak_pss_mb: float = 0.0
    peak_mb: dict[str, float] = field(default_factory=dict)


def current_id(zones: Zones) -> str | None:
    link = zones.releases / "current"
    return os.readlink(link) if link.is_symlink() else None


def chain_idle(base: str) -> bool:
    return not any(r["state"] in ("queued", "running") for dag_id in ("build_warehouse", "publish") for r in runs(base, dag_id))


def run_path(path: str, args: argparse.Namespace, work_dir: Path) -> PathResult:
    from orchestration.platform import Platform

    subject = f"satudata.bench.{uuid.uuid4().hex[:10]}"
    trigger = trigger_for(path, args, subject)
    dataset = dataset_for(path)
    dags = chain(dataset)
    result = PathResult(path, trigger, dataset)
    root = work_dir / path
    zones = Zones(root / "data")
    zones.root.mkdir(parents=True)
    catalog_dir = write_catalog(root / "catalog", dataset, trigger, all_agencies=args.all_agencies)
    extra_env = {CATALOG_DIR_ENV: str(catalog_dir), f"AIRFLOW_CONN_{BROKER_CONN.upper()}": BROKER_URL,
                 **agency_system(zones, dataset)}
    os.environ[f"AIRFLOW_CONN_{BROKER_CONN.upper()}"] = BROKER_URL  # for publishing from this process
    airflow = Platform(zones, root / "airflow", port=free_port(), extra_env=extra_env)
    started = time.monotonic()
    airflow.start()
    try:
        airflow.wait_healthy(STARTUP_SECONDS)
        from orchestration import agency_tokens

        _ADMIN_TOKEN[airflow.url] = wait("the admin's token", STARTUP_SECONDS, lambda: agency_tokens.issue_token(
            airflow.url, "admin", agency_tokens.password(airflow.home, "admin")))
        wait("DAGs parsed and unpaused", STARTUP_SECONDS, lambda: all(
            not d["is_paused"] for d in api(airflow.url, "/api/v2/dags?limit=100")["dags"] if d["dag_id"] in dags)
            and {d["dag_id"] for d in api(airflow.url, "/api/v2/dags?limit=100")["dags"]} >= set(dags))
        result.startup_seconds = time.monotonic() - started
        signaller = Signaller(path, airflow.url, airflow.home, subject)
        signaller.prepare()
        log.info("%s: platform ready in %.1f s", path, result.startup_seconds)

        def one_change(n: int) -> tuple[float, float]:
            before = current_id(zones)
            write_change(zones, dataset, n)
            signal_at = time.time()
            signaller.send(n)
            live_id = wait(f"{path}: release for change {n}", EVENT_SECONDS,
                           lambda: current_id(zones) not in (None, before) and current_id(zones), every=0.05)
            live_at = time.time()
            log.info("%s: change %d live as %s after %.2f s", path, n, live_id, live_at - signal_at)
            wait(f"{path}: chain idle after change {n}", EVENT_SECONDS, lambda: chain_idle(airflow.url))
            return signal_at, live_at

        if path == "poll":  # the probe fires once when the triggerer starts: the first load, not counted
            wait(f"{path}: the first release", EVENT_SECONDS, lambda: current_id(zones), every=0.05)
            wait(f"{path}: chain idle after the first load", EVENT_SECONDS, lambda: chain_idle(airflow.url))
        one_change(0)  # warm-up: the first run pays first-time costs (seeds, caches) and is not counted
        time.sleep(5)
        pids = airflow.running()
        idle = MemorySampler(pids).sample()
        result.idle_mb = {k: round(v, 1) for k, v in idle.items()}
        result.idle_pss_mb = round(pss_total(pids), 1)
        with MemorySampler(pids) as sampler:
            for n in range(1, args.events + 1):
                signal_at, live_at = one_change(n)
                result.latencies.append(round(live_at - signal_at, 3))
                try:
                    found = chain_of(airflow.url, dataset, live_at)
                    result.hops.append({k: round(v, 3) for k, v in hops(signal_at, live_at, dataset, found).items()})
                except (urllib.error.URLError, KeyError, ValueError, AssertionError) as exc:
                    log.warning("%s: change %d: no hop breakdown (%s)", path, n, exc)
                time.sleep(args.gap)
        result.peak_total_mb = round(max(sampler.peak_total, sum(idle.values())), 1)
        result.peak_mb = {k: round(v, 1) for k, v in sampler.peak_by_component.items()}
        result.peak_pss_mb = round(max(sampler.peak_pss, result.idle_pss_mb), 1)
    finally:
        airflow.stop()
    return result


def pss_total(pids: dict[str, int]) -> float:
    """PSS (shared pages split among their users) of every component tree: RSS counts forked pages twice."""
    import psutil

    total = 0
    for pid in pids.values():
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                try:
                    total += process.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
                    pass
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


# --- report ---------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


def machine() -> dict[str, Any]:
    import psutil

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), pyplatform.processor())
    return {"nproc": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1), "cpu": model,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()], "python": pyplatform.python_version()}


def summarize(result: PathResult) -> dict[str, Any]:
    if not result.latencies:
        return {}
    keys = list(result.hops[0]) if result.hops else []
    by_hop = {k: statistics.median(h[k] for h in result.hops if k in h) for k in keys}
    groups: dict[str, float] = {}
    for key, value in by_hop.items():
        groups[key.split(":")[0]] = groups.get(key.split(":")[0], 0.0) + value
    return {"median": statistics.median(result.latencies), "p95": p95(result.latencies),
            "min": min(result.latencies), "max": max(result.latencies), "hops_median": by_hop, "groups": groups}


def report(results: list[PathResult], work: dict[str, dict[str, float]], info: dict[str, Any]) -> str:
    """The tables printed at the end (the benchmark's output, hence not logging)."""
    lines: list[str] = []
    out = lines.append
    out(f"\nMachine: {info['nproc']} cores ({info['cpu']}), {info['ram_gb']} GB RAM, "
          f"load average at start {info['load_avg_at_start']}")
    out("\nEvent-to-live (signal -> releases/current switched), seconds")
    out(f"{'path':8} {'events':>6} {'median':>7} {'p95':>7} {'min':>6} {'max':>6}  target (median<={TARGET_MEDIAN:g}, "
          f"p95<={TARGET_P95:g})")
    for r in results:
        s = summarize(r)
        if not s:
            out(f"{r.path:8} not measured: {r.reason}")
            continue
        ok = "met" if s["median"] <= TARGET_MEDIAN and s["p95"] <= TARGET_P95 else "NOT met"
        out(f"{r.path:8} {len(r.latencies):6d} {s['median']:7.2f} {s['p95']:7.2f} {s['min']:6.2f} {s['max']:6.2f}  {ok}")
    for r in results:
        s = summarize(r)
        if not s or not s["hops_median"]:
            continue
        out(f"\nWhere the time goes, {r.path} (median per hop, s)")
        for key, value in s["hops_median"].items():
            out(f"  {key:52} {value:6.2f}")
        out("  " + ", ".join(f"{k} {v:.2f}" for k, v in s["groups"].items()))
    for dataset, seconds in work.items():
        out(f"\nWork alone on {dataset}, in-process and warm (median, s): "
            + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items()))
    out("\nMemory (summed over each component's process tree, MB; PSS is the memory used, RSS counts shared pages"
        " once per process)")
    for r in results:
        if r.idle_mb:
            ok = "met" if r.peak_pss_mb <= TARGET_MEMORY_MB else "NOT met"
            out(f"  {r.path:8} idle PSS {r.idle_pss_mb:6.0f} (RSS {sum(r.idle_mb.values()):.0f})  peak during the run "
                  f"PSS {r.peak_pss_mb:6.0f} (RSS {r.peak_total_mb:.0f})  target PSS <= {TARGET_MEMORY_MB}: {ok}")
            out("           idle " + ", ".join(f"{k} {v:.0f}" for k, v in r.idle_mb.items())
                  + " | peak " + ", ".join(f"{k} {v:.0f}" for k, v in r.peak_mb.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--events", type=int, default=20, help="measured changes per path (default 20)")
    parser.add_argument("--paths", default=",".join(DEFAULT_PATHS),
                        help=f"comma-separated, of {','.join(PATHS)} (default {','.join(DEFAULT_PATHS)})")
    parser.add_argument("--watch-seconds", type=float, default=1.0,
                        help="poll_seconds of the drop-folder, broker and source-probe watchers (default 1)")
    parser.add_argument("--poll-every", default="5s", help="the `schedule` path's interval (default 5s)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds of quiet between changes (default 1)")
    parser.add_argument("--no-work", action="store_true", help="skip the in-process timing of the work alone")
    parser.add_argument("--all-agencies", action="store_true",
                        help="keep every agency's datasets in the catalog variant (their systems do not run here, "
                             "so their scheduled ingests fail and retry in the worker slots)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (Airflow homes, task logs, data)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown path(s): {', '.join(sorted(unknown))}")

    info = machine()
    work_dir = Path(tempfile.mkdtemp(prefix="satudata-latency-"))
    results: list[PathResult] = []
    work: dict[str, dict[str, float]] = {}
    try:
        for dataset in [] if args.no_work else sorted({dataset_for(path) for path in paths}):
            catalog_dir = write_catalog(work_dir / f"work-catalog-{dataset}", dataset, {"by": "asset_event"})
            work[dataset] = measure_work(catalog_dir, dataset)
        for path in paths:
            try:
                results.append(run_path(path, args, work_dir))
            except Exception as exc:  # noqa: BLE001  # one path failing must not lose the others' figures
                log.exception("%s: not measured", path)
                results.append(PathResult(path, {}, measured=False, reason=f"{type(exc).__name__}: {exc}"))
    finally:
        if args.keep:
            log.info("kept %s", work_dir)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    sys.stdout.write(report(results, work, info) + "\n")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "work": work, "summary": {
            r.path: summarize(r) for r in results}, "results": [asdict(r) for r in results]}, indent=2))
    return 0 if any(r.measured for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
