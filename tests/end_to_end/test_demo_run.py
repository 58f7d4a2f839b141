"""The main job end to end: `satudata run --demo` on all five agency systems, at a small scale.

This is `make run` (scale 1) shrunk to a scale that fits the suite: the embedded default (SQLite
registries, drop files, the Dinkes API on loopback), every ingest, one warehouse build, every gate,
one release with every publication, the portal and the catalogs. Then a second run changes nothing.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.catalog import CATALOG_DIR_ENV, DEFAULT_CATALOG_DIR, Catalog
from ingestion.durable import sha256_file
from ingestion.zones import Zones
from orchestration.cli import main

SCALE = "0.1"  # at 0.01 every population cell is 1..9 and the kecamatan subtotals pin some of them: refused
NIK_LIKE = re.compile(r"(?<!\d)\d{16}(?!\d)")
PERSONAL_COLUMN = re.compile(r"(^|_)(nik|kk|no_kk|nama_lengkap|nama_pelapor|tanggal_lahir|tgl_lahir)($|_)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_demo(root: Path, port: int) -> tuple[int, str, str]:
    """`satudata run --demo --scale SCALE` on `root`, the Dinkes API on `port` (the same in every run:
    the API's address is part of its deliveries' identity, as a real agency's URL would be)."""
    env = {"SATUDATA_DATA_DIR": str(root), CATALOG_DIR_ENV: str(DEFAULT_CATALOG_DIR), "SATUDATA_DEMO_API_PORT": str(port)}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["run", "--demo", "--scale", SCALE])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Zones, str, int]:
    root = tmp_path_factory.mktemp("demo") / "data"
    root.mkdir()
    port = _free_port()
    code, out, err = _run_demo(root, port)
    assert code == 0, out[-6000:] + err[-6000:]
    return Zones(root), out, port


def test_every_publication_is_released_and_verifiable(demo_run: tuple[Zones, str, int], catalog: Catalog) -> None:
    zones, out, _ = demo_run
    release = zones.releases / "current"
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["passed"] is True
    assert sorted(manifest["publications"]) == sorted(entry.id for entry in catalog.publications)
    for name, info in manifest["files"].items():
        assert sha256_file(release / name) == info["sha256"], name
    for entry in catalog.publications:
        for suffix in (".csv", ".parquet", ".json", ".metadata.json"):
            assert (release / f"{entry.id}{suffix}").is_file(), f"{entry.id}{suffix}"
        assert pq.read_metadata(release / f"{entry.id}.parquet").num_rows > 0
    for name in ("data.json", "datapackage.json", "portal/index.html", "validation/index.html"):
        assert (release / name).is_file(), name
    assert "Release:" in out


def test_no_open_file_holds_a_personal_identifier(demo_run: tuple[Zones, str, int], catalog: Catalog) -> None:
    zones, _, _ = demo_run
    release = zones.releases / "current"
    for entry in catalog.publications:
        table = pq.read_table(release / f"{entry.id}.parquet")
        for column in table.column_names:
            assert not PERSONAL_COLUMN.search(column), f"{entry.id}: column {column}"
        text = (release / f"{entry.id}.csv").read_text(encoding="utf-8")
        assert not NIK_LIKE.search(text.replace(" ", "").replace(".", "").replace("-", "")), entry.id


def test_the_warehouse_reports_unmapped_records_per_dataset(demo_run: tuple[Zones, str, int]) -> None:
    zones, out, _ = demo_run
    build = json.loads((zones.warehouse / "current" / "build.json").read_text())
    report = {row["dataset"]: row for row in build["unmapped"]}
    assert {"disdukcapil__penduduk", "dpmd__dana_desa", "diskominfo__pengaduan"} <= set(report)
    # The generators put unresolvable regions in on purpose: they are counted, not dropped.
    assert report["disdukcapil__penduduk"]["jumlah_tidak_terpetakan"] > 0
    for row in report.values():
        assert row["jumlah_lewat_kode"] + row["jumlah_lewat_nama"] + row["jumlah_tidak_terpetakan"] == row["jumlah_baris"]
    penduduk = report["disdukcapil__penduduk"]
    assert "region could not be mapped" in out
    assert f"disdukcapil__penduduk: {penduduk['jumlah_tidak_terpetakan']} of {penduduk['jumlah_baris']}" in out


def test_each_publication_names_every_dataset_its_mart_is_built_from(
    demo_run: tuple[Zones, str, int], catalog: Catalog
) -> None:
    """The catalog's `sources` decide when a publication waits for an agency: they must match dbt's lineage."""
    zones, _, _ = demo_run
    manifest = json.loads((zones.warehouse / "current" / "target" / "manifest.json").read_text())
    parents, nodes = manifest["parent_map"], {**manifest["nodes"], **manifest["sources"]}

    def raw_datasets(unique_id: str, seen: set[str]) -> set[str]:
        found = set()
        for parent in parents.get(unique_id, []):
            if parent in seen:
                continue
            seen.add(parent)
            if parent.startswith("source."):  # source.<project>.raw_<agency>.<dataset>
                node = nodes[parent]
                found.add(f"{node['source_name'].removeprefix('raw_')}__{node['name']}")
            found |= raw_datasets(parent, seen)
        return found

    for entry in catalog.publications:
        model = next(uid for uid, node in manifest["nodes"].items()
                     if node["resource_type"] == "model" and node["name"] == entry.spec.model)
        assert sorted(raw_datasets(model, set())) == sorted(entry.source_ids), entry.id


def test_a_second_run_changes_nothing(demo_run: tuple[Zones, str, int]) -> None:
    zones, _, port = demo_run
    before = os.readlink(zones.releases / "current")
    code, out, err = _run_demo(zones.root, port)
    assert code == 0, out[-4000:] + err[-4000:]
    assert f"No change: release {before} is current" in out
    assert "build_warehouse              not_triggered" in out
    assert os.readlink(zones.releases / "current") == before


