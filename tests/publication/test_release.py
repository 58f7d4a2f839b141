"""Write-audit-publish: atomic releases, rejected candidates, idempotency, rollback."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synthetic_build import mart_rows, mart_table

from ingestion.catalog import Catalog
from ingestion.zones import Zones
from publication import release
from publication.errors import GateFailed, ReleaseError
from publication.release import (
    audit_candidate,
    current_release,
    formula_safe,
    list_releases,
    publish_candidate,
    rollback,
    write_csv,
)

PUB = "disdik__jumlah_sekolah_per_kecamatan"


@pytest.fixture(autouse=True)
def ticking_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each audit one minute later, so release ids sort in the order they were made."""
    start = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    ticks = iter(range(10_000))
    monkeypatch.setattr(release, "_now", lambda: start + timedelta(minutes=next(ticks)))


def _release(zones: Zones, catalog: Catalog) -> dict:
    candidate = audit_candidate(zones, catalog)
    assert candidate is not None and candidate["passed"] is True
    return publish_candidate(zones, candidate["release_id"])


def _current_target(zones: Zones) -> str:
    return os.readlink(zones.releases / "current")


def test_a_passing_mart_is_published(zones: Zones, catalog: Catalog, make_build) -> None:
    build = make_build()
    manifest = _release(zones, catalog)
    rid = manifest["release_id"]
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", rid)
    assert rid.endswith(hashlib.sha256(manifest["build_id"].encode()).hexdigest()[:8])
    assert _current_target(zones) == rid and current_release(zones) == manifest
    folder = zones.releases / rid
    for name in (
        f"{PUB}.csv",
        f"{PUB}.parquet",
        f"{PUB}.json",
        f"{PUB}.metadata.json",
        "data.json",
        "datapackage.json",
        f"validation/{PUB}.json",
        "validation/index.html",
    ):
        assert (folder / name).is_file(), name
    for name, info in manifest["files"].items():
        data = (folder / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"] and len(data) == info["bytes"], name
    assert manifest["files"][f"{PUB}.parquet"]["rows"] == manifest["files"][f"{PUB}.csv"]["rows"] == 100
    assert (folder / f"{PUB}.parquet").read_bytes() == (
        build / "marts" / "jumlah_sekolah_per_kecamatan.parquet"
    ).read_bytes()
    assert manifest["passed"] is True
    assert manifest["gates"] == {"quality": {PUB: "pass"}, "metadata": {PUB: "pass"}, "privacy": {PUB: "pass"}}
    assert manifest["source_batches"] == {"disdik__sekolah": ["20261127T000000000000Z-abcdef01"]}
    assert manifest["code_version"]
    assert not list(zones.releases.glob("_tmp-*"))

    text = (folder / f"{PUB}.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith('"kode_provinsi","nama_provinsi"')
    assert '"64.01.01"' in text and '"64"' in text  # codes stay quoted text
    first = next(csv.DictReader(io.StringIO(text)))
    assert first["kode_kecamatan"] == "64.01.01" and first["kode_kabupaten_kota"] == "64.01"

    metadata = json.loads((folder / f"{PUB}.metadata.json").read_text())
    assert metadata["release_id"] == rid and metadata["penyajian"]["tahun_tersedia"] == [2019]
    assert {d["file"] for d in metadata["distribusi"]} == {f"{PUB}.csv", f"{PUB}.json", f"{PUB}.parquet"}
    page = (folder / "validation" / "index.html").read_text()
    assert PUB in page and not re.search(r"https?://", page)


def test_the_same_build_twice_is_no_new_release(zones: Zones, catalog: Catalog, make_build) -> None:
    make_build()
    first = _release(zones, catalog)
    assert audit_candidate(zones, catalog) is None
    assert [r["release_id"] for r in list_releases(zones)] == [first["release_id"]]


def test_nothing_to_release_without_a_build(zones: Zones, catalog: Catalog) -> None:
    assert audit_candidate(zones, catalog) is None
    assert current_release(zones) is None and list_releases(zones) == []


@pytest.mark.parametrize("bad", [{"kode_kecamatan": "64.01.99"}, {"kode_kecamatan": None}])
def test_a_failing_expectation_blocks_the_release(zones: Zones, catalog: Catalog, make_build, bad: dict) -> None:
    make_build()
    good = _release(zones, catalog)
    rows = mart_rows()
    rows[3].update(bad)
    make_build(mart_table(rows))
    with pytest.raises(GateFailed) as caught:
        audit_candidate(zones, catalog)
    error = caught.value
    assert f"{PUB}: quality: expect_column_values_to" in str(error) and "kode_kecamatan" in str(error)
    assert repr(bad["kode_kecamatan"]) in str(error)  # the observed value
    assert _current_target(zones) == good["release_id"]
    assert current_release(zones)["build_id"] == good["build_id"]
    rejected = zones.releases / "_rejected" / error.release_id
    assert error.path == rejected and rejected.is_dir()
    report = json.loads((rejected / "validation" / f"{PUB}.json").read_text())
    assert report["success"] is False
    manifest = json.loads((rejected / "manifest.json").read_text())
    assert manifest["passed"] is False and manifest["gates"]["quality"][PUB] == "fail"
    assert manifest["failures"] == error.failures
    assert not list(zones.releases.glob("_tmp-*"))
    assert [r["release_id"] for r in list_releases(zones)] == [good["release_id"]]
    with pytest.raises(ReleaseError, match="run audit_candidate first"):
        publish_candidate(zones, error.release_id)


def test_a_missing_metadata_field_blocks_the_release(zones: Zones, catalog: Catalog, make_build) -> None:
    path, agency_file = next((p, f) for p, f in catalog.files.items() if p.stem == "disdik")
    pub = agency_file.publications["jumlah_sekolah_per_kecamatan"]
    broken = pub.model_copy(update={"metadata": pub.metadata.model_copy(update={"walidata": ""})})
    broken_catalog = Catalog(
        {path: agency_file.model_copy(update={"publications": {"jumlah_sekolah_per_kecamatan": broken}})}
    )
    make_build()
    with pytest.raises(
        GateFailed, match=r"metadata: disdik\.yml: .*'metadata\.walidata': required Satu Data field is empty"
    ):
        audit_candidate(zones, broken_catalog)
    assert current_release(zones) is None
    (rejected,) = (zones.releases / "_rejected").iterdir()
    assert json.loads((rejected / "manifest.json").read_text())["gates"]["metadata"][PUB] == "fail"


def test_a_missing_mart_blocks_the_release(zones: Zones, catalog: Catalog, make_build) -> None:
    build = make_build()
    (build / "marts" / "jumlah_sekolah_per_kecamatan.parquet").unlink()
    with pytest.raises(GateFailed, match="is missing from build"):
        audit_candidate(zones, catalog)


def test_row_count_collapse_against_the_previous_release(zones: Zones, catalog: Catalog, make_build) -> None:
    make_build()
    _release(zones, catalog)
    make_build(mart_table([r for r in mart_rows() if r["jenjang"] == "SD"]))  # 20 rows instead of 100
    with pytest.raises(GateFailed, match=r"row_count_vs_previous: observed .*'ratio': 0\.2"):
        audit_candidate(zones, catalog)


def test_formula_like_text_is_made_safe_in_csv(tmp_path: Path) -> None:
    table = pa.table(
        {
            "kode": ["007", "64.01.01", "=1+1", "+62", "-x", "@SUM(A1)", "\tcmd", "\rcmd", None, "a=b"],
            "nilai": pa.array([-5, 1, 2, 3, 4, 5, 6, 7, 8, 9], pa.int64()),
        }
    )
    safe = formula_safe(table)
    assert safe["kode"].to_pylist() == [
        "007",
        "64.01.01",
        "'=1+1",
        "'+62",
        "'-x",
        "'@SUM(A1)",
        "'\tcmd",
        "'\rcmd",
        None,
        "a=b",
    ]
    assert safe["nilai"].to_pylist() == table["nilai"].to_pylist()  # numbers, negative ones too, are untouched
    path = tmp_path / "x.csv"
    write_csv(table, path)
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    assert rows[0] == ["kode", "nilai"]
    assert [r[0] for r in rows[1:]] == [
        "007",
        "64.01.01",
        "'=1+1",
        "'+62",
        "'-x",
        "'@SUM(A1)",
        "'\tcmd",
        "'\rcmd",
        "",
        "a=b",
    ]
    assert rows[1][1] == "-5"
    assert '"007"' in path.read_text(encoding="utf-8")


def test_rollback_repoints_current(zones: Zones, catalog: Catalog, make_build) -> None:
    make_build()
    first = _release(zones, catalog)
    rows = mart_rows()
    rows[0]["jumlah_sekolah"] = 99
    make_build(mart_table(rows))
    second = _release(zones, catalog)
    assert [r["current"] for r in list_releases(zones)] == [False, True]
    assert rollback(zones, first["release_id"])["build_id"] == first["build_id"]
    assert _current_target(zones) == first["release_id"]
    assert [r["current"] for r in list_releases(zones)] == [True, False]
    # the warehouse still holds the second build: it was released already, so no new release
    assert audit_candidate(zones, catalog) is None
    with pytest.raises(ReleaseError, match="unknown release '20990101T000000Z-deadbeef'"):
        rollback(zones, "20990101T000000Z-deadbeef")
    with pytest.raises(ReleaseError, match="unknown release"):
        rollback(zones, "../../etc")
    rollback(zones, second["release_id"])
    assert current_release(zones)["release_id"] == second["release_id"]


def test_a_crash_during_the_swap_leaves_current_and_can_resume(
    zones: Zones, catalog: Catalog, make_build, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_build()
    first = _release(zones, catalog)
    rows = mart_rows()
    rows[0]["jumlah_sekolah"] = 77
    make_build(mart_table(rows))
    candidate = audit_candidate(zones, catalog)
    assert _current_target(zones) == first["release_id"]  # an audited candidate is not yet public

    def crash(*args: object) -> None:
        raise OSError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(release.os, "replace", crash)
        with pytest.raises(OSError, match="power cut"):
            publish_candidate(zones, candidate["release_id"])
    assert _current_target(zones) == first["release_id"]
    assert (zones.releases / candidate["release_id"]).is_dir()  # committed, not current
    manifest = publish_candidate(zones, candidate["release_id"])  # resumes: only the swap is left
    assert _current_target(zones) == candidate["release_id"] == manifest["release_id"]
    served = pq.read_table(zones.releases / "current" / f"{PUB}.parquet")
    assert served["jumlah_sekolah"][0].as_py() == 77


def test_old_releases_are_pruned_but_never_current(
    zones: Zones, catalog: Catalog, make_build, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(release, "KEEP_RELEASES", 2)
    ids = []
    for n in range(3):
        rows = mart_rows()
        rows[0]["jumlah_sekolah"] = 50 + n
        make_build(mart_table(rows))
        ids.append(_release(zones, catalog)["release_id"])
    assert [r["release_id"] for r in list_releases(zones)] == ids[1:]
    rollback(zones, ids[1])
    rows = mart_rows()
    rows[0]["jumlah_sekolah"] = 60
    make_build(mart_table(rows))
    candidate = audit_candidate(zones, catalog)
    # publishing the 4th keeps the newest two (3rd, 4th); the 2nd was current until the swap
    publish_candidate(zones, candidate["release_id"])
    assert [r["release_id"] for r in list_releases(zones)] == [ids[2], candidate["release_id"]]


def test_a_tampered_candidate_is_not_published(zones: Zones, catalog: Catalog, make_build) -> None:
    make_build()
    candidate = audit_candidate(zones, catalog)
    (Path(candidate["path"]) / f"{PUB}.csv").write_text("kode\n=evil()\n")
    with pytest.raises(ReleaseError, match="does not match its sha256"):
        publish_candidate(zones, candidate["release_id"])
    assert current_release(zones) is None and list_releases(zones) == []


def test_a_publication_waits_for_another_agencys_source_and_a_missing_mart_otherwise_fails(
    catalog: Catalog, tmp_path: Path
) -> None:
    """Dinkes' coverage rate is built over the registry: without a Disdukcapil batch it waits, not fails."""
    (tmp_path / "marts").mkdir()
    for entry in catalog.publications:
        if entry.agency.code == "disdik":
            (tmp_path / "marts" / f"{entry.spec.model}.parquet").touch()
    build = {"excluded_datasets": ["disdukcapil__penduduk"]}
    ready, waiting = release._releasable(catalog, tmp_path, build)
    reasons = {entry.id: reason for entry, reason in waiting}
    assert sorted(reasons) == ["dinkes__cakupan_imunisasi_dasar_lengkap_per_desa", "disdukcapil__jumlah_penduduk_per_desa"]
    assert "no batch yet for disdukcapil__penduduk" in reasons["dinkes__cakupan_imunisasi_dasar_lengkap_per_desa"]
    # Stunting's mart is absent although all its sources were built: a broken build, left to fail its gate.
    assert "dinkes__prevalensi_stunting_per_kecamatan" in {entry.id for entry in ready}


# --- Two publish runs overlapping ---------------------------------------------------------------------------


def _first_run(root: str, catalog: Catalog, audited: str, go: str, out: str) -> None:
    """A publish run whose publish step comes later (the publish DAG's second task): audit, wait, publish."""
    zones = Zones(Path(root))
    try:
        candidate = audit_candidate(zones, catalog)
        assert candidate is not None
        Path(audited).write_text(candidate["release_id"])
        while not Path(go).exists():
            time.sleep(0.05)
        manifest = publish_candidate(zones, candidate["release_id"])
        Path(out).write_text(json.dumps({"published": manifest["release_id"]}))
    except Exception as exc:  # reported to the test, which fails on it
        Path(out).write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    os._exit(0)


def _second_run(root: str, catalog: Catalog, out: str) -> None:
    """A manual run started meanwhile (its own clock: a release id of its own)."""
    release._now = lambda: datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    zones = Zones(Path(root))
    started = time.monotonic()
    try:
        candidate = audit_candidate(zones, catalog)
        if candidate is not None:
            publish_candidate(zones, candidate["release_id"])
        result = {"audited": candidate and candidate["release_id"], "seconds": time.monotonic() - started}
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(out).write_text(json.dumps(result))
    os._exit(0)


def test_a_second_publish_run_waits_for_the_first_ones_candidate(
    zones: Zones, catalog: Catalog, make_build, tmp_path: Path
) -> None:
    make_build()
    fork = multiprocessing.get_context("fork")
    audited, go, first_out, second_out = (str(tmp_path / name) for name in ("audited", "go", "first.json", "second.json"))
    first = fork.Process(target=_first_run, args=(str(zones.root), catalog, audited, go, first_out), daemon=True)
    second = fork.Process(target=_second_run, args=(str(zones.root), catalog, second_out), daemon=True)
    first.start()
    try:
        deadline = time.monotonic() + 120
        while not Path(audited).exists():
            assert first.is_alive() and time.monotonic() < deadline, "the first run never finished its audit"
            time.sleep(0.05)
        second.start()
        time.sleep(1.5)  # the second run audits meanwhile: it must not take or remove the first run's candidate
        assert second.is_alive(), Path(second_out).read_text()
        assert (zones.releases / f"_tmp-{Path(audited).read_text()}").is_dir()
    finally:
        Path(go).touch()
        for process in (first, second):
            if process.pid is not None:
                process.join(60)
    first_result, second_result = json.loads(Path(first_out).read_text()), json.loads(Path(second_out).read_text())
    assert first_result == {"published": Path(audited).read_text()}
    # the second run waited for that release, then found its build released: nothing new
    assert second_result["audited"] is None and second_result["seconds"] >= 1.5, second_result
    assert [r["release_id"] for r in list_releases(zones)] == [first_result["published"]]
    assert _current_target(zones) == first_result["published"]
    assert not list(zones.releases.glob("_tmp-*"))


def test_a_candidate_older_than_the_lease_is_a_leftover(
    zones: Zones, catalog: Catalog, make_build, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make_build()
    monkeypatch.setattr(release, "PENDING_LEASE_S", 0.5)
    crashed = audit_candidate(zones, catalog)  # a run that died before its publish step
    assert crashed is not None
    started = time.monotonic()
    again = audit_candidate(zones, catalog)
    assert again is not None and again["release_id"] != crashed["release_id"]
    assert 0.2 <= time.monotonic() - started < 5  # waited for the lease, not forever
    assert "has not published it yet: waiting for it" in caplog.text
    assert [p.name for p in zones.releases.glob("_tmp-*")] == [f"_tmp-{again['release_id']}"]
    with pytest.raises(ReleaseError, match="run audit_candidate first"):
        publish_candidate(zones, crashed["release_id"])
    assert publish_candidate(zones, again["release_id"])["release_id"] == again["release_id"]
