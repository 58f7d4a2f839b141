"""Staged warehouse builds over real school data: conformance, no-op, swap, failure, lock."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ingestion.catalog import Catalog
from ingestion.zones import Zones
from tests.warehouse.raw_batches import sekolah_rows, write_batch
from warehouse.build import (
    KEEP_BUILDS,
    BuildFailed,
    _prune,
    build_inputs,
    build_warehouse,
    current_build,
    generate_docs,
)

MART = "jumlah_sekolah_per_kecamatan"
KECAMATAN_PASER = {f"64.01.{n:02d}" for n in range(1, 11)}


def _builds(zones: Zones) -> list[str]:
    return sorted(p.name for p in (zones.warehouse / "builds").iterdir())


def _current_target(zones: Zones) -> str:
    return os.readlink(zones.warehouse / "current")


def _copy_root(source: Zones, tmp_path: Path) -> Zones:
    """A private copy of a built data root (the current symlink is relative, so it survives)."""
    root = tmp_path / "data"
    shutil.copytree(source.root, root, symlinks=True)
    return Zones(root)


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> tuple[Zones, dict]:
    """One committed batch of the 323 real schools, built once for the module's read-only tests."""
    zones = Zones(tmp_path_factory.mktemp("warehouse") / "data")
    zones.root.mkdir()
    write_batch(zones, sekolah_rows())
    build = build_warehouse(zones, catalog)
    assert build is not None
    return zones, build


def _mart(zones: Zones, build: dict) -> list[dict]:
    path = zones.warehouse / "builds" / build["build_id"] / build["marts"][MART]["path"]
    return pq.read_table(path).to_pylist()


def test_build_commits_and_points_current_at_it(first_build: tuple[Zones, dict]) -> None:
    zones, build = first_build
    assert _current_target(zones) == f"builds/{build['build_id']}"
    assert current_build(zones) == build
    assert not [name for name in _builds(zones) if name.startswith("_")], "no _tmp/_failed leftovers"
    raw_ids = sorted(p.name.removeprefix("batch=") for p in zones.raw("disdik", "sekolah").glob("batch=*"))
    assert build["inputs"] == {"disdik__sekolah": raw_ids}
    assert set(build["models"]) >= {"stg_disdik__sekolah", "int_sekolah_wilayah_mapped", "dim_wilayah", MART}
    assert build["tests"]["failed"] == 0 and build["tests"]["passed"] > 20
    build_dir = zones.warehouse / "builds" / build["build_id"]
    on_disk = json.loads((build_dir / "build.json").read_text())
    assert on_disk == build
    mart_file = build_dir / build["marts"][MART]["path"]
    assert hashlib.sha256(mart_file.read_bytes()).hexdigest() == build["marts"][MART]["sha256"]
    assert pq.read_metadata(mart_file).num_rows == build["marts"][MART]["rows"]


def test_mart_counts_every_school_once_on_kemendagri_kecamatan(first_build: tuple[Zones, dict]) -> None:
    zones, build = first_build
    rows = _mart(zones, build)
    assert {row["kode_kecamatan"] for row in rows} == KECAMATAN_PASER
    assert sum(row["jumlah_sekolah"] for row in rows) == 323
    assert {row["status_sekolah"] for row in rows} == {"Negeri", "Swasta"}
    assert {row["satuan"] for row in rows} == {"sekolah"} and {row["tahun"] for row in rows} == {2019}
    assert {(row["kode_provinsi"], row["kode_kabupaten_kota"]) for row in rows} == {("64", "64.01")}
    assert all(row["jumlah_sekolah"] > 0 for row in rows), "only existing combinations, no zero rows"
    schema = pq.read_schema(zones.warehouse / "current" / build["marts"][MART]["path"])
    assert str(schema.field("jumlah_sekolah").type) == "int64"
    assert str(schema.field("tahun").type) == "int32"
    assert str(schema.field("kode_kecamatan").type) == "string"


def test_kemdikbud_swap_is_conformed_through_the_crosswalk(first_build: tuple[Zones, dict]) -> None:
    zones, build = first_build
    schools = sekolah_rows()
    by_kemdikbud = {
        code: sum(1 for school in schools if school["kode_kecamatan_kemdikbud"] == code)
        for code in ("160109", "160110")
    }
    totals: dict[str, int] = {}
    names: dict[str, str] = {}
    for row in _mart(zones, build):
        totals[row["kode_kecamatan"]] = totals.get(row["kode_kecamatan"], 0) + row["jumlah_sekolah"]
        names[row["kode_kecamatan"]] = row["nama_kecamatan"]
    assert (names["64.01.10"], totals["64.01.10"]) == ("Muara Samu", by_kemdikbud["160109"])
    assert (names["64.01.09"], totals["64.01.09"]) == ("Batu Engau", by_kemdikbud["160110"])
    # School by school, in the committed build's database (opened read-only, a finished snapshot).
    with duckdb.connect(str(zones.warehouse / "current" / "warehouse.duckdb"), read_only=True) as connection:
        pairs = connection.execute(
            "select distinct kode_kecamatan_kemdikbud, kode_kecamatan from intermediate.int_sekolah_wilayah_mapped"
            " where kode_kecamatan_kemdikbud in ('160109', '160110') order by 1"
        ).fetchall()
        view_rows = connection.execute(f"select sum(jumlah_sekolah) from open.{MART}").fetchone()
    assert pairs == [("160109", "64.01.10"), ("160110", "64.01.09")]
    assert view_rows == (323,), "the view over the exported Parquet points at the committed build"


def test_unchanged_inputs_are_a_no_op(first_build: tuple[Zones, dict], catalog: Catalog) -> None:
    zones, build = first_build
    before = _builds(zones)
    assert build_warehouse(zones, catalog) is None
    assert _builds(zones) == before
    assert current_build(zones) == build


def test_a_new_batch_makes_one_new_build_and_swaps_current(
    first_build: tuple[Zones, dict], catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zones = _copy_root(first_build[0], tmp_path)
    old = current_build(zones)
    # The same code as the first build (models may be edited while the suite runs).
    monkeypatch.setattr("warehouse.build.code_fingerprint", lambda: old["code_fingerprint"])
    schools = sekolah_rows(tahun_data=2020)[1:]  # the next delivery: one school closed
    write_batch(zones, schools)

    build = build_warehouse(zones, catalog)

    assert build is not None and build["build_id"] != old["build_id"]
    assert _current_target(zones) == f"builds/{build['build_id']}"
    assert len(build["inputs"]["disdik__sekolah"]) == 2
    assert _builds(zones) == sorted([old["build_id"], build["build_id"]])
    rows = _mart(zones, build)
    assert sum(row["jumlah_sekolah"] for row in rows) == 322, "a snapshot dataset: the latest batch only"
    assert {row["tahun"] for row in rows} == {2020}
    assert build_warehouse(zones, catalog) is None

    # Incremental: only what depends on the changed dataset ran, on a copy of the previous build.
    assert (build["mode"], build["based_on"], build["rebuilt_from"]) == ("incremental", old["build_id"], ["disdik__sekolah"])
    assert MART in build["models"] and "dim_wilayah" not in build["models"] and "int_wilayah_alias" not in build["models"]
    # The copy stands on its own: with the previous build gone, its views still read this build's files.
    shutil.rmtree(zones.warehouse / "builds" / old["build_id"])
    with duckdb.connect(str(zones.warehouse / "current" / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute(f"select sum(jumlah_sekolah) from open.{MART}").fetchone() == (322,)
        assert connection.execute("select count(*) from core.dim_wilayah").fetchone() == (155,)
        assert connection.execute("select count(*) from staging.stg_disdik__sekolah").fetchone() == (322,)
        views = connection.execute("select sql from duckdb_views() where not internal").fetchall()
    assert not [sql for (sql,) in views if old["build_id"] in sql or "_building" in sql]
    assert set(build["phase_seconds"]) == {"copy_previous", "dbt"}


def test_a_snapshot_run_of_several_batches_is_read_whole_once_complete(
    first_build: tuple[Zones, dict], catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 2020 list in two batches of one run (an API's pages): nothing of it is built before its last part,
    then every school of both parts, none of the 2019 list."""
    zones = _copy_root(first_build[0], tmp_path)
    old = current_build(zones)
    monkeypatch.setattr("warehouse.build.code_fingerprint", lambda: old["code_fingerprint"])
    schools = sekolah_rows(tahun_data=2020)
    run_id = write_batch(zones, schools[:200], run=(None, 1, False))
    assert build_inputs(zones, catalog) == old["inputs"]  # part 1 alone is half a list: not built from
    assert build_warehouse(zones, catalog) is None

    second = write_batch(zones, schools[200:], run=(run_id, 2, True))

    build = build_warehouse(zones, catalog)
    assert build is not None and second == f"{run_id}.0002"
    assert build["inputs"]["disdik__sekolah"][-2:] == [run_id, second]
    rows = _mart(zones, build)
    assert sum(row["jumlah_sekolah"] for row in rows) == 323 and {row["tahun"] for row in rows} == {2020}


def test_a_code_change_makes_a_full_build(
    first_build: tuple[Zones, dict], catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zones = _copy_root(first_build[0], tmp_path)
    write_batch(zones, sekolah_rows(tahun_data=2020))
    monkeypatch.setattr("warehouse.build.code_fingerprint", lambda: "another version of the models")
    build = build_warehouse(zones, catalog)
    assert build is not None and build["mode"] == "full" and "dim_wilayah" in build["models"]


def test_force_rebuilds_unchanged_inputs(first_build: tuple[Zones, dict], catalog: Catalog, tmp_path: Path) -> None:
    zones = _copy_root(first_build[0], tmp_path)
    old = current_build(zones)
    (zones.warehouse / "builds" / "_tmp-20260101T000000Z-0badf00d").mkdir()  # left by a build that died

    build = build_warehouse(zones, catalog, force=True)

    assert build is not None and build["build_id"] != old["build_id"]
    assert build["inputs"] == old["inputs"] and build["marts"][MART]["rows"] == old["marts"][MART]["rows"]
    assert _current_target(zones) == f"builds/{build['build_id']}"
    assert "_failed-20260101T000000Z-0badf00d" in _builds(zones)


@pytest.mark.parametrize(
    ("spoil", "failing_test"),
    [
        pytest.param(
            lambda rows: rows + [dict(rows[0], nama_sekolah="DUPLIKAT")],
            "unique_stg_disdik__sekolah_npsn",
            id="duplicate-npsn",
        ),
        pytest.param(
            lambda rows: [dict(rows[0], kode_kecamatan_kemdikbud="169999"), *rows[1:]],
            "int_sekolah_wilayah_mapped_no_unmapped_kecamatan",
            id="unknown-kecamatan",
        ),
    ],
)
def test_a_failing_dbt_test_raises_and_leaves_current_untouched(
    first_build: tuple[Zones, dict], catalog: Catalog, tmp_path: Path, spoil, failing_test: str
) -> None:
    zones = _copy_root(first_build[0], tmp_path)
    old_target, old_build = _current_target(zones), current_build(zones)
    write_batch(zones, spoil(sekolah_rows()))

    with pytest.raises(BuildFailed) as raised:
        build_warehouse(zones, catalog)

    assert failing_test in str(raised.value)
    assert any(failing_test in failure["node"] for failure in raised.value.failures)
    assert _current_target(zones) == old_target and current_build(zones) == old_build
    kept = raised.value.kept_at
    assert kept is not None and kept.name.startswith("_failed-") and (kept / "logs" / "dbt.log").exists()
    assert not [name for name in _builds(zones) if name.startswith("_tmp-")]


def test_a_build_waits_for_the_lock(first_build: tuple[Zones, dict], catalog: Catalog) -> None:
    zones, _ = first_build
    results: list[object] = []
    with (zones.warehouse / ".build.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: results.append(build_warehouse(zones, catalog)))
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive() and not results, "the build must wait while another holds the lock"
        fcntl.flock(handle, fcntl.LOCK_UN)
    worker.join(timeout=30)
    assert results == [None]


def test_build_inputs_are_the_ledger_of_committed_batches(zones: Zones, catalog: Catalog, write_sekolah_batch) -> None:
    first = write_sekolah_batch()
    second = write_sekolah_batch(rows=sekolah_rows()[:5])
    (zones.raw("disdik", "sekolah") / "_tmp-20990101T000000000000Z-00000000").mkdir()  # a batch being written
    assert build_inputs(zones, catalog) == {"disdik__sekolah": sorted([first, second])}


def test_no_batches_means_nothing_to_build(zones: Zones, catalog: Catalog) -> None:
    assert build_warehouse(zones, catalog) is None
    assert not (zones.warehouse / "current").exists()


def test_prune_keeps_the_newest_builds_and_never_current(tmp_path: Path) -> None:
    builds = tmp_path / "builds"
    names = [f"2026010{day}T000000Z-0000000{day}" for day in range(1, 9)]
    for name in [*names, "_failed-20260101T000000Z-deadbeef"]:
        (builds / name).mkdir(parents=True)
    _prune(builds, current_id=names[0])
    kept = sorted(p.name for p in builds.iterdir())
    assert kept == sorted([names[0], *names[-KEEP_BUILDS:], "_failed-20260101T000000Z-deadbeef"])


def test_docs_generate_offline(first_build: tuple[Zones, dict], tmp_path: Path) -> None:
    zones, _ = first_build
    page = generate_docs(zones, tmp_path / "docs")
    html = page.read_text(encoding="utf-8")
    assert MART in html and "dim_wilayah" in html
    assert '<script src="http' not in html and '<link href="http' not in html
