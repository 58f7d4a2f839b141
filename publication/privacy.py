"""The privacy gate: small-cell suppression, and a scan of everything about to be published.

    suppress(table, rules, previous_suppressed)  hide counts of 1..max_suppressed people, then hide more
                                                 cells (complementary suppression) until no hidden value can
                                                 be recomputed from the totals along the margins, one total
                                                 or several combined
    scan(table, file_label, rules)               findings that block a release: NIK/KK numbers (in any
                                                 spelling), hex digests of ids, column names of personal
                                                 data, visible small counts (complements too) and
                                                 recoverable hidden cells

A **cell** is one row of a long table, keyed by the `cell` columns of the catalog's `small_cells`. Along a
margin `m`, a **group** is the set of rows that agree on every other `cell` column: its total (the sum
over `m`) may be published elsewhere (another table, a dashboard, last year's report), so a group with
exactly one hidden cell gives that cell away (total minus the visible cells). Complementary suppression
hides a second cell in such a group, chosen deterministically so that releases stay consistent: a cell
hidden in the previous release first, then the smallest non-zero count (it loses the least information),
then key order. A group of one row is left alone: its only cell *is* the total, so no other cell of this
table can hide it (the threshold protects it as a small cell like any other).

Region codes nest: a desa lies within one kecamatan (the catalog's `within: {kode_desa: kode_kecamatan}`).
Along the child the group keeps the parent, so its total is the kecamatan subtotal (a reader summing the desa
of one kecamatan); along the parent the child is summed too, so its total is the kabupaten total. Without
`within` a total along `kode_kecamatan` would be each desa cell itself, and the subtotals would be missed.

A count that is part of another (the catalog's `part_of`: `jumlah_imunisasi_lengkap` of `jumlah_sasaran`)
publishes a third count with them: total - part (children not fully immunised). A small complement is
suppressed and reported like a small count; the whole row is hidden, so the complement's totals follow the
same groups as the counts'.

Two hidden cells in every group are not always enough: totals can be combined. In a two-way table where
rows A, C x columns 1, 3 hide a square, rows B, D x columns 2, 4 another, and cell (A, 2) links them,
(A, 2) = hidden of row A - hidden of column 1 - hidden of column 3 + hidden of row C. So each total
minus its visible cells is taken as one equation over the hidden cells, and a hidden cell is recoverable
when the equations pin it down (no change of the hidden values that keeps every total moves it: it has
no part in their null space). Suppression then hides one more cell near it, and checks again. A cell
alone in its group along some margin is left out here too: the other totals add up to its own. In a
sparse table a cell can stay recoverable with every cell near it hidden; the scan then refuses the
release, and the table needs coarser cells or fewer margins.

A suppressed row keeps its dimension columns, has every `counts` and `derived` column null, and is marked
by the boolean column `disembunyikan` (added here; false on every other row). A row whose counts are null
without that mark (no data) hides nothing: a total over the same data leaves it out (SQL's SUM skips
NULL), so a small cell beside it is still the total minus the visible cells. It can be the complementary
cell itself, though: once marked, the public cannot tell it from any other hidden cell.

**NIK and KK** (16 digits, Dukcapil): `PP KK CC DDMMYY SSSS` = province, regency (kabupaten 01-69, kota
71-79), kecamatan, date (of birth for a NIK, +40 on the day for women; of issue for a KK), serial (never
0000). The scan looks for 16 digits with spaces, dots or dashes between them, for numbers a spreadsheet
turned into scientific notation ('6.40101E+15', with a decimal comma too: the digits are partly lost, so
a 16-digit magnitude whose leading digits form a province code is enough), and for 16-digit integers and
floats in numeric columns. A text prefilter runs vectorised (pyarrow.compute regex, RE2) over whole
columns; only the few candidate cells are checked in Python.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.catalog import SmallCells

log = logging.getLogger(__name__)

SUPPRESSED_COLUMN = "disembunyikan"
SUPPRESSED_COLUMN_DOC = (
    "Bernilai benar (true) bila nilai baris ini disembunyikan untuk melindungi kerahasiaan penduduk "
    "(sel kecil, atau sel pelengkap agar sel kecil tidak dapat dihitung dari jumlah totalnya); "
    "kolom jumlah dan turunannya pada baris itu dikosongkan"
)

# Kemendagri province codes (Kepmendagri 100.1.1-6117/2022): the first two digits of every NIK and KK.
# 91-96 are the Papua provinces after the 2022 split; NIKs issued before it keep 91/92.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "16", "17", "18", "19",  # Sumatra: Aceh .. Kepulauan Bangka Belitung
        "21",  # Kepulauan Riau
        "31", "32", "33", "34", "35", "36",  # Java: DKI Jakarta .. Banten
        "51", "52", "53",  # Bali, NTB, NTT
        "61", "62", "63", "64", "65",  # Kalimantan: Barat, Tengah, Selatan, Timur, Utara
        "71", "72", "73", "74", "75", "76",  # Sulawesi: Utara .. Barat
        "81", "82",  # Maluku, Maluku Utara
        "91", "92", "93", "94", "95", "96",  # Papua, Papua Barat, Selatan, Tengah, Pegunungan, Barat Daya
    }
)  # fmt: skip

# Vectorised prefilter (RE2, no look-behind): a province code after a non-digit, then 14 more digits with up
# to 3 separators between any two; scientific notation with a 14-16-digit magnitude; a run of 32+ hex
# characters. A superset of the findings: it only picks the candidate cells checked in Python.
_PROVINCE_RE = "(?:" + "|".join(rf"{code[0]}[ .\-]{{0,3}}{code[1]}" for code in sorted(PROVINCE_CODES)) + ")"
_PREFILTER = (
    r"(?:^|[^0-9])" + _PROVINCE_RE + r"(?:[ .\-]{0,3}[0-9]){14}"
    r"|[0-9][.,][0-9]*[eE]\+?0*1[345]"
    r"|[0-9A-Fa-f]{32}"
)
_DIGIT_RUN = re.compile(r"\d+(?:[ .\-]{1,3}\d+)*")
_DIGITS = re.compile(r"\d+")
_SCIENTIFIC = re.compile(r"(?<![\d.,])(\d{1,3})[.,](\d+)[eE]\+?(\d{1,3})(?![\d])")
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,64}(?![0-9A-Za-z])")
DIGEST_LENGTHS = {32: "MD5", 40: "SHA-1", 64: "SHA-256"}

MAX_FINDINGS_PER_COLUMN = 20  # per column and kind; the rest is summed up in one line
MAX_TRIED = 20  # complementary cells tried for one recoverable cell before the first by preference is taken

# --- Column names of personal data --------------------------------------------------------------------
# A name is split into words on '_' (and camelCase). It names personal data when it names a person's
# identity number (NIK, KK, or their hash/pseudonym), a person's name (`nama` alone, or `nama` + a word
# for a person), an exact birth date (`tanggal`/`tgl` + `lahir`), or a home address (`alamat` + a word
# for a residence or a person). Names of places and organisations (`nama_desa`, `nama_sekolah`,
# `alamat_sekolah`) are not about a person, so they pass. A name that starts with an aggregate word
# (`jumlah_kk`, `persentase_nik_valid`) describes a count, not an identifier.
ID_WORDS = frozenset({"nik", "kk", "nokk", "nonik", "nomorkk", "noktp", "ktp", "pseudonim", "pseudonym",
                      "hash", "md5", "sha1", "sha256"})  # fmt: skip
ID_PHRASES = (("nomor", "induk", "kependudukan"), ("kartu", "keluarga"))
PERSON_WORDS = frozenset({
    "lengkap", "pelapor", "ibu", "ayah", "bapak", "orang", "ortu", "wali", "suami", "istri", "anak", "bayi",
    "balita", "kepala", "keluarga", "penduduk", "warga", "pasien", "siswa", "murid", "peserta", "pemilik",
    "penerima", "pemohon", "pegawai", "pengguna", "responden", "korban", "pelaku", "tersangka", "jenazah",
    "almarhum", "gadis", "kecil", "panggilan", "alias", "depan", "belakang", "tengah", "pribadi", "pasangan",
    "saksi", "ahli", "waris", "guru", "bidan", "kader", "petugas", "full", "first", "last",
})  # fmt: skip
RESIDENCE_WORDS = frozenset({"rumah", "tinggal", "domisili", "ktp", "kk", "asal", "home"}) | PERSON_WORDS
# A birth date: a word for a date (or a time of day) and a word for birth, in either order and in the
# spellings agency exports use (`tanggal_kelahiran`, `tgl_lhr`, `TglLahir`, `lahir_tanggal`); `tahun_lahir`
# (a year) and `tempat_lahir` (a place) are not exact dates. Run-together names are checked whole.
DATE_WORDS = frozenset({"tanggal", "tangal", "tanggl", "tgl", "tg", "tggl", "date", "waktu", "jam"})
BIRTH_WORDS = frozenset({"lahir", "lhr", "kelahiran", "lahirnya", "birth"})
BIRTH_DATE_WORDS = frozenset({"ttl", "dob", "birthdate", "birthday", "dateofbirth"}) | {
    date + birth for date in DATE_WORDS for birth in BIRTH_WORDS
}
AGGREGATE_WORDS = frozenset({
    "jumlah", "jml", "total", "banyak", "banyaknya", "persentase", "persen", "proporsi", "rasio", "rata",
    "median", "angka", "cakupan", "capaian", "distribusi", "sebaran", "count", "n",
})  # fmt: skip


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [word for word in re.split(r"[^0-9a-z]+", spaced.lower()) if word]


def _has_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == tuple(phrase) for i in range(len(words) - n + 1))


def personal_column_reason(name: str) -> str | None:
    """Why a column name indicates personal data (identity number, person's name, birth date, home
    address), or None when it does not."""
    words = _words(name)
    if not words or words[0] in AGGREGATE_WORDS:
        return None
    if any(word in ID_WORDS for word in words) or any(_has_phrase(words, p) for p in ID_PHRASES):
        return "names a person's identity number (NIK/KK) or its hash/pseudonym"
    for i, word in enumerate(words):
        following = words[i + 1 : i + 2]
        if word in ("nama", "name") and (not following or following[0] in PERSON_WORDS):
            return "names the name of a person"
        if word == "alamat" and following and following[0] in RESIDENCE_WORDS:
            return "names a home address"
    if any(word in BIRTH_DATE_WORDS for word in words) or (DATE_WORDS & set(words) and BIRTH_WORDS & set(words)):
        return "names an exact date of birth"
    return None


# --- NIK / KK structure -------------------------------------------------------------------------------


def is_nik_like(digits: str) -> bool:
    """True when 16 digits have the structure of a NIK or KK number (see the module docstring)."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    if digits[:2] not in PROVINCE_CODES:
        return False
    regency, kecamatan = int(digits[2:4]), int(digits[4:6])
    if not (1 <= regency <= 79) or kecamatan == 0:
        return False
    day, month = int(digits[6:8]), int(digits[8:10])
    if not (1 <= day <= 31 or 41 <= day <= 71) or not (1 <= month <= 12):
        return False
    return digits[12:] != "0000"


def mask_nik(digits: str) -> str:
    """'6401234567890001' -> '6401********0001': enough to find the row, not enough to identify anyone."""
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _nik_candidates(text: str) -> Iterator[str]:
    """Every 16-digit run in `text` that is a whole digit group or a whole sequence of separated groups."""
    for run in _DIGIT_RUN.finditer(text):
        value = run.group()
        if len(value) < 16:  # separators included: too short to hold 16 digits
            continue
        groups = _DIGITS.findall(value)
        lengths = [len(group) for group in groups]
        if sum(lengths) < 16:
            continue
        # A NIK may sit next to another number ('6401... 0812...'): try every sequence of whole groups.
        for start in range(len(groups)):
            total = 0
            for stop in range(start, len(groups)):
                total += lengths[stop]
                if total == 16:
                    yield "".join(groups[start : stop + 1])
                if total >= 16:
                    break


def _scientific_nik(text: str) -> Iterator[str]:
    """Numbers in scientific notation with a 16-digit magnitude and a province code in front (masked)."""
    for match in _SCIENTIFIC.finditer(text):
        whole, fraction, exponent = match.group(1), match.group(2), int(match.group(3))
        significant = (whole + fraction).lstrip("0")
        if not significant or len(whole.lstrip("0")) + exponent != 16:
            continue
        if len(significant) >= 16:
            if is_nik_like(significant[:16]):
                yield mask_nik(significant[:16])
        elif len(significant) >= 2 and significant[:2] in PROVINCE_CODES:
            yield f"{match.group()[:3]}…E+{exponent} (a 16-digit number starting {significant[:2]})"


def _digests(text: str) -> Iterator[str]:
    for match in _HEX_RUN.finditer(text):
        value = match.group()
        if len(value) in DIGEST_LENGTHS and re.search(r"[A-Fa-f]", value) and re.search(r"\d", value):
            yield f"{DIGEST_LENGTHS[len(value)]}-like hex digest {value[:6]}…"


# --- Findings -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrivacyFinding:
    """One thing that blocks a release: where it is and what it is (values masked)."""

    file: str
    column: str
    row: int | None  # 1-based data row (the first row under the header is 1); None: the column itself
    kind: str  # nik | nik_scientific | digest | column_name | small_cell | recoverable_cell | more
    detail: str

    def describe(self) -> str:
        where = f"row {self.row}" if self.row is not None else "column"
        return f"{self.file}: column '{self.column}', {where}: {self.detail}"


@dataclass
class _Collector:
    """Findings per (column, kind), capped so a column of a million NIKs stays a readable report."""

    file: str
    findings: list[PrivacyFinding]
    counts: dict[tuple[str, str], int]

    def add(self, column: str, row: int | None, kind: str, detail: str) -> None:
        key = (column, kind)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] <= MAX_FINDINGS_PER_COLUMN:
            self.findings.append(PrivacyFinding(self.file, column, row, kind, detail))

    def finish(self) -> list[PrivacyFinding]:
        for (column, kind), count in self.counts.items():
            if count > MAX_FINDINGS_PER_COLUMN:
                more = count - MAX_FINDINGS_PER_COLUMN
                self.findings.append(PrivacyFinding(self.file, column, None, "more", f"{more} more {kind} finding(s)"))
        return self.findings


def _value_type(data_type: pa.DataType) -> pa.DataType:
    return data_type.value_type if pa.types.is_dictionary(data_type) else data_type


def _is_text(data_type: pa.DataType) -> bool:
    data_type = _value_type(data_type)
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type)


def _scan_text(column: pa.ChunkedArray, name: str, out: _Collector) -> None:
    text = column.cast(pa.large_string()) if not pa.types.is_large_string(column.type) else column
    candidates = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(text, _PREFILTER), False))
    if len(candidates) == 0:
        return
    values = pc.take(text, candidates).to_pylist()
    for row, value in zip(candidates.to_pylist(), values, strict=True):
        seen = set()
        for digits in _nik_candidates(value):
            if digits not in seen and is_nik_like(digits):
                seen.add(digits)
                out.add(name, row + 1, "nik", f"NIK/KK-like number {mask_nik(digits)}")
        for masked in _scientific_nik(value):
            out.add(name, row + 1, "nik_scientific", f"NIK/KK-like number in scientific notation {masked}")
        for digest in _digests(value):
            out.add(name, row + 1, "digest", f"{digest} (a plain hash of an id can be reversed by trying every id)")


def _scan_numbers(column: pa.ChunkedArray, name: str, out: _Collector) -> None:
    data_type = _value_type(column.type)
    # the range test in float64 (every integer and decimal type fits); candidates keep their exact value
    magnitude = pc.abs(column.cast(pa.float64(), safe=False))
    in_range = pc.and_(pc.greater_equal(magnitude, 1e15), pc.less(magnitude, 1e16))
    candidates = pc.indices_nonzero(pc.fill_null(in_range, False))
    if len(candidates) == 0:
        return
    lossy = pa.types.is_float32(data_type) or pa.types.is_float16(data_type)
    for row, value in zip(candidates.to_pylist(), pc.take(column, candidates).to_pylist(), strict=True):
        digits = str(abs(int(value)))
        if lossy:  # ~7 significant digits: only the province code survives
            if digits[:2] in PROVINCE_CODES:
                out.add(name, row + 1, "nik_scientific", f"16-digit number starting {digits[:2]} in a float column")
        elif is_nik_like(digits):
            out.add(name, row + 1, "nik", f"NIK/KK-like number {mask_nik(digits)} in a numeric column")


def _hidden_rows(table: pa.Table) -> list[bool]:
    """Rows marked `disembunyikan`. Null counts without the mark are "no data", left out of every total."""
    if SUPPRESSED_COLUMN not in table.column_names:
        return [False] * table.num_rows
    return pc.fill_null(table[SUPPRESSED_COLUMN], False).to_pylist()


def _cell_keys(table: pa.Table, rules: SmallCells) -> list[tuple]:
    columns = [table[name].to_pylist() for name in rules.cell]
    return list(zip(*columns, strict=True)) if columns else []


def _groups(keys: Sequence[tuple], rules: SmallCells, margin: str) -> dict[tuple, list[int]]:
    """Row indices per group along `margin`: rows agreeing on every other cell column, except the columns
    that lie within `margin` (`within`: the kabupaten total along kode_kecamatan sums over kode_desa too)."""
    summed = rules.nested_in(margin)
    kept = [position for position, name in enumerate(rules.cell) if name not in summed]
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        groups[tuple(key[position] for position in kept)].append(index)
    return groups


def _linked_groups(keys: Sequence[tuple], rules: SmallCells) -> tuple[list[list[int]], set[int]]:
    """The groups of two or more rows along every margin (the totals a reader may combine), and the rows
    alone in their group along some margin (that total is the cell itself: left to the threshold)."""
    groups = [rows for margin in rules.margins for rows in _groups(keys, rules, margin).values()]
    return [rows for rows in groups if len(rows) > 1], {rows[0] for rows in groups if len(rows) == 1}


def _recoverable_rows(hidden: Sequence[bool], groups: Sequence[list[int]], alone: set[int]) -> list[int]:
    """Hidden rows (not `alone`) whose value follows from the group totals, one total or several combined.

    Each group with a hidden cell gives one equation (its total minus its visible cells = the sum of
    its hidden cells). A hidden cell is recoverable when no vector of the equations' null space moves it.
    A row alone along some margin always is (the other totals add up to its own), so it is left out,
    as the single-group check leaves out groups of one.
    """
    columns = [row for row, flag in enumerate(hidden) if flag]
    position = {row: index for index, row in enumerate(columns)}
    equations = [indices for rows in groups if (indices := [position[row] for row in rows if hidden[row]])]
    if not equations:
        return []
    matrix = np.zeros((len(equations), len(columns)))
    for index, indices in enumerate(equations):
        matrix[index, indices] = 1.0
    _, singular, basis = np.linalg.svd(matrix)
    rank = int((singular > singular.max() * max(matrix.shape) * np.finfo(float).eps).sum())
    freedom = np.linalg.norm(basis[rank:], axis=0)  # how far each hidden cell can move with every total kept
    return [columns[index] for index in np.flatnonzero(freedom < 1e-6) if columns[index] not in alone]


def _describe_group(rules: SmallCells, margin: str, key: tuple) -> str:
    others = [name for name in rules.cell if name not in rules.nested_in(margin)]
    return ", ".join(f"{name}={value!r}" for name, value in zip(others, key, strict=True)) or "the whole table"


def _counts_of_people(table: pa.Table, rules: SmallCells) -> Iterator[tuple[str, str, pa.ChunkedArray]]:
    """(column, what, values) for every count of people a reader sees: each `counts` column, and for each
    `part_of` pair the complement total - part (a reader subtracts the two published columns)."""
    for name in rules.counts:
        yield name, "count", table[name]
    for part, total in rules.part_of.items():
        yield part, f"{total} - {part}", pc.subtract(table[total], table[part])


def _small(values: pa.ChunkedArray, rules: SmallCells) -> pa.ChunkedArray:
    return pc.fill_null(pc.and_(pc.greater_equal(values, 1), pc.less_equal(values, rules.max_suppressed)), False)


def _missing_columns(table: pa.Table, rules: SmallCells) -> list[str]:
    return [name for name in [*rules.counts, *rules.cell, *rules.derived] if name not in table.column_names]


def _scan_small_cells(table: pa.Table, rules: SmallCells, out: _Collector) -> None:
    missing = _missing_columns(table, rules)
    if missing:
        out.add(missing[0], None, "small_cell", f"small_cells names columns the table does not have: {missing}")
        return
    for name, what, values in _counts_of_people(table, rules):
        rows = pc.indices_nonzero(_small(values, rules))
        for row, value in zip(rows.to_pylist(), pc.take(values, rows).to_pylist(), strict=True):
            out.add(
                name, row + 1, "small_cell", f"{what} {value} is visible (counts 1..{rules.max_suppressed} must be suppressed)"
            )
    hidden = _hidden_rows(table)
    keys = _cell_keys(table, rules)
    reported = set()
    for margin in rules.margins:
        for group_key, rows in _groups(keys, rules, margin).items():
            hidden_rows = [row for row in rows if hidden[row]]
            if len(rows) > 1 and len(hidden_rows) == 1:
                reported.add(hidden_rows[0])
                out.add(
                    rules.counts[0],
                    hidden_rows[0] + 1,
                    "recoverable_cell",
                    f"the only hidden cell along '{margin}' in its group ({_describe_group(rules, margin, group_key)}):"
                    " recoverable as the group total minus the visible cells",
                )
    for row in _recoverable_rows(hidden, *_linked_groups(keys, rules)):
        if row not in reported:
            out.add(
                rules.counts[0],
                row + 1,
                "recoverable_cell",
                "recoverable by combining the totals of several groups along the margins (each total minus its visible cells)",
            )


def scan(table: pa.Table, file_label: str, rules: SmallCells | None) -> list[PrivacyFinding]:
    """Everything in `table` (exactly what is published) that could expose a person; empty = pass.

    `file_label` names the file in each finding. `rules` (the publication's small_cells) adds the
    small-cell checks; None skips them (tables that do not count people, or a CSV re-read as text).
    """
    out = _Collector(file_label, [], {})
    for field in table.schema:
        reason = personal_column_reason(field.name)
        if reason:
            out.add(field.name, None, "column_name", f"the column name {reason}; it must not be published")
        data_type = _value_type(field.type)
        column = table[field.name]
        if _is_text(data_type):
            _scan_text(column, field.name, out)
        elif pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
            _scan_numbers(column, field.name, out)
    if rules is not None:
        _scan_small_cells(table, rules, out)
    findings = out.finish()
    if findings:
        log.warning("privacy scan of %s: %d finding(s)", file_label, len(findings))
    return findings


# --- Suppression --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuppressionResult:
    """The table to publish, the keys of its suppressed cells (for the next release) and how many."""

    table: pa.Table
    suppressed: set[tuple]
    primary: int
    complementary: int

    def keys_for_manifest(self) -> list[list[Any]]:
        """The suppressed keys as sorted JSON lists (manifest.json); read back with `keys_from_manifest`."""
        return [list(key) for key in sorted(self.suppressed, key=_sortable)]


def keys_from_manifest(keys: Iterable[Iterable[Any]] | None) -> set[tuple]:
    return {tuple(key) for key in keys or []}


def _sortable(key: tuple) -> tuple:
    # None sorts last; values of one cell column share a type, so the rest compares as is.
    return tuple((value is None, "" if value is None else value) for value in key)


def suppress(table: pa.Table, rules: SmallCells, previous_suppressed: set[tuple] | None = None) -> SuppressionResult:
    """Primary and complementary small-cell suppression (see the module docstring); deterministic.

    Raises ValueError when a rules column is missing, the table already has `disembunyikan`, or two rows
    share a cell key (the group totals would be ambiguous).
    """
    missing = _missing_columns(table, rules)
    if missing:
        raise ValueError(f"small_cells names columns the table does not have: {missing}")
    if SUPPRESSED_COLUMN in table.column_names:
        raise ValueError(f"the table already has a '{SUPPRESSED_COLUMN}' column: only the privacy gate adds it")
    previous = previous_suppressed or set()
    keys = _cell_keys(table, rules)
    seen: set[tuple] = set()
    for row, key in enumerate(keys, start=1):
        if key in seen:
            raise ValueError(f"row {row}: two rows share the cell key {dict(zip(rules.cell, key, strict=True))}")
        seen.add(key)

    small = None
    for _, _, values in _counts_of_people(table, rules):
        flag = _small(values, rules)
        small = flag if small is None else pc.or_(small, flag)
    assert small is not None  # SmallCells.counts is never empty
    suppressed = small.to_pylist()
    primary = sum(suppressed)

    totals = [0] * table.num_rows
    known = [False] * table.num_rows
    for name in rules.counts:
        for index, value in enumerate(table[name].to_pylist()):
            if value is not None:
                totals[index] += value
                known[index] = True

    def preference(index: int) -> tuple:
        # a cell hidden last release first, then the smallest non-zero count, unknown counts, zeros; then key
        size_class = 0 if known[index] and totals[index] != 0 else (1 if not known[index] else 2)
        return (keys[index] not in previous, size_class, totals[index], _sortable(keys[index]))

    linked, alone = _linked_groups(keys, rules)
    complementary = 0
    while True:  # each pass only adds cells, so this ends
        changed = True
        while changed:  # first the cheap case: a group with one hidden cell
            changed = False
            for rows in linked:
                if sum(suppressed[row] for row in rows) != 1:
                    continue
                choice = min((row for row in rows if not suppressed[row]), key=preference)
                suppressed[choice] = True
                complementary += 1
                changed = True
        next_choice = _complement_for(_recoverable_rows(suppressed, linked, alone), suppressed, linked, alone, preference)
        if next_choice is None:  # none recoverable, or none that a visible cell could cover: the scan reports it
            break
        suppressed[next_choice] = True
        complementary += 1

    mask = pa.array(suppressed, pa.bool_())
    result = table
    for name in [*rules.counts, *rules.derived]:
        index = result.schema.get_field_index(name)
        column = result[name]
        result = result.set_column(index, result.schema.field(index), pc.if_else(mask, pa.nulls(len(mask), column.type), column))
    result = result.append_column(pa.field(SUPPRESSED_COLUMN, pa.bool_(), nullable=False), mask)
    cells = {key for key, flag in zip(keys, suppressed, strict=True) if flag}
    log.info("suppressed %d cell(s): %d primary, %d complementary", len(cells), primary, complementary)
    return SuppressionResult(result, cells, primary, complementary)


def _complement_for(
    recoverable: Sequence[int], hidden: Sequence[bool], groups: Sequence[list[int]], alone: set[int],
    preference: Callable[[int], tuple],
) -> int | None:
    """The visible cell to hide next for the first recoverable cell that has one near it.

    Near: in one of its groups, or in a group of a hidden cell it shares a group with (the other corner
    of a square that would free it). The first of them by preference that frees it is taken (at most
    MAX_TRIED are tried), else the first by preference: hiding it at least narrows what the totals tell.
    """
    for row in recoverable:
        own = [rows for rows in groups if row in rows]
        partners = {other for rows in own for other in rows if hidden[other] and other != row}
        near = {other for rows in groups if row in rows or partners & set(rows) for other in rows if not hidden[other]}
        if not near:
            continue
        ordered = sorted(near, key=preference)
        for choice in ordered[:MAX_TRIED]:
            trial = [flag or index == choice for index, flag in enumerate(hidden)]
            if row not in _recoverable_rows(trial, groups, alone):
                return choice
        return ordered[0]
    return None


def read_json_as_text(path: Path) -> pa.Table:
    """A published JSON file (an array of records) read back with every value as its JSON text."""
    import json

    records = json.loads(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for record in records:
        names += [name for name in record if name not in names]
    columns = {name: [None if record.get(name) is None else str(record[name]) for record in records] for name in names}
    return pa.table({name: pa.array(values, type=pa.string()) for name, values in columns.items()})


def read_csv_as_text(path: Path) -> pa.Table:
    """A published CSV read back with every column as text, as a spreadsheet user would see it."""
    import pyarrow.csv as pacsv

    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in header}),
    )
