"""Diskominfo's complaints end to end: the CSV export through the real file kind, the raw suite, one dbt build.

The generator knows the truth (each ticket's real kecamatan and category, whether its typed location can
be resolved, its status on the export date); the landed batches and the marts must agree with it exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from agency_systems.pengaduan import Complaints, Export, generate, write_exports
from ingestion.catalog import Catalog
from ingestion.extract import extract_load
from ingestion.ledger import batch_dir
from ingestion.zones import DATA_DIR_ENV, Zones
from publication.privacy import scan, suppress
from publication.quality import suite_path_for, validate_table
from publication.raw_quality import validate_new_batches
from warehouse.build import build_warehouse
from warehouse.pseudonym import KEY_ENV, KEY_ID_ENV, PseudonymKey, load_key, macro_statements, pseudonym

SCALE = 0.2  # ~600 tickets: small enough for a quick build, large enough for every kind of mess
SEED = 20261128
DATASET = "diskominfo__pengaduan"
MART = "jumlah_pengaduan_per_kategori_kecamatan"
PUBLICATION = f"diskominfo__{MART}"
TEST_KEY = "test-key-for-pengaduan-models-0123456789"
FREE_TEXT_AND_NAMES = {"judul", "isi_laporan", "nama_pelapor", "nik_pelapor", "kecamatan", "desa",
                       "nama_kecamatan_pelapor", "nama_desa_pelapor"}


@dataclass(frozen=True)
class Built:
    zones: Zones
    complaints: Complaints
    manifests: list[dict]
    verdicts: list
    build: dict
    key: PseudonymKey

    @property
    def build_dir(self) -> Path:
        return self.zones.warehouse / "builds" / self.build["build_id"]

    def mart(self) -> list[dict]:
        return pq.read_table(self.build_dir / self.build["marts"][MART]["path"]).to_pylist()

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.build_dir / "warehouse.duckdb"), read_only=True) as connection:
            # Staging calls satudata_pseudonym(): the views need the macros (the key stays in memory).
            for statement in macro_statements(self.key):
                connection.execute(statement)
            return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("pengaduan") / "data"
    root.mkdir()
    zones = Zones(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_ENV, str(root))
        patch.setenv(KEY_ENV, TEST_KEY)
        patch.delenv(KEY_ID_ENV, raising=False)
        complaints = generate(scale=SCALE, seed=SEED)
        write_exports(zones.drop("diskominfo"), complaints)
        entry = catalog.dataset(DATASET)
        manifests = extract_load(entry, zones)
        verdicts = validate_new_batches(zones, entry, [m["batch_id"] for m in manifests])
        build = build_warehouse(zones, catalog)
        assert build is not None
        yield Built(zones, complaints, manifests, verdicts, build, load_key())


def _expected_landing(export: Export) -> tuple[int, int, int]:
    """(loaded, deduplicated, quarantined) the core must find: first row per (ticket, updated_at) stays."""
    first: dict[tuple[str, str], dict] = {}
    identical = conflicting = 0
    for row in export.rows:
        key = (row["nomor_tiket"], row["updated_at"])
        if key not in first:
            first[key] = row
        elif first[key] == row:
            identical += 1
        else:
            conflicting += 1
    return len(first), identical, conflicting


def _last_export_truth(complaints: Complaints) -> list:
    moment = dt.datetime.combine(complaints.exports[-1].date, dt.time(23, 59, 59))
    return [ticket for ticket in complaints.tickets if ticket.reported_at <= moment]


def test_exports_land_through_the_file_kind_with_duplicates_counted(built: Built, catalog: Catalog) -> None:
    assert [m["source"]["path"] for m in built.manifests] == [
        f"drop/diskominfo/{export.file_name}" for export in built.complaints.exports]
    for manifest, export in zip(built.manifests, built.complaints.exports, strict=True):
        loaded, identical, conflicting = _expected_landing(export)
        assert manifest["rows_in"] == len(export.rows)
        assert (manifest["rows_loaded"], manifest["rows_deduplicated"], manifest["rows_quarantined"]) == (
            loaded, identical, conflicting)
        assert identical > 0
    entry = catalog.dataset(DATASET)
    last = batch_dir(built.zones, entry, built.manifests[-1]["batch_id"])
    quarantine = pq.read_table(last / "quarantine.parquet").to_pylist()
    assert quarantine and all("duplicate nomor_tiket" in row["_reason"] and "with other values" in row["_reason"]
                              for row in quarantine)
    data = pq.read_table(last / "data.parquet")
    types = {field.name: str(field.type) for field in data.schema}
    assert types["nomor_tiket"] == types["nik_pelapor"] == types["updated_at"] == "string"
    assert types["tanggal_laporan"] == "date32[day]"
    rows = data.to_pylist()
    # Ids stay text, exactly as typed: 16-digit NIKs never pass through a float.
    niks = {t.nik_pelapor for t in _last_export_truth(built.complaints) if t.nik_pelapor}
    assert {row["nik_pelapor"] for row in rows if row["nik_pelapor"]} == niks
    reported = {t.nomor_tiket: t.reported_at.date() for t in built.complaints.tickets}
    assert all(row["tanggal_laporan"] == reported[row["nomor_tiket"]] for row in rows)
    # Windows-1252 arrived as the right characters.
    assert any("\u201cbelum ada anggaran\u201d katanya\u2026" in (row["isi_laporan"] or "") for row in rows)


def test_batches_pass_the_raw_suite(built: Built) -> None:
    assert len(built.verdicts) == 2
    assert all(v.success and v.suite == DATASET for v in built.verdicts), [v.describe() for v in built.verdicts]


def test_mart_counts_every_ticket_once_minus_the_reported_unmapped(built: Built) -> None:
    truth = _last_export_truth(built.complaints)
    unresolvable = [t for t in truth if not t.resolvable]
    assert unresolvable, "the demo data has locations no kecamatan matches"
    (tickets, unmapped), = built.query(
        "select count(*), count(*) filter (where is_wilayah_unmapped) from intermediate.int_pengaduan_wilayah_mapped")
    assert (tickets, unmapped) == (len(truth), len(unresolvable))

    rows = built.mart()
    assert sum(row["jumlah_pengaduan"] for row in rows) == len(truth) - len(unresolvable)
    by_kecamatan, by_kategori, by_tahun = Counter(), Counter(), Counter()
    for row in rows:
        by_kecamatan[row["kode_kecamatan"]] += row["jumlah_pengaduan"]
        by_kategori[row["kategori"]] += row["jumlah_pengaduan"]
        by_tahun[row["tahun"]] += row["jumlah_pengaduan"]
    resolvable = [t for t in truth if t.resolvable]
    assert by_kecamatan == Counter(t.kode_kecamatan for t in resolvable), "typed spellings conform to the right kecamatan"
    assert by_kategori == Counter(t.kategori for t in resolvable), "older category spellings are normalised"
    assert by_tahun == Counter(t.reported_at.year for t in resolvable)
    # A full grid: 10 kecamatan x 8 kategori x 2 years, zeros included.
    assert len(rows) == 10 * 8 * 2 and any(row["jumlah_pengaduan"] == 0 for row in rows)
    assert {(row["kode_provinsi"], row["kode_kabupaten_kota"], row["satuan"]) for row in rows} == {("64", "64.01", "pengaduan")}


def test_each_ticket_has_its_status_on_the_latest_export(built: Built) -> None:
    moment = dt.datetime.combine(built.complaints.exports[-1].date, dt.time(23, 59, 59))
    expected = {t.nomor_tiket: t.state_at(moment) for t in _last_export_truth(built.complaints)}
    found = {ticket: (status, updated) for ticket, status, updated in built.query(
        "select nomor_tiket, status, diperbarui_pada from intermediate.int_pengaduan_wilayah_mapped")}
    assert found == expected
    first_moment = dt.datetime.combine(built.complaints.exports[0].date, dt.time(23, 59, 59))
    late = [t for t in built.complaints.tickets
            if t.reported_at <= first_moment and t.state_at(first_moment) != expected[t.nomor_tiket]]
    assert late, "some tickets changed status between the exports (late updates)"


def test_nik_is_a_keyed_pseudonym_and_the_text_flags_match(built: Built) -> None:
    truth = {t.nomor_tiket: t for t in _last_export_truth(built.complaints)}
    rows = built.query("select nomor_tiket, nik_pseudonim, kunci_pseudonim_id, is_tanpa_nik, is_isi_memuat_nik, "
                       "is_isi_memuat_telepon, is_isi_berformula from intermediate.int_pengaduan_wilayah_mapped")
    for ticket, nik_pseudonim, key_id, tanpa_nik, nik_in_text, phone_in_text, formula in rows:
        generated = truth[ticket]
        assert nik_pseudonim == (pseudonym(generated.nik_pelapor, built.key) if generated.nik_pelapor else None)
        assert key_id == built.key.key_id
        assert tanpa_nik == (generated.nik_pelapor == "")
        assert (nik_in_text, phone_in_text, formula) == (
            generated.nik_in_text is not None, generated.phone_in_text, generated.formula_in_text), ticket
    assert sum(1 for row in rows if row[4]) >= 3 and sum(1 for row in rows if row[6]) >= 3


def test_no_free_text_name_or_nik_beyond_staging(built: Built, catalog: Catalog) -> None:
    columns = {name for (name,) in built.query(
        "select column_name from information_schema.columns where table_name = 'int_pengaduan_wilayah_mapped'")}
    assert columns and not columns & FREE_TEXT_AND_NAMES
    table = pq.read_table(built.build_dir / built.build["marts"][MART]["path"])
    assert set(table.column_names) == {"kode_provinsi", "nama_provinsi", "kode_kabupaten_kota", "nama_kabupaten_kota",
                                       "kode_kecamatan", "nama_kecamatan", "kategori", "jumlah_pengaduan", "satuan", "tahun"}
    names = {t.nama_pelapor for t in built.complaints.tickets} - {"Anonim"}
    texts = [value for column in table.columns if str(column.type) == "string" for value in column.to_pylist()]
    assert not [v for v in texts if re.search(r"\d{4}[ .]?\d{4}[ .]?\d{4}[ .]?\d{4}", v) or v in names]
    # The privacy gate: after suppression nothing in the table exposes a person, and the suite passes.
    publication = next(p for p in catalog.publications if p.id == PUBLICATION)
    result = suppress(table, publication.spec.small_cells)
    assert result.primary > 0
    assert scan(result.table, f"{MART}.csv", publication.spec.small_cells) == []
    report = validate_table(result.table, suite_path_for(PUBLICATION))
    assert report.success, [outcome.describe() for outcome in report.failures()]
