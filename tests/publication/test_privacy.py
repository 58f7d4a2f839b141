"""The privacy gate, unit level: NIK/KK and digest detection, column names, small-cell suppression."""

from __future__ import annotations

import hashlib
import random
from itertools import product

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.catalog import SmallCells
from publication.privacy import (
    PROVINCE_CODES,
    SUPPRESSED_COLUMN,
    _groups,
    is_nik_like,
    keys_from_manifest,
    personal_column_reason,
    scan,
    suppress,
)

NIK = "6401021508900001"  # 64 01 02 (Paser, kec. 02), born 15-08-1990, serial 0001
DESA_SEX = SmallCells(counts=["jumlah"], cell=["kode_desa", "jenis_kelamin"], margins=["kode_desa", "jenis_kelamin"])


def _text(values: list[str | None], name: str = "keterangan") -> pa.Table:
    return pa.table({name: pa.array(values, pa.string())})


def _kinds(findings) -> list[tuple[str, int | None, str]]:
    return [(f.column, f.row, f.kind) for f in findings]


# --- NIK / KK -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "6401021508900001",
        "6401 0215 0890 0001",
        "6401.0215.0890.0001",
        "6401-0215-0890-0001",
        "64.01.02-150890-0001",
        "6401 - 0215 - 0890 - 0001",
        "6 4 0 1 0 2 1 5 0 8 9 0 0 0 0 1",
    ],
)
def test_a_nik_in_free_text_is_found_in_every_spelling(spelling: str) -> None:
    table = _text(["warga pindah", f"Dilaporkan oleh NIK {spelling}, telp 0812-3456-7890", None])
    findings = scan(table, "laporan.csv", None)
    assert _kinds(findings) == [("keterangan", 2, "nik")]
    assert "6401********0001" in findings[0].describe()
    assert NIK not in findings[0].describe()  # the report never repeats the number itself
    assert findings[0].describe().startswith("laporan.csv: column 'keterangan', row 2:")


def test_a_nik_next_to_other_numbers_and_in_dictionary_columns() -> None:
    table = pa.table(
        {
            "catatan": pa.array([f"{NIK} 081234567890", f"rt 003/rw 002 {NIK[:8]} {NIK[8:]}"]).dictionary_encode(),
        }
    )
    assert _kinds(scan(table, "f.csv", None)) == [("catatan", 1, "nik"), ("catatan", 2, "nik")]


def test_a_womans_nik_has_forty_added_to_the_day() -> None:
    woman = "6401025508900002"  # born on the 15th: 15 + 40 = 55
    assert is_nik_like(woman) and is_nik_like("6401027108900002")  # 31 + 40
    assert not is_nik_like("6401027208900002") and not is_nik_like("6401023508900002")  # days 72 and 35
    assert _kinds(scan(_text([woman]), "f.csv", None)) == [("keterangan", 1, "nik")]


@pytest.mark.parametrize(
    "text",
    [
        "6401021513900001",  # month 13
        "6401021508900000",  # serial 0000
        "9901021508900001",  # province 99 does not exist
        "6400021508900001",  # regency 00
        "6401001508900001",  # kecamatan 00
        "6401234567890001",  # 64 01 23, day 45 = 5 (a woman), but month 67
        "+62 812-3456-7890",  # a phone number (13 digits)
        "0812 3456 7890",
        "6281234567890123",  # 16 digits with the phone country code: regency 81 does not exist
        "640102150890001",  # 15 digits
        "64010215089000012",  # 17 digits
        "64.01.02.2001",  # a desa code
        "Rp 1.250.000.000,00",
    ],
)
def test_numbers_that_are_not_niks_pass(text: str) -> None:
    assert scan(_text([f"nilai {text} ok"]), "f.csv", None) == []


def test_every_province_code_is_a_real_one() -> None:
    assert len(PROVINCE_CODES) == 38 and {"11", "31", "64", "65", "96"} <= PROVINCE_CODES
    assert not {"10", "20", "37", "54", "66", "90", "97", "99"} & PROVINCE_CODES


@pytest.mark.parametrize("value", ["6.40101E+15", "6,40101E+15", "6.40102150890001E+15", "6.401e15", "NIK: 6.4E+15."])
def test_a_nik_in_scientific_notation_is_found(value: str) -> None:
    findings = scan(_text(["-", value]), "f.csv", None)
    assert [(f.row, f.kind) for f in findings] == [(2, "nik_scientific")]


@pytest.mark.parametrize("value", ["2.5E+15", "6.4E+14", "6.40101E+16", "3,14", "1.5e3", "6.401021513900001E+15"])
def test_scientific_notation_that_cannot_be_a_nik_passes(value: str) -> None:
    # 25 is no province; 15 and 17 digits are no NIK; the last one has all 16 digits and month 13
    assert scan(_text([value]), "f.csv", None) == []


def test_niks_in_numeric_columns() -> None:
    table = pa.table(
        {
            "as_int": pa.array([1, int(NIK), 1234567890123456, None], pa.int64()),
            "as_float": pa.array([float(NIK), 2.5e15, 3.0, None], pa.float64()),
            "as_float32": pa.array([0.0, 0.0, float(NIK), 1e15], pa.float32()),
            "as_decimal": pa.array([None, None, None, int(NIK)], pa.decimal128(20, 0)),
            "as_small": pa.array([1, 2, 3, 4], pa.int8()),
        }
    )
    assert _kinds(scan(table, "f.parquet", None)) == [
        ("as_int", 2, "nik"),
        ("as_float", 1, "nik"),
        ("as_float32", 3, "nik_scientific"),
        ("as_decimal", 4, "nik"),
    ]


# --- Digests, column names -----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
def test_plain_hex_digests_of_ids_are_found(algorithm: str) -> None:
    digest = hashlib.new(algorithm, NIK.encode()).hexdigest()
    table = _text(["a", digest, f"id={digest.upper()};", None], name="id_warga")
    findings = scan(table, "f.csv", None)
    assert _kinds(findings) == [("id_warga", 2, "digest"), ("id_warga", 3, "digest")]
    assert digest not in findings[0].describe() and digest[:6] in findings[0].describe()


def test_hex_lookalikes_that_are_no_digests_pass() -> None:
    table = _text(
        [
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",  # a UUID
            "deadbeef",
            "1" * 32,  # digits only: a long number, not a digest
            "a" * 31 + "1" + "g",  # part of a longer word
            hashlib.md5(b"x").hexdigest()[:30],
        ]
    )
    assert scan(table, "f.csv", None) == []


@pytest.mark.parametrize(
    "name",
    [
        "nik",
        "NIK",
        "no_kk",
        "nomor_kk",
        "kk",
        "nik_pseudonim",
        "kk_hash",
        "nomor_induk_kependudukan",
        "nomor_kartu_keluarga",
        "nama",
        "nama_lengkap",
        "namaLengkap",
        "nama_pelapor",
        "nama_ibu",
        "nama_ibu_kandung",
        "nama_kepala_keluarga",
        "nama_pasien",
        "tanggal_lahir",
        "tgl_lahir",
        "tempat_tanggal_lahir",
        "date_of_birth",
        "alamat_rumah",
        "alamat_tinggal",
        "alamat_domisili",
    ],
)
def test_column_names_of_personal_data_are_found(name: str) -> None:
    assert personal_column_reason(name)
    findings = scan(pa.table({name: pa.array([1], pa.int64())}), "f.csv", None)
    assert _kinds(findings) == [(name, None, "column_name")]
    assert f"f.csv: column '{name}', column: the column name names" in findings[0].describe()


@pytest.mark.parametrize(
    "name",
    [
        "nama_provinsi",
        "nama_kabupaten_kota",
        "nama_kecamatan",
        "nama_desa",
        "nama_sekolah",
        "nama_puskesmas",
        "nama_faskes",
        "nama_penyakit",
        "jumlah_kk",
        "jumlah_kepala_keluarga",
        "persentase_nik_valid",
        "tahun_lahir",
        "kelompok_umur",
        "alamat_sekolah",
        "kode_desa",
        "teknik_irigasi",
        "kkn",
        "jumlah_penduduk",
    ],
)
def test_column_names_that_are_not_personal_pass(name: str) -> None:
    assert personal_column_reason(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "tanggal_kelahiran", "tgl_lhr", "tgl_lahir", "tanggal_lahir", "dob", "DOB", "tanggal_lhr", "tgl_kelahiran",
        "tg_lahir", "tgllahir", "tgllhr", "tglLahir", "TanggalLahir", "tanggalkelahiran", "lahir_tanggal",
        "tgl_lahir_anak", "tanggal_lahir_ibu", "waktu_lahir", "ttl", "birth_date", "birthdate", "birthday",
        "date_of_birth", "dob_pasien",
    ],
)  # fmt: skip
def test_column_names_of_birth_dates_are_found_in_every_spelling(name: str) -> None:
    assert personal_column_reason(name) == "names an exact date of birth"
    findings = scan(pa.table({name: pa.array(["2024-03-05"], pa.string())}), "f.csv", None)
    assert _kinds(findings) == [(name, None, "column_name")]


@pytest.mark.parametrize(
    "name", ["tahun_lahir", "bulan_lahir", "tempat_lahir", "jumlah_kelahiran", "angka_kelahiran", "tanggal_data", "tgl_update"]
)
def test_column_names_near_birth_dates_pass(name: str) -> None:
    assert personal_column_reason(name) is None


def test_findings_are_capped_per_column() -> None:
    findings = scan(_text([NIK] * 100), "f.csv", None)
    assert len(findings) == 21
    assert [f.row for f in findings[:20]] == list(range(1, 21))
    assert findings[-1].kind == "more" and "80 more nik finding(s)" in findings[-1].describe()


# --- Small cells ----------------------------------------------------------------------------------------


def _desa_sex(counts: dict[tuple[str, str], int | None]) -> pa.Table:
    keys = sorted(counts)
    return pa.table(
        {
            "kode_desa": [k[0] for k in keys],
            "jenis_kelamin": [k[1] for k in keys],
            "jumlah": pa.array([counts[k] for k in keys], pa.int64()),
        }
    )


def _suppressed_keys(table: pa.Table) -> set[tuple]:
    rows = table.to_pylist()
    return {(r["kode_desa"], r["jenis_kelamin"]) for r in rows if r[SUPPRESSED_COLUMN]}


def test_primary_suppression_hides_one_to_max_but_not_zero() -> None:
    rules = SmallCells(counts=["jumlah", "laki_laki"], cell=["k"], margins=["k"], derived=["persen"], max_suppressed=10)
    table = pa.table(
        {
            "k": ["a", "b", "c", "d", "e"],
            "jumlah": [0, 1, 10, 11, None],
            "laki_laki": [0, 0, 5, 4, None],  # row d: jumlah 11 visible but laki_laki 4 is small
            "persen": [0.0, 0.1, 0.2, 0.3, None],
        }
    )
    result = suppress(table, rules)
    assert result.primary == 3
    assert result.table[SUPPRESSED_COLUMN].to_pylist()[:4] == [False, True, True, True]
    assert result.table["jumlah"].to_pylist()[:4] == [0, None, None, None]
    assert result.table["persen"].to_pylist()[:4] == [0.0, None, None, None]
    assert result.table.column_names == [*table.column_names, SUPPRESSED_COLUMN]
    assert {("b",), ("c",), ("d",)} <= result.suppressed


def test_complementary_suppression_on_a_two_way_table() -> None:
    counts = {
        ("A", "L"): 3, ("A", "P"): 40,
        ("B", "L"): 25, ("B", "P"): 22,
        ("C", "L"): 18, ("C", "P"): 60,
        ("D", "L"): 0, ("D", "P"): 0,
    }  # fmt: skip
    result = suppress(_desa_sex(counts), DESA_SEX)
    # (A,L) primary; its desa row needs (A,P); column L needs the smallest non-zero other: (C,L) 18, not the zero
    # in D; then desa C needs (C,P), and column P is then complete: A, C hidden.
    assert result.suppressed == {("A", "L"), ("A", "P"), ("C", "L"), ("C", "P")}
    assert (result.primary, result.complementary) == (1, 3)
    assert _suppressed_keys(result.table) == result.suppressed
    assert scan(result.table, "f.csv", DESA_SEX) == []


def test_a_cell_recoverable_from_totals_is_caught_and_suppress_fixes_it() -> None:
    counts = {("A", "L"): 3, ("A", "P"): 40, ("B", "L"): 25, ("B", "P"): 22}
    table = _desa_sex(counts)
    # Only the small cell hidden (what a naive gate would do): 3 = total of A minus 40.
    primary_only = table.set_column(2, "jumlah", pa.array([None, 40, 25, 22], pa.int64())).append_column(
        SUPPRESSED_COLUMN, pa.array([True, False, False, False])
    )
    findings = scan(primary_only, "penduduk.csv", DESA_SEX)
    assert {(f.column, f.row, f.kind) for f in findings} == {("jumlah", 1, "recoverable_cell")}
    assert len(findings) == 2  # along kode_desa (the L total) and along jenis_kelamin (the A total)
    assert "along 'jenis_kelamin' in its group (kode_desa='A')" in " ".join(f.describe() for f in findings)
    unsuppressed = scan(table, "penduduk.csv", DESA_SEX)
    assert _kinds(unsuppressed) == [("jumlah", 1, "small_cell")]
    assert "count 3 is visible" in unsuppressed[0].describe()
    assert scan(suppress(table, DESA_SEX).table, "penduduk.csv", DESA_SEX) == []


def test_a_row_with_no_data_does_not_hide_a_small_cell() -> None:
    # Desa A reported no women (null, not hidden): the desa total, a SUM over the same data, leaves the
    # null out, so it equals the 3 men; the null protects nothing.
    counts = {("A", "L"): 3, ("A", "P"): None, ("B", "L"): 25, ("B", "P"): 22, ("C", "L"): 18, ("C", "P"): 60}
    table = _desa_sex(counts)
    primary_and_column = suppress(table, DESA_SEX).table.to_pylist()
    published = table.append_column(SUPPRESSED_COLUMN, pa.array([True, False, False, False, True, False]))
    published = published.set_column(2, "jumlah", pa.array([None, None, 25, 22, None, 60], pa.int64()))
    findings = scan(published, "penduduk.csv", DESA_SEX)
    assert ("jumlah", 1, "recoverable_cell") in _kinds(findings)
    assert "along 'jenis_kelamin' in its group (kode_desa='A')" in " ".join(f.describe() for f in findings)
    assert [row[SUPPRESSED_COLUMN] for row in primary_and_column][:2] == [True, True]  # the null is hidden with it
    assert scan(suppress(table, DESA_SEX).table, "penduduk.csv", DESA_SEX) == []

DESA_UMUR = SmallCells(counts=["jumlah"], cell=["kode_desa", "kelompok_umur"], margins=["kode_desa", "kelompok_umur"])
UMUR = ["00-04", "05-09", "10-14", "15-19"]


def _desa_umur(rows: dict[str, list[int]], hidden: dict[str, str] | None = None) -> pa.Table:
    """A desa x kelompok_umur table; `hidden` marks cells per desa ('*' at the hidden positions) as published."""
    keys = [(desa, umur) for desa in sorted(rows) for umur in UMUR]
    values = [value for desa in sorted(rows) for value in rows[desa]]
    table = pa.table(
        {"kode_desa": [k[0] for k in keys], "kelompok_umur": [k[1] for k in keys], "jumlah": pa.array(values, pa.int64())}
    )
    if hidden is None:
        return table
    mask = [hidden[desa][i] == "*" for desa in sorted(rows) for i in range(len(UMUR))]
    published = pa.array([None if flag else value for flag, value in zip(mask, values, strict=True)], pa.int64())
    return table.set_column(2, "jumlah", published).append_column(SUPPRESSED_COLUMN, pa.array(mask))


def test_a_cell_recoverable_by_combining_totals_is_caught_and_suppress_fixes_it() -> None:
    rows = {"A": [3, 3, 20, 30], "B": [45, 15, 30, 15], "C": [20, 60, 45, 60], "D": [30, 2, 60, 3]}
    # Every row and column has 0 or 2+ hidden cells, yet (A, 05-09) = 3 follows from four totals:
    # hidden of row A (3+3+20) - hidden of column 00-04 (3+20) - hidden of column 10-14 (20+45)
    # + hidden of row C (20+45) = 3. The cycles A/C x 00-04/10-14 and B/D x 05-09/15-19 cancel out;
    # (A, 05-09) is the one link between them.
    published = _desa_umur(rows, {"A": "***.", "B": ".*.*", "C": "*.*.", "D": ".*.*"})
    findings = scan(published, "penduduk.csv", DESA_UMUR)
    assert _kinds(findings) == [("jumlah", 2, "recoverable_cell")]
    assert "combining the totals of several groups" in findings[0].describe()
    result = suppress(_desa_umur(rows), DESA_UMUR)
    assert scan(result.table, "penduduk.csv", DESA_UMUR) == []
    assert ("A", "05-09") in result.suppressed and result.primary == 4


def test_suppression_is_deterministic_and_ignores_row_order() -> None:
    rng = random.Random(7)
    counts = {(f"D{d:02d}", s): rng.choice([0, 2, 5, 12, 13, 40, 41]) for d in range(12) for s in "LP"}
    table = _desa_sex(counts)
    first, second = suppress(table, DESA_SEX), suppress(table, DESA_SEX)
    assert first.table.equals(second.table) and first.suppressed == second.suppressed
    shuffled = table.take(pa.array(rng.sample(range(table.num_rows), table.num_rows)))
    assert suppress(shuffled, DESA_SEX).suppressed == first.suppressed


def test_cells_hidden_in_the_previous_release_are_preferred() -> None:
    counts = {("A", "L"): 3, ("A", "P"): 40, ("B", "L"): 25, ("B", "P"): 22, ("C", "L"): 18, ("C", "P"): 60}
    fresh = suppress(_desa_sex(counts), DESA_SEX)
    assert ("C", "L") in fresh.suppressed and ("B", "L") not in fresh.suppressed  # 18 < 25
    previous = keys_from_manifest([["A", "L"], ["A", "P"], ["B", "L"], ["B", "P"]])
    again = suppress(_desa_sex(counts), DESA_SEX, previous)
    assert again.suppressed == previous  # the same cells as last time, though (C, L) is smaller
    assert keys_from_manifest(again.keys_for_manifest()) == again.suppressed
    assert again.keys_for_manifest() == [["A", "L"], ["A", "P"], ["B", "L"], ["B", "P"]]


def test_suppression_refuses_what_it_cannot_do_safely() -> None:
    table = _desa_sex({("A", "L"): 3, ("A", "P"): 40})
    with pytest.raises(ValueError, match="row 2: two rows share the cell key"):
        suppress(pa.concat_tables([table.slice(0, 1), table.slice(0, 1)]), DESA_SEX)
    with pytest.raises(ValueError, match=r"columns the table does not have: \['jenis_kelamin'\]"):
        suppress(table.drop_columns(["jenis_kelamin"]), DESA_SEX)
    with pytest.raises(ValueError, match="already has a 'disembunyikan' column"):
        suppress(suppress(table, DESA_SEX).table, DESA_SEX)


THREE_WAY = SmallCells(
    counts=["jumlah"], cell=["desa", "jk", "umur"], margins=["desa", "jk", "umur"], derived=["persen"], max_suppressed=9
)


@st.composite
def _three_way(draw: st.DrawFn) -> tuple[pa.Table, set[tuple]]:
    desa = [f"D{i}" for i in range(draw(st.integers(1, 4)))]
    jk = ["L", "P"][: draw(st.integers(1, 2))]
    umur = [f"U{i}" for i in range(draw(st.integers(1, 3)))]
    keys = [k for k in product(desa, jk, umur) if draw(st.booleans()) or len(desa) == 1]  # incomplete tables too
    counts = [draw(st.one_of(st.integers(0, 12), st.integers(0, 200), st.none())) for _ in keys]
    previous = {k for k in keys if draw(st.integers(0, 5)) == 0}
    table = pa.table(
        {
            "desa": [k[0] for k in keys],
            "jk": [k[1] for k in keys],
            "umur": [k[2] for k in keys],
            "jumlah": pa.array(counts, pa.int64()),
            "persen": pa.array([None if c is None else c / 10 for c in counts], pa.float64()),
        }
    )
    return table, previous


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_three_way())
def test_after_suppress_no_small_count_is_visible_and_no_hidden_cell_is_alone(case: tuple[pa.Table, set[tuple]]) -> None:
    table, previous = case
    result = suppress(table, THREE_WAY, previous)
    published = result.table.to_pylist()
    for row in published:
        assert row["jumlah"] is None or not 1 <= row["jumlah"] <= 9
        if row[SUPPRESSED_COLUMN]:
            assert row["jumlah"] is None and row["persen"] is None
    hidden = {(r["desa"], r["jk"], r["umur"]) for r in published if r[SUPPRESSED_COLUMN]}
    keys = [(r["desa"], r["jk"], r["umur"]) for r in published]
    for position in range(3):
        groups: dict[tuple, list[tuple]] = {}
        for key in keys:
            groups.setdefault(key[:position] + key[position + 1 :], []).append(key)
        for members in groups.values():
            assert len(members) == 1 or sum(k in hidden for k in members) != 1, members
    assert result.primary == sum(1 for r in table.to_pylist() if r["jumlah"] is not None and 1 <= r["jumlah"] <= 9)
    assert len(result.suppressed) == result.primary + result.complementary
    # a sparse table can leave a cell that the totals pin down with everything near it hidden: refused
    findings = scan(result.table, "f.csv", THREE_WAY)
    assert all(f.kind == "recoverable_cell" and "combining the totals" in f.detail for f in findings)
    assert suppress(table, THREE_WAY, previous).table.equals(result.table)


# --- Region hierarchy: kecamatan subtotals and kabupaten totals ---------------------------------------------

FLAT = SmallCells(counts=["jumlah"], cell=["kode_desa", "jenis_kelamin"], margins=["kode_desa", "jenis_kelamin"])
NESTED = SmallCells(
    counts=["jumlah"],
    cell=["kode_kecamatan", "kode_desa", "jenis_kelamin"],
    within={"kode_desa": "kode_kecamatan"},
    margins=["kode_kecamatan", "kode_desa", "jenis_kelamin"],
)


def _kecamatan_desa_sex(counts: dict[tuple[str, str, str], int]) -> pa.Table:
    keys = sorted(counts)
    return pa.table(
        {
            "kode_kecamatan": [k[0] for k in keys],
            "kode_desa": [k[1] for k in keys],
            "jenis_kelamin": [k[2] for k in keys],
            "jumlah": pa.array([counts[k] for k in keys], pa.int64()),
        }
    )


KECAMATAN_COUNTS = {
    ("K1", "A", "L"): 3, ("K1", "A", "P"): 40, ("K1", "B", "L"): 25, ("K1", "B", "P"): 22,
    ("K2", "C", "L"): 12, ("K2", "C", "P"): 60, ("K2", "D", "L"): 30, ("K2", "D", "P"): 31,
}  # fmt: skip


def test_a_cell_recoverable_from_a_kecamatan_subtotal_is_caught_and_suppress_fixes_it() -> None:
    table = _kecamatan_desa_sex(KECAMATAN_COUNTS)
    # Suppressed as if desa had no kecamatan: (A,L) 3, (A,P), and (C,L) 12 / (C,P) in kecamatan K2 to cover the
    # L and P columns. K1's subtotal of men (the desa of K1 summed) minus (B,L) 25 then gives (A,L) = 3.
    flat = suppress(table.drop_columns(["kode_kecamatan"]), FLAT)
    assert flat.suppressed == {("A", "L"), ("A", "P"), ("C", "L"), ("C", "P")}
    as_published = flat.table.add_column(0, "kode_kecamatan", table["kode_kecamatan"])
    findings = scan(as_published, "penduduk.csv", NESTED)
    assert ("jumlah", 1, "recoverable_cell") in _kinds(findings)
    assert "along 'kode_desa' in its group (kode_kecamatan='K1', jenis_kelamin='L')" in " ".join(
        f.describe() for f in findings
    )
    nested = suppress(table, NESTED)
    assert scan(nested.table, "penduduk.csv", NESTED) == []
    hidden = {key[1:] for key in nested.suppressed}
    for kecamatan, desa in (("K1", "AB"), ("K2", "CD")):  # no kecamatan x sex subtotal has exactly one hidden desa
        for jk in "LP":
            assert sum((d, jk) in hidden for d in desa) != 1, (kecamatan, jk, hidden)


def test_a_kabupaten_total_sums_every_desa_along_kode_kecamatan() -> None:
    # Along kode_kecamatan the group is the whole kabupaten per sex: all four desa, not each desa alone.
    table = _kecamatan_desa_sex(KECAMATAN_COUNTS)
    keys = [tuple(row.values()) for row in table.select(NESTED.cell).to_pylist()]
    assert sorted(map(sorted, _groups(keys, NESTED, "kode_kecamatan").values())) == [[0, 2, 4, 6], [1, 3, 5, 7]]
    assert sorted(map(sorted, _groups(keys, NESTED, "kode_desa").values())) == [[0, 2], [1, 3], [4, 6], [5, 7]]


def test_a_region_hierarchy_must_be_declared() -> None:
    with pytest.raises(ValueError, match=r"declare within: \{kode_desa: kode_kecamatan\}"):
        SmallCells(counts=["jumlah"], cell=["kode_kecamatan", "kode_desa"], margins=["kode_desa"])
    with pytest.raises(ValueError, match="'kode_x' is not one of the cell columns"):
        SmallCells(counts=["jumlah"], cell=["kode_desa"], margins=["kode_desa"], within={"kode_desa": "kode_x"})
    with pytest.raises(ValueError, match="lies within itself"):
        SmallCells(counts=["j"], cell=["a", "b"], margins=["a"], within={"a": "b", "b": "a"})


def test_the_population_mart_is_gated_on_its_kecamatan_subtotals() -> None:
    from ingestion.catalog import load_catalog

    rules = next(e.spec.small_cells for e in load_catalog().publications if e.spec.model == "jumlah_penduduk_per_desa")
    assert rules is not None and rules.nested_in("kode_kecamatan") == {"kode_kecamatan", "kode_desa"}
    rng = random.Random(11)
    umur = ["00-04", "05-09", "10-14"]
    desa = {"K1": ["A", "B", "C"], "K2": ["D", "E"], "K3": ["F", "G", "H"]}
    rows = [
        {"kode_kecamatan": k, "kode_desa": d, "jenis_kelamin": jk, "kelompok_umur": u, "tahun": 2025,
         "jumlah_penduduk": rng.choice([0, 2, 7, 15, 30, 80, 120])}
        for k, ds in desa.items() for d in ds for jk in "LP" for u in umur
    ]  # fmt: skip
    result = suppress(pa.Table.from_pylist(rows), rules)
    assert result.primary > 0 and scan(result.table, "penduduk.csv", rules) == []
    published = result.table.to_pylist()
    for k in desa:  # a reader summing the desa of one kecamatan learns no hidden cell
        for jk, u in product("LP", umur):
            group = [r for r in published if r["kode_kecamatan"] == k and r["jenis_kelamin"] == jk and r["kelompok_umur"] == u]
            assert sum(r[SUPPRESSED_COLUMN] for r in group) != 1, (k, jk, u)
