"""The static portal of a release: pages, links that stay inside the release, escaping, chart, determinism.

The release folders here are built by hand (pyarrow + json), shaped like `audit_candidate` writes them,
so these tests need no warehouse build and no GX run. `build_release` is also used by the browser test.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from synthetic_build import mart_table

from ingestion.catalog import DEFAULT_CATALOG_DIR, Catalog, load_catalog
from publication.errors import ReleaseError
from publication.portal import render_portal
from publication.portal.chart import BAR_COLOR, MAX_BARS
from publication.release import write_csv

RELEASE_ID = "20261128T010203Z-0123abcd"
CREATED_AT = "2026-11-28T01:02:03+00:00"
EVIL = '<script>alert("judul")</script> & "kutip"'
EVIL_COLUMN = "<img src=x onerror=alert(1)>"
EVIL_KECAMATAN = "<b>Kecamatan Jahat</b>"
SVG_NS = "http://www.w3.org/2000/svg"

SDI = {
    "definisi": "Banyaknya kunjungan ke puskesmas menurut desa dan jenis kelamin",
    "konsep": "Kunjungan adalah kedatangan pasien ke puskesmas untuk mendapat layanan",
    "satuan": "kunjungan",
    "ukuran": "jumlah",
    "produsen_data": "Dinas Uji Kabupaten Paser",
    "walidata": "Dinas Komunikasi dan Informatika Kabupaten Paser",
    "frekuensi": "tahunan",
    "akses": "terbuka",
    "tingkat_penyajian": "desa",
    "lisensi": "CC-BY-4.0",
    "topik": "kesehatan",
}
COLUMNS = {
    "kode_desa": "Kode desa menurut Kemendagri",
    "nama_kecamatan": "Nama kecamatan",
    "nama_desa": "Nama desa",
    "jenis_kelamin": "Jenis kelamin (L atau P)",
    "jumlah_kunjungan": "Banyaknya kunjungan",
    "tahun": "Tahun keadaan data",
}


def _agency_file() -> dict[str, Any]:
    """A second agency with person counts (small_cells), one publication with and one without `chart`."""
    dataset = {
        "title": "Kunjungan puskesmas",
        "owner": "Seksi Data Dinas Uji",
        "source": {"kind": "file", "pattern": "kunjungan*.csv", "format": "csv"},
        "primary_key": ["id_kunjungan"],
        "trigger": {"by": "file_drop"},
        "contract": {"columns": {"id_kunjungan": {"type": "text", "description": "Nomor kunjungan"}}},
        "metadata": {**SDI, "judul": "Kunjungan puskesmas (data mentah)", "akses": "tertutup"},
    }
    cells = {"counts": ["jumlah_kunjungan"], "max_suppressed": 10, "cell": ["kode_desa", "jenis_kelamin"],
             "margins": ["jenis_kelamin"]}
    return {
        "agency": {"code": "uji", "name": "Dinas Uji Kabupaten Paser", "abbreviation": "Dinuji"},
        "datasets": {"kunjungan": dataset},
        "publications": {
            "kunjungan_per_desa": {
                "model": "kunjungan_per_desa",
                "sources": ["kunjungan"],
                "metadata": {**SDI, "judul": EVIL},
                "columns": {**COLUMNS, "nama_desa": EVIL_COLUMN},
                "small_cells": cells,
            },
            "kunjungan_per_jenis_kelamin": {
                "model": "kunjungan_per_jenis_kelamin",
                "sources": ["kunjungan"],
                "metadata": {**SDI, "judul": "Kunjungan Puskesmas menurut Jenis Kelamin", "topik": None},
                "columns": COLUMNS,
                "small_cells": cells,
                "chart": {"by": "jenis_kelamin", "value": "jumlah_kunjungan"},
            },
        },
    }


def kunjungan_table() -> pa.Table:
    """Two years; the latest has a suppressed (null) count, a desa whose counts are all suppressed and
    a name with markup in it."""
    rows = []
    desa = [("64.01.01.2001", "Batu Sopang", "Batu Kajang"), ("64.01.01.2002", "Batu Sopang", "Kasungai"),
            ("64.01.02.2001", EVIL_KECAMATAN, "Lori"), ("64.01.02.2002", EVIL_KECAMATAN, "Random")]
    counts = {2025: [[40, 31], [22, 25], [15, 11], [60, 70]], 2026: [[41, None], [20, 26], [12, 17], [None, None]]}
    for tahun, per_desa in counts.items():
        for (kode, kecamatan, nama), pair in zip(desa, per_desa, strict=True):
            for jenis_kelamin, jumlah in zip(["L", "P"], pair, strict=True):
                rows.append({"kode_desa": kode, "nama_kecamatan": kecamatan, "nama_desa": nama, "jenis_kelamin": jenis_kelamin,
                             "jumlah_kunjungan": jumlah, "disembunyikan": jumlah is None, "tahun": tahun})
    schema = pa.schema([("kode_desa", pa.string()), ("nama_kecamatan", pa.string()), ("nama_desa", pa.string()),
                        ("jenis_kelamin", pa.string()), ("jumlah_kunjungan", pa.int64()), ("disembunyikan", pa.bool_()),
                        ("tahun", pa.int32())])
    return pa.Table.from_pylist(rows, schema=schema)


def portal_catalog(folder: Path) -> Catalog:
    """The repository's Disdik file and the synthetic agency above, in a temporary catalog folder."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEFAULT_CATALOG_DIR / "disdik.yml", folder / "disdik.yml")
    (folder / "uji.yml").write_text(yaml.safe_dump(_agency_file(), allow_unicode=True), encoding="utf-8")
    return load_catalog(folder)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_release(
    release_dir: Path,
    tables: dict[str, pa.Table],
    *,
    skip: tuple[str, ...] = (),
    gates: dict[str, dict[str, str]] | None = None,
    passed_checks: int = 10,
) -> dict[str, Any]:
    """Write a release folder like audit_candidate does (CSV, Parquet, JSON, metadata, validation) and
    return its manifest. Files named in `skip` are written but not listed, as if the release had none."""
    (release_dir / "validation").mkdir(parents=True)
    for pid, table in tables.items():
        pq.write_table(table, release_dir / f"{pid}.parquet")
        write_csv(table, release_dir / f"{pid}.csv")
        (release_dir / f"{pid}.json").write_text(json.dumps(table.to_pylist(), ensure_ascii=False), encoding="utf-8")
        (release_dir / f"{pid}.metadata.json").write_text(json.dumps({"id": pid}), encoding="utf-8")
        report = {
            "suite": pid,
            "success": passed_checks == 10,
            "statistics": {"evaluated_expectations": 10, "successful_expectations": passed_checks},
            "results": [],
            "rows": table.num_rows,
            "validated_at": "2026-11-28T01:02:00+00:00",  # the portal must not show it (not the release time)
            "seconds": 0.2,
        }
        (release_dir / "validation" / f"{pid}.json").write_text(json.dumps(report), encoding="utf-8")
    (release_dir / "validation" / "index.html").write_text("<!DOCTYPE html><title>Laporan</title>", encoding="utf-8")
    (release_dir / "data.json").write_text("{}", encoding="utf-8")
    files = {}
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):
        name = path.relative_to(release_dir).as_posix()
        if name in skip:
            continue
        stem = name.split(".", 1)[0]
        rows = tables[stem].num_rows if stem in tables and name.endswith((".csv", ".parquet")) else None
        files[name] = {"sha256": _sha256(path), "rows": rows, "bytes": path.stat().st_size}
    pids = sorted(tables)
    return {
        "release_id": release_dir.name,
        "build_id": "20261128T010000Z-feedbeef",
        "created_at": CREATED_AT,
        "source_batches": {},
        "code_version": "abc",
        "publications": pids,
        "files": files,
        "gates": gates or {gate: dict.fromkeys(pids, "pass") for gate in ("quality", "metadata", "privacy")},
        "failures": [],
        "passed": True,
    }


def build_release(root: Path, **kwargs: Any) -> tuple[Path, dict[str, Any], Catalog]:
    """A complete synthetic release of three publications (two agencies) with its portal rendered."""
    catalog = portal_catalog(root / "catalog")
    tables = {
        "disdik__jumlah_sekolah_per_kecamatan": mart_table(),
        "uji__kunjungan_per_desa": kunjungan_table(),
        "uji__kunjungan_per_jenis_kelamin": kunjungan_table(),
    }
    release_dir = root / "releases" / RELEASE_ID
    manifest = write_release(release_dir, tables, **kwargs)
    render_portal(release_dir, manifest, catalog)
    return release_dir, manifest, catalog


build_release.__test__ = False  # type: ignore[attr-defined]


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    return parser


def parse(path: Path) -> _Tags:
    return parse_html(path.read_text(encoding="utf-8"))


def _pages(release_dir: Path) -> list[Path]:
    return sorted((release_dir / "portal").rglob("*.html"))


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, dict[str, Any], Catalog]:
    return build_release(tmp_path)


# --- Pages ------------------------------------------------------------------------------------------------


def test_index_and_dataset_pages_in_both_languages(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, manifest, _ = release
    portal = release_dir / "portal"
    expected = {"index.html", *(f"{pid}.html" for pid in manifest["publications"])}
    assert {p.name for p in portal.glob("*.html")} == expected
    assert {p.name for p in (portal / "en").glob("*.html")} == expected
    for page in _pages(release_dir):
        html_tag = parse(page).tags[0]
        assert html_tag == ("html", {"lang": "en" if page.parent.name == "en" else "id"})
    index_id = (portal / "index.html").read_text(encoding="utf-8")
    index_en = (portal / "en" / "index.html").read_text(encoding="utf-8")
    assert "Menurut produsen data" in index_id and "Menurut topik" in index_id
    assert "By data producer" in index_en and "By topic" in index_en
    # metadata values are not translated: the agency's title shows on the English page as written
    assert "Jumlah Sekolah menurut Kecamatan, Jenjang dan Status di Kabupaten Paser" in index_en


def test_index_groups_by_agency_and_topic(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, _, _ = release
    text = (release_dir / "portal" / "index.html").read_text(encoding="utf-8")
    agency_part, topic_part = text.split('id="by-topic"')
    headings = re.findall(r"<h3>(.*?)</h3>", agency_part)
    assert headings == ["Dinas Pendidikan dan Kebudayaan Kabupaten Paser", "Dinas Uji Kabupaten Paser"]
    # the publication without a topic is listed under '(tanpa topik)', last
    assert re.findall(r"<h3>(.*?)</h3>", topic_part) == ["kesehatan", "pendidikan", "(tanpa topik)"]
    uji = agency_part.split("<h3>Dinas Uji Kabupaten Paser</h3>")[1]
    assert 'href="uji__kunjungan_per_desa.html"' in uji and 'href="uji__kunjungan_per_jenis_kelamin.html"' in uji


def test_links_stay_inside_the_release_and_exist(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, _, _ = release
    checked = 0
    for page in _pages(release_dir):
        text = page.read_text(encoding="utf-8")
        # nothing is loaded from anywhere: no script, no external stylesheet, no image, no @import
        assert "<script" not in text.lower() and "@import" not in text and "url(" not in text
        assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {SVG_NS}, page
        for tag, attrs in parse(page).tags:
            for attr in ("href", "src", "action", "data"):
                target = attrs.get(attr)
                if target is None or (tag == "svg" and attr == "xmlns"):
                    continue
                assert attr == "href", f"{page.name}: <{tag} {attr}> loads something"
                parts = urlsplit(target)
                assert not parts.scheme and not parts.netloc and not target.startswith("/"), f"{page.name}: {target}"
                resolved = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                assert resolved.is_file(), f"{page.name}: link {target} has no target"
                assert release_dir.resolve() in resolved.parents, f"{page.name}: {target} leaves the release"
                checked += 1
    assert checked > 40


def test_language_links_point_at_the_same_page(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, _, _ = release
    portal = release_dir / "portal"
    for page in _pages(release_dir):
        links = [a for tag, a in parse(page).tags if tag == "a" and a.get("hreflang")]
        assert len(links) == 1
        other = (page.parent / str(links[0]["href"])).resolve()
        assert other.name == page.name and other != page.resolve()
        assert (other.parent == portal / "en") == (page.parent == portal)


def test_agency_text_is_escaped(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, _, _ = release
    for page in _pages(release_dir):
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text and "<img" not in text and "<b>" not in text
    page = release_dir / "portal" / "uji__kunjungan_per_desa.html"
    text = page.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&quot;judul&quot;)&lt;/script&gt; &amp; &quot;kutip&quot;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;b&gt;Kecamatan Jahat&lt;/b&gt;" in text  # a category name inside the SVG
    # and a reader still sees the title as written
    assert EVIL in "".join(parse(page).text)


# --- Dataset page content ---------------------------------------------------------------------------------


def test_dataset_page_shows_metadata_columns_and_downloads(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, manifest, _ = release
    pid = "disdik__jumlah_sekolah_per_kecamatan"
    text = (release_dir / "portal" / f"{pid}.html").read_text(encoding="utf-8")
    for label, value in [("Satuan", "sekolah"), ("Walidata", "Dinas Komunikasi dan Informatika Kabupaten Paser"),
                         ("Tingkat penyajian", "kecamatan"), ("Tahun tersedia", "2019"), ("Lisensi", "CC-BY-4.0"),
                         ("Tipe instansi", "daerah-kabupaten"), ("Kode wilayah", "64.01"),
                         ("Kode daftar data", "(belum ditetapkan)")]:
        assert f'<th scope="row">{label}</th><td>{value}</td>' in text
    assert '<th scope="row"><code>jenjang</code></th><td>text</td><td>Jenjang pendidikan (SD, SMP, SMA, SMK, SLB)</td>' in text
    assert '<th scope="row"><code>jumlah_sekolah</code></th><td>integer</td>' in text
    for suffix in ("csv", "parquet", "json", "metadata.json"):
        name = f"{pid}.{suffix}"
        assert f'href="../{name}"' in text
        assert manifest["files"][name]["sha256"] in text
    english = (release_dir / "portal" / "en" / f"{pid}.html").read_text(encoding="utf-8")
    assert f'href="../../{pid}.csv"' in english and '<th scope="row">Licence</th><td>CC-BY-4.0</td>' in english


def test_only_files_the_manifest_lists_are_linked(tmp_path: Path) -> None:
    pid = "uji__kunjungan_per_desa"
    release_dir, manifest, _ = build_release(tmp_path, skip=(f"{pid}.json", "data.json"))
    text = (release_dir / "portal" / f"{pid}.html").read_text(encoding="utf-8")
    assert (release_dir / f"{pid}.json").is_file()  # on disk, but not part of the release
    assert f"{pid}.json" not in text and f'href="../{pid}.csv"' in text
    assert "data.json" not in (release_dir / "portal" / "index.html").read_text(encoding="utf-8")
    csv_bytes = manifest["files"][f"{pid}.csv"]["bytes"]
    assert 1024 < csv_bytes < 1024 * 1024
    assert f'<td class="num">{round(csv_bytes / 1024, 1):.1f} KB</td>'.replace(".", ",") in text


def test_suppression_is_explained(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, _, _ = release
    text = (release_dir / "portal" / "uji__kunjungan_per_desa.html").read_text(encoding="utf-8")
    row = re.search(r'<th scope="row"><code>disembunyikan</code></th><td>boolean</td><td>(.*?)</td>', text)
    assert row and "dari 1 sampai 10" in row.group(1)  # max_suppressed of this publication
    assert "Kolom jumlah_kunjungan dapat kosong" in text
    disdik = (release_dir / "portal" / "disdik__jumlah_sekolah_per_kecamatan.html").read_text(encoding="utf-8")
    assert "disembunyikan" not in disdik  # no small_cells, no suppressed column: nothing to explain


def test_quality_status_and_report_link(tmp_path: Path) -> None:
    gates = {
        "quality": {"uji__kunjungan_per_desa": "fail", "disdik__jumlah_sekolah_per_kecamatan": "pass"},
        "metadata": {"uji__kunjungan_per_desa": "pass", "disdik__jumlah_sekolah_per_kecamatan": "pass"},
        "privacy": {"uji__kunjungan_per_desa": "pass", "disdik__jumlah_sekolah_per_kecamatan": "not run"},
    }
    release_dir, _, _ = build_release(tmp_path, gates=gates, passed_checks=9)
    text = (release_dir / "portal" / "uji__kunjungan_per_desa.html").read_text(encoding="utf-8")
    assert '<th scope="row">Kualitas data (Great Expectations)</th><td><span class="badge fail">gagal</span>' in text
    assert '<th scope="row">Kelengkapan metadata Satu Data</th><td><span class="badge pass">lolos</span>' in text
    assert "9 dari 10 pemeriksaan lolos pada 16 baris." in text
    assert 'href="../validation/index.html"' in text
    english = (release_dir / "portal" / "en" / "uji__kunjungan_per_desa.html").read_text(encoding="utf-8")
    assert "9 of 10 checks passed on 16 rows." in english and 'href="../../validation/index.html"' in english
    # a publication no gate has looked at is not shown as passed
    other = (release_dir / "portal" / "uji__kunjungan_per_jenis_kelamin.html").read_text(encoding="utf-8")
    assert '<span class="badge unknown">tidak diperiksa</span>' in other and "badge pass" not in other
    # a gate that did not run (no person counts) is shown as such, and does not fail the dataset
    disdik = (release_dir / "portal" / "disdik__jumlah_sekolah_per_kecamatan.html").read_text(encoding="utf-8")
    assert '<th scope="row">Privasi (NIK/KK, sel kecil)</th><td><span class="badge unknown">tidak diperiksa</span>' in disdik
    assert re.search(r'</h1>\n<p><span class="badge pass">lolos</span>', disdik)
    index = (release_dir / "portal" / "index.html").read_text(encoding="utf-8")
    assert 'uji__kunjungan_per_desa.html">&lt;script&gt;alert(&quot;judul&quot;)&lt;/script&gt; &amp; &quot;kutip&quot;</a> ' \
        '<span class="badge fail">gagal</span>' in index


# --- Chart -------------------------------------------------------------------------------------------------


def _bars(text: str) -> list[dict[str, str]]:
    svg = re.search(r"<svg .*?</svg>", text, re.S)
    assert svg, "no inline SVG chart"
    return [attrs for tag, attrs in parse_html(svg.group(0)).tags if tag == "rect"]  # type: ignore[misc]


def test_fallback_chart_sums_the_latest_year_and_leaves_suppressed_values_out(
    release: tuple[Path, dict[str, Any], Catalog],
) -> None:
    release_dir, _, _ = release
    text = (release_dir / "portal" / "uji__kunjungan_per_desa.html").read_text(encoding="utf-8")
    # no `chart` in the catalog: first integer count column (jumlah_kunjungan) by the first varying nama_*
    rows = [r for r in kunjungan_table().to_pylist() if r["tahun"] == 2026]
    expected: dict[str, int] = {}
    for row in rows:
        if row["jumlah_kunjungan"] is not None:
            expected[row["nama_kecamatan"]] = expected.get(row["nama_kecamatan"], 0) + row["jumlah_kunjungan"]
    bars = _bars(text)
    assert {bar["data-value"] for bar in bars} == {str(v) for v in expected.values()}
    assert len(bars) == len(expected) == 2
    widths = [float(bar["width"]) for bar in bars]
    values = [int(bar["data-value"]) for bar in bars]
    assert widths[0] > 0 and widths[0] / widths[1] == pytest.approx(values[0] / values[1], rel=1e-3)
    assert all(bar["fill"] == BAR_COLOR for bar in bars)
    assert "3 nilai disembunyikan (sel kecil) tidak dijumlahkan" in text
    assert "jumlah kunjungan menurut nama kecamatan, tahun 2026" in text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in text
    assert re.search(r'aria-labelledby="chart-svg-title chart-svg-desc"><title id="chart-svg-title">', text)


def test_catalog_chart_and_categories_without_any_published_value(tmp_path: Path) -> None:
    catalog = portal_catalog(tmp_path / "catalog")
    table = kunjungan_table()
    # the catalog's chart is by jenis_kelamin; make every P count of the latest year suppressed
    rows = [{**r, "jumlah_kunjungan": None} if (r["tahun"], r["jenis_kelamin"]) == (2026, "P") else r
            for r in table.to_pylist()]
    pid = "uji__kunjungan_per_jenis_kelamin"
    release_dir = tmp_path / RELEASE_ID
    manifest = write_release(release_dir, {pid: pa.Table.from_pylist(rows, schema=table.schema)})
    render_portal(release_dir, manifest, catalog)
    text = (release_dir / "portal" / f"{pid}.html").read_text(encoding="utf-8")
    bars = _bars(text)
    assert [(bar["data-value"]) for bar in bars] == [str(41 + 20 + 12)]
    assert "Kategori yang seluruh nilainya disembunyikan (tanpa batang): P." in text


def test_real_catalog_publication_chart(catalog: Catalog, tmp_path: Path) -> None:
    pid = "disdik__jumlah_sekolah_per_kecamatan"
    table = mart_table()
    release_dir = tmp_path / RELEASE_ID
    manifest = write_release(release_dir, {pid: table})
    render_portal(release_dir, manifest, catalog)
    text = (release_dir / "portal" / f"{pid}.html").read_text(encoding="utf-8")
    expected: dict[str, int] = {}
    for row in table.to_pylist():
        expected[row["nama_kecamatan"]] = expected.get(row["nama_kecamatan"], 0) + row["jumlah_sekolah"]
    bars = _bars(text)
    assert len(bars) == min(len(expected), MAX_BARS) == 10  # one bar per kecamatan of Paser
    assert sorted(int(bar["data-value"]) for bar in bars) == sorted(expected.values())
    assert [float(bar["height"]) for bar in bars] == [20.0] * 10
    assert max(float(bar["width"]) for bar in bars) == 450  # the largest bar fills the plot area


# --- Determinism and errors --------------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): _sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rendering_is_deterministic_and_replaces_an_earlier_portal(release: tuple[Path, dict[str, Any], Catalog],
                                                                    tmp_path: Path) -> None:
    release_dir, manifest, catalog = release
    first = _tree(release_dir / "portal")
    (release_dir / "portal" / "stale.html").write_text("old", encoding="utf-8")
    render_portal(release_dir, manifest, catalog)
    assert _tree(release_dir / "portal") == first
    # the same release in another place (e.g. copied to a USB stick) renders the same bytes
    copy = tmp_path / "elsewhere" / RELEASE_ID
    shutil.copytree(release_dir, copy)
    render_portal(copy, manifest, catalog)
    assert _tree(copy / "portal") == first
    # the only time on any page is the release's own created_at (not validated_at, not now)
    for page in _pages(release_dir):
        times = set(re.findall(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[^\s\"<]*", page.read_text(encoding="utf-8")))
        assert times == {CREATED_AT}, page.name


def test_a_publication_missing_from_the_catalog_is_an_error(release: tuple[Path, dict[str, Any], Catalog]) -> None:
    release_dir, manifest, catalog = release
    broken = {**manifest, "publications": [*manifest["publications"], "uji__tidak_ada"]}
    with pytest.raises(ReleaseError, match="uji__tidak_ada"):
        render_portal(release_dir, broken, catalog)
