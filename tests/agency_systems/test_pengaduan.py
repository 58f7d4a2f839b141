"""The demo SP4N-LAPOR! export: cp1252 CSV with messy free text, snapshots with late updates, deterministic."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest

from agency_systems import pengaduan
from agency_systems.pengaduan import (
    EXPORT_DATES,
    FORMULA_MIN,
    FORMULA_RATE,
    HEADERS,
    NIK_RATE,
    PHONE_RATE,
    UNRESOLVABLE_RATE,
    export_bytes,
    generate,
    write_demo,
)
from ingestion.zones import Zones

SCALE = 0.5
NIK_SPELLINGS = {
    "digits": re.compile(r"(?<!\d)6401\d{12}(?!\d)"),
    "spaces": re.compile(r"(?<!\d)6401 \d{4} \d{4} \d{4}(?!\d)"),
    "dots": re.compile(r"(?<!\d)6401\.\d{4}\.\d{4}\.\d{4}(?!\d)"),
}
PHONE = re.compile(r"(?<![\d.])(?:\+62 |0)8\d{2}[- ]?\d{4}[- ]?\d{4,5}(?![\d.])")


@pytest.fixture(scope="module")
def complaints() -> pengaduan.Complaints:
    return generate(scale=SCALE, seed=7)


def _records(content: bytes) -> list[dict[str, str]]:
    """The export read back the way a careful reader would: cp1252, ';', quoted fields."""
    reader = csv.reader(io.StringIO(content.decode("cp1252"), newline=""), delimiter=";")
    header = next(reader)
    assert header == list(HEADERS.values())
    return [dict(zip(HEADERS, record, strict=True)) for record in reader]


def _latest_per_ticket(records: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {record["nomor_tiket"]: record for record in records}


def test_volume_follows_the_scale_and_the_period(complaints: pengaduan.Complaints) -> None:
    tickets = complaints.tickets
    # ~2,000 a year at scale 1: 2025 whole and 2026 up to 30 June, at scale 0.5.
    assert 1400 <= len(tickets) <= 1600
    by_year = Counter(ticket.reported_at.year for ticket in tickets)
    assert 900 <= by_year[2025] <= 1100 and 400 <= by_year[2026] <= 600
    assert all(re.fullmatch(r"LAPOR-(2025|2026)-\d{6}", ticket.nomor_tiket) for ticket in tickets)
    assert len({ticket.nomor_tiket for ticket in tickets}) == len(tickets)
    assert {ticket.kategori for ticket in tickets} == {
        "Infrastruktur", "Kesehatan", "Pendidikan", "Kependudukan", "Lingkungan", "Bansos", "Pelayanan Publik", "Lainnya"}


def test_free_text_holds_niks_in_three_spellings_at_the_documented_rate(complaints: pengaduan.Complaints) -> None:
    records = _latest_per_ticket(_records(export_bytes(complaints.exports[-1])))
    texts = [record["isi_laporan"] for record in records.values()]
    found = {name: sum(1 for text in texts if pattern.search(text)) for name, pattern in NIK_SPELLINGS.items()}
    with_nik = sum(1 for text in texts if any(pattern.search(text) for pattern in NIK_SPELLINGS.values()))
    assert with_nik == round(len(texts) * NIK_RATE), found
    assert all(count >= 1 for count in found.values()), f"every spelling present: {found}"
    # The generator's own account agrees with what is in the file.
    assert sum(1 for t in complaints.tickets if t.nik_in_text) == with_nik
    # A spaced NIK can look like a phone number ('6401 0827 1097 0563'): NIKs are blanked first.
    without_niks = [NIK_SPELLINGS["spaces"].sub(" ", text) for text in texts]
    with_phone = sum(1 for text in without_niks if PHONE.search(text))
    assert with_phone == sum(1 for t in complaints.tickets if t.phone_in_text)
    assert abs(with_phone - len(texts) * PHONE_RATE) <= with_nik + 1  # phones skip texts that hold a NIK
    assert 0.015 <= (with_nik + with_phone) / len(texts) <= 0.025  # "~2% hold a NIK or a phone number"


def test_some_texts_are_formulas(complaints: pengaduan.Complaints) -> None:
    records = _latest_per_ticket(_records(export_bytes(complaints.exports[-1])))
    formulas = [record["isi_laporan"] for record in records.values() if record["isi_laporan"].startswith("=")]
    assert len(formulas) == max(FORMULA_MIN, round(len(records) * FORMULA_RATE))
    assert all(re.match(r'=HYPERLINK\("https://[^"]+";"Lihat foto"\) ', text) for text in formulas)


def test_export_is_windows_1252_with_indonesian_text(complaints: pengaduan.Complaints) -> None:
    content = export_bytes(complaints.exports[-1])
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # typographic quotes and ellipses are single cp1252 bytes
    assert b"\x93belum ada anggaran\x94 katanya\x85" in content  # “belum ada anggaran” katanya…
    text = content.decode("cp1252")
    assert "Mohon perhatian Bapak/Ibu" in text and "Terima kasih ?" in text  # the emoji the export could not encode
    assert "\U0001f64f" not in text
    lines = text.split("\r\n")
    assert lines[0] == ";".join(HEADERS.values())
    records = _records(content)
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", r["tanggal_laporan"]) for r in records)
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", r["updated_at"]) for r in records)
    # Quoted fields carry ';' and line breaks.
    assert any(";" in r["isi_laporan"] for r in records) and any("\n" in r["isi_laporan"] for r in records)


def test_exports_are_snapshots_with_late_status_updates_and_duplicates(complaints: pengaduan.Complaints) -> None:
    first, last = (_records(export_bytes(export)) for export in complaints.exports)
    first_tickets = {r["nomor_tiket"] for r in first}
    last_tickets = {r["nomor_tiket"] for r in last}
    assert first_tickets < last_tickets, "each export is the full list up to its date"
    assert all(r["nomor_tiket"].startswith("LAPOR-2025-") for r in first)

    def newest(records: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
        stamp = {}
        for r in records:
            key = r["updated_at"][6:10] + r["updated_at"][3:5] + r["updated_at"][:2] + r["updated_at"][11:]
            if r["nomor_tiket"] not in stamp or key > stamp[r["nomor_tiket"]][0]:
                stamp[r["nomor_tiket"]] = (key, r["status"])
        return stamp

    before, after = newest(first), newest(last)
    late = [t for t in first_tickets if after[t][0] > before[t][0]]
    assert late and all(before[t][1] != "Selesai" for t in late)
    assert any(after[t][1] == "Selesai" for t in late)
    # Duplicates: identical rows, history rows (same ticket, older status), conflicting repeats of a key.
    rows = Counter(tuple(r.values()) for r in last)
    assert any(count > 1 for count in rows.values())
    per_ticket = Counter(r["nomor_tiket"] for r in last)
    statuses = {}
    for r in last:
        statuses.setdefault(r["nomor_tiket"], set()).add(r["status"])
    assert any(len(s) > 1 for s in statuses.values())
    keys = {}
    conflicts = 0
    for r in last:
        key = (r["nomor_tiket"], r["updated_at"])
        conflicts += key in keys and keys[key] != r
        keys.setdefault(key, r)
    assert conflicts >= 1 and max(per_ticket.values()) >= 2


def test_locations_are_typed_and_some_cannot_be_resolved(complaints: pengaduan.Complaints) -> None:
    tickets = complaints.tickets
    unresolvable = [t for t in tickets if not t.resolvable]
    assert len(unresolvable) == round(len(tickets) * UNRESOLVABLE_RATE)
    assert all(t.kecamatan_typed in pengaduan.UNRESOLVABLE_KECAMATAN for t in unresolvable)
    spellings = {t.kecamatan_typed for t in tickets if t.resolvable}
    assert {"Pasir Belengkong", "Longikis", "Kec. Tanah Grogot", "TANAH GROGOT"} <= spellings
    assert sum(1 for t in tickets if t.desa_typed == "") > len(tickets) / 5, "desa often left empty"
    anonymous = [t for t in tickets if t.nama_pelapor == "Anonim"]
    assert anonymous and all(t.nik_pelapor == "" for t in anonymous)
    assert all(re.fullmatch(r"6401(0[1-9]|10)\d{10}", t.nik_pelapor) for t in tickets if t.nik_pelapor)


def test_write_demo_is_deterministic_and_a_no_op_when_written(zones: Zones) -> None:
    assert write_demo(zones, scale=0.05, seed=11) == {}
    folder = zones.drop("diskominfo")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"pengaduan_{day:%Y%m%d}.csv" for day in EXPORT_DATES]
    first = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in folder.iterdir()}
    # Oldest export first by mtime: the file kind lands drops in mtime order.
    mtimes = [first[name][1] for name in names]
    assert mtimes == sorted(mtimes) and mtimes[0] < mtimes[1]
    write_demo(zones, scale=0.05, seed=11)
    again = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in folder.iterdir()}
    assert again == first, "same (scale, seed): files untouched"
    write_demo(zones, scale=0.05, seed=12)
    changed = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert all(changed[name] != first[name][0] for name in names)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no temporary files left"


def test_same_seed_same_bytes() -> None:
    one = [export_bytes(e) for e in generate(scale=0.05, seed=3).exports]
    two = [export_bytes(e) for e in generate(scale=0.05, seed=3).exports]
    assert one == two
    assert one != [export_bytes(e) for e in generate(scale=0.05, seed=4).exports]
