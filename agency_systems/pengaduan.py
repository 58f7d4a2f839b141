"""Public complaints (SP4N-LAPOR!) as Diskominfo Paser exports them: `;`-separated CSV in Windows-1252.

Diskominfo administers SP4N-LAPOR! for the regency and exports the complaint list from the admin
panel ("Unduh CSV") about twice a year. Each export is the FULL list of tickets reported up to its
date, with each ticket's status on that date: the catalog treats `pengaduan` as a snapshot dataset
(no cursor) and staging reads the latest batch only. One file per export lands in
`drop/diskominfo/pengaduan_<yyyymmdd>.csv`; this demo writes two, 31/12/2025 and 30/06/2026 (the
reference date of the demo data). About 2,000 complaints a year at scale 1 (2025 whole, 2026 up to
30 June), scaled linearly by `scale`.

Columns (headers as the export spells them): No. Tiket (`LAPOR-2026-000123`), Tanggal Laporan
(dd/mm/yyyy), Kategori, Kecamatan and Desa/Kelurahan as typed by the reporter, Judul Laporan, Isi
Laporan (free text), Nama Pelapor and NIK Pelapor (personal; `Anonim` and empty for anonymous
reports), Status (Diterima/Diproses/Selesai), Terakhir Diperbarui (dd/mm/yyyy HH:MM:SS).

Messiness, on purpose (rates are exact counts of tickets, chosen without replacement):
- Late status updates: a 2025 ticket still `Diproses` in the December export is `Selesai` in the
  June export, with a newer Terakhir Diperbarui.
- Duplicates: ~1% of rows are repeated identically (the export's pages overlap; deduplicated at
  landing); ~3% of tickets also appear with an older status row (the export joins the status
  history: same ticket, older Terakhir Diperbarui; staging keeps the newest); ~0.2% repeat a ticket
  and its Terakhir Diperbarui with the kecamatan retyped by an admin (same place, other spelling:
  a conflicting key, quarantined at landing, the first row kept).
- Locations typed by reporters: kecamatan in other cases and spacing, with `Kec.`/`Kecamatan`
  prefixes, the BPS spelling `Pasir Belengkong`, `Longikis`/`Longkali`, plain `Grogot`; desa often
  left empty; ~1.5% of tickets cannot be placed in a kecamatan (empty, `-`, `Kab. Paser`, a town
  outside Paser).
- Kategori spelled as older versions of the system wrote it on ~5% of tickets (`INFRASTRUKTUR`,
  `Bantuan Sosial`, `Administrasi Kependudukan`, `Lingkungan Hidup`, `pelayanan publik`).
- Free text: 1.2% of Isi Laporan hold a NIK, in three spellings (`6401234567890001`,
  `6401 2345 6789 0001`, `6401.2345.6789.0001`), 0.8% a phone number; a few (0.1%, at least 3)
  start with an Excel formula (`=HYPERLINK("...";"Lihat foto")`: CSV injection if opened in Excel);
  texts hold `;`, double quotes and line breaks (quoted), typographic quotes, `…` and `–` (in
  Windows-1252); emoji the export cannot encode arrive as `?`.
- 15% of reports are anonymous (name `Anonim`, NIK empty); 5% more have a name but no NIK.

Everything is deterministic for (scale, seed); `generate()` returns the tickets with the truth
(their real kecamatan, whether the typed location is resolvable) for tests to reconcile against.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.catalog import REPO_ROOT
from ingestion.zones import Zones

log = logging.getLogger(__name__)

AGENCY = "diskominfo"
ENCODING = "cp1252"  # what the export writes; the catalog names it windows-1252
DELIMITER = ";"
COMPLAINTS_PER_YEAR = 2000  # at scale 1
FIRST_DAY = dt.date(2025, 1, 1)
EXPORT_DATES = (dt.date(2025, 12, 31), dt.date(2026, 6, 30))

NIK_RATE = 0.012
PHONE_RATE = 0.008
FORMULA_RATE = 0.001
FORMULA_MIN = 3
ANONYMOUS_RATE = 0.15
NO_NIK_RATE = 0.05
UNRESOLVABLE_RATE = 0.015
KATEGORI_VARIANT_RATE = 0.05
HISTORY_ROW_RATE = 0.03
IDENTICAL_REPEAT_RATE = 0.01
CONFLICT_RATE = 0.002

HEADERS = {
    "nomor_tiket": "No. Tiket",
    "tanggal_laporan": "Tanggal Laporan",
    "kategori": "Kategori",
    "kecamatan": "Kecamatan",
    "desa": "Desa/Kelurahan",
    "judul": "Judul Laporan",
    "isi_laporan": "Isi Laporan",
    "nama_pelapor": "Nama Pelapor",
    "nik_pelapor": "NIK Pelapor",
    "status": "Status",
    "updated_at": "Terakhir Diperbarui",
}

KATEGORI_WEIGHTS = {
    "Infrastruktur": 30, "Pelayanan Publik": 15, "Kependudukan": 12, "Lingkungan": 10,
    "Kesehatan": 10, "Bansos": 10, "Pendidikan": 8, "Lainnya": 5,
}
# How older versions of the system wrote a category (staging normalises them back).
KATEGORI_VARIANTS = {
    "Infrastruktur": ["INFRASTRUKTUR", "infrastruktur "],
    "Pelayanan Publik": ["pelayanan publik", "Pelayanan  Publik"],
    "Kependudukan": ["Administrasi Kependudukan", "KEPENDUDUKAN"],
    "Lingkungan": ["Lingkungan Hidup", "lingkungan"],
    "Kesehatan": ["KESEHATAN", "Kesehatan "],
    "Bansos": ["Bantuan Sosial", "BANSOS"],
    "Pendidikan": ["PENDIDIKAN", "pendidikan"],
    "Lainnya": ["LAINNYA", "Lain-lain"],
}
# Ways reporters type a kecamatan (besides the Kemendagri name itself), keyed by Kemendagri code.
KECAMATAN_SPELLINGS = {
    "64.01.01": ["Batu Sopang", "BATU SOPANG", "batu sopang", "Kec. Batu Sopang"],
    "64.01.02": ["Tanjung Harapan", "TANJUNG HARAPAN", "tanjung harapan", "Kecamatan Tanjung Harapan"],
    "64.01.03": ["Paser Belengkong", "Pasir Belengkong", "PASIR BELENGKONG", "paser belengkong"],
    "64.01.04": ["Tanah Grogot", "TANAH GROGOT", "tanah grogot", "Kec. Tanah Grogot", "Tanah  Grogot", "Grogot"],
    "64.01.05": ["Kuaro", "KUARO", "kuaro", "Kec. Kuaro"],
    "64.01.06": ["Long Ikis", "LONG IKIS", "Longikis", "long ikis"],
    "64.01.07": ["Muara Komam", "MUARA KOMAM", "muara komam", "Kecamatan Muara Komam"],
    "64.01.08": ["Long Kali", "LONG KALI", "Longkali", "Kec. Long Kali"],
    "64.01.09": ["Batu Engau", "BATU ENGAU", "batu engau", "Kec. Batu Engau"],
    "64.01.10": ["Muara Samu", "MUARA SAMU", "muara samu", "Kec. Muara Samu"],
}
# Typed locations that name no kecamatan of Paser.
UNRESOLVABLE_KECAMATAN = ["", "-", "Kab. Paser", "Paser", "Balikpapan", "Penajam", "tidak tahu", "Samarinda"]
# Where complaints come from: roughly the population (Tanah Grogot and Long Ikis are the largest).
KECAMATAN_WEIGHTS = {
    "64.01.01": 7, "64.01.02": 3, "64.01.03": 9, "64.01.04": 23, "64.01.05": 9,
    "64.01.06": 14, "64.01.07": 6, "64.01.08": 10, "64.01.09": 7, "64.01.10": 4,
}

_NAMA_DEPAN = ["Ahmad", "Muhammad", "Siti", "Nur", "Rahmat", "Dewi", "Budi", "Sri", "Andi", "Rina", "Agus",
               "Yusuf", "Fitri", "Hendra", "Wahyu", "Aisyah", "Rudi", "Eka", "Syahrani", "Jumiati", "Hairul",
               "Noor", "Iwan", "Lestari", "Fransiskus", "Maria", "Yohanes", "André", "Dodi", "Mulyani"]
_NAMA_BELAKANG = ["", "Hidayat", "Rahman", "Saputra", "Wati", "Susanto", "Pratama", "Hasan", "Kurniawan",
                  "Syahputra", "Aprilia", "Nurhaliza", "Setiawan", "Gunawan", "Ramadhani", "Effendi", "Lubis"]
_TEMPAT = ["masjid", "SD negeri", "pasar", "pustu", "simpang tiga", "kantor desa", "jembatan kayu", "lapangan bola",
           "gereja", "pos ronda", "RT 05", "RT 12", "gang Mawar", "Jl. Negara"]
_BULAN = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember"]

# Per category: (judul, isi) templates. Slots: {desa} {tempat} {bulan} {n}.
_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "Infrastruktur": [
        ("Jalan rusak parah di {desa}",
         "Mohon perhatian Bapak/Ibu, jalan poros di {desa} rusak parah sejak {bulan}. Lubang besar dekat {tempat}; "
         "sudah {n} kali motor jatuh. Kapan diperbaiki?"),
        ("Lampu jalan mati", "Lampu penerangan jalan di depan {tempat} ({desa}) mati sudah {n} minggu, malam gelap sekali "
         "dan rawan begal."),
        ("Jembatan hampir putus", "Jembatan dekat {tempat} di {desa} papannya lapuk – anak sekolah lewat setiap hari.\n"
         "Tolong segera ditinjau."),
        ("Drainase tersumbat", "Parit di {desa} tersumbat sampah; kalau hujan air masuk rumah warga. Sudah lapor ke desa "
         "tapi “belum ada anggaran” katanya…"),
    ],
    "Pelayanan Publik": [
        ("Pelayanan lambat", "Mengurus surat di kantor kecamatan harus bolak-balik {n} kali; petugas sering tidak di "
         "tempat jam 10 pagi."),
        ("Pungutan tidak resmi", "Ada permintaan uang \"administrasi\" Rp {n}0.000 waktu urus izin usaha di {desa}. "
         "Apakah ini resmi?"),
        ("Antrian panjang di kantor", "Antrian sejak jam 7; nomor antrian habis jam 9. Mohon ditambah loket."),
    ],
    "Kependudukan": [
        ("KTP-el belum jadi", "Saya rekam KTP-el bulan {bulan} tapi sampai sekarang belum jadi, katanya blanko habis."),
        ("Kartu Keluarga salah data", "Nama anak di KK salah tulis; sudah {n} kali ke Disdukcapil belum diperbaiki."),
        ("Akta kelahiran", "Mohon info syarat akta kelahiran untuk anak yang lahir di {desa}; petugas desa tidak tahu."),
    ],
    "Lingkungan": [
        ("Sampah menumpuk", "Sampah di dekat {tempat} ({desa}) tidak diangkut {n} minggu, bau dan banyak lalat."),
        ("Limbah sawit ke sungai", "Air sungai di {desa} hitam dan berbau sejak {bulan}; diduga limbah pabrik sawit."),
        ("Banjir", "Banjir lagi di {desa} setinggi lutut; warga minta normalisasi sungai."),
    ],
    "Kesehatan": [
        ("Obat kosong di puskesmas", "Obat untuk darah tinggi kosong di puskesmas, disuruh beli di apotek luar."),
        ("Pustu tutup", "Pustu di {desa} tutup sejak {bulan}, bidan jarang datang. Warga harus ke kota {n}0 km."),
        ("Layanan BPJS ditolak", "Kartu BPJS ibu saya ditolak di puskesmas; katanya tidak aktif padahal dibayar."),
    ],
    "Bansos": [
        ("BLT tidak tepat sasaran", "Penerima BLT di {desa} banyak yang mampu; tetangga saya janda lansia tidak dapat."),
        ("PKH tidak cair", "Bantuan PKH tahap {n} belum cair sampai sekarang; pendamping tidak bisa dihubungi."),
        ("Sembako dipotong", "Paket sembako yang diterima tidak sesuai; beras kurang {n} kg."),
    ],
    "Pendidikan": [
        ("Guru jarang masuk", "Guru kelas {n} di SD dekat {tempat} jarang masuk; anak-anak pulang cepat."),
        ("Pungutan sekolah", "Sekolah meminta uang seragam dan buku Rp {n}00.000; apakah boleh?"),
        ("PIP belum diterima", "Dana PIP anak saya belum masuk rekening sejak {bulan}."),
    ],
    "Lainnya": [
        ("Pertanyaan umum", "Mohon info jadwal pasar murah di {desa} bulan {bulan}."),
        ("Sinyal internet", "Di {desa} tidak ada sinyal sama sekali; anak sekolah susah belajar daring."),
        ("Anjing liar", "Banyak anjing liar di sekitar {tempat}, sudah {n} orang digigit."),
    ],
}
_PENUTUP = ["", "", " Terima kasih.", " Mohon segera ditindaklanjuti.", " Terima kasih 🙏", " Tolong dibantu pak 🙏🙏",
            " Salam; warga {desa}."]


@dataclass
class Ticket:
    """One complaint and its truth (what the reporter meant, for tests to reconcile against)."""

    nomor_tiket: str
    reported_at: dt.datetime
    kategori: str  # the real category
    kategori_typed: str  # as the export writes it
    kode_kecamatan: str  # the real Kemendagri kecamatan
    kecamatan_typed: str
    desa_typed: str
    resolvable: bool  # the typed kecamatan names a kecamatan of Paser
    judul: str
    isi_laporan: str
    nama_pelapor: str
    nik_pelapor: str
    events: list[tuple[str, dt.datetime]]  # (status, when), oldest first
    nik_in_text: str | None = None  # which NIK spelling the text holds: digits, spaces, dots
    phone_in_text: bool = False
    formula_in_text: bool = False

    def state_at(self, moment: dt.datetime) -> tuple[str, dt.datetime]:
        """(status, updated_at) as an export taken at `moment` shows the ticket."""
        current = self.events[0]
        for event in self.events:
            if event[1] <= moment:
                current = event
        return current


@dataclass
class Export:
    date: dt.date
    rows: list[dict[str, str]] = field(default_factory=list)  # in file order, values as written

    @property
    def file_name(self) -> str:
        return f"pengaduan_{self.date:%Y%m%d}.csv"


@dataclass
class Complaints:
    tickets: list[Ticket]
    exports: list[Export]


def _desa_by_kecamatan() -> dict[str, list[str]]:
    """Kemendagri desa/kelurahan names per kecamatan code, from the reference seed."""
    names: dict[str, list[str]] = {}
    with (REPO_ROOT / "seeds" / "reference" / "paser_desa_kelurahan_kemendagri.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names.setdefault(row["kode_kecamatan"], []).append(row["nama"])
    return names


def _nik(rng: random.Random, kode_kecamatan: str) -> str:
    """A NIK-shaped number: 6401, the kecamatan, birth date (day + 40 for women), a serial."""
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    birth_year = rng.randint(1950, 2006) % 100
    return f"6401{kode_kecamatan[-2:]}{day:02d}{rng.randint(1, 12):02d}{birth_year:02d}{rng.randint(1, 999):04d}"


def _spell_nik(nik: str, spelling: str) -> str:
    groups = [nik[i:i + 4] for i in range(0, 16, 4)]
    return {"digits": nik, "spaces": " ".join(groups), "dots": ".".join(groups)}[spelling]


def _phone(rng: random.Random) -> str:
    digits = f"8{rng.choice(['11', '12', '13', '21', '22', '52', '53', '57'])}{rng.randint(10_000_000, 99_999_999)}"
    return rng.choice([f"0{digits[:3]}-{digits[3:7]}-{digits[7:]}", f"0{digits}", f"+62 {digits[:3]} {digits[3:7]} {digits[7:]}"])


def _pick(rng: random.Random, count: int, rate: float, minimum: int = 0) -> set[int]:
    """Exactly round(count * rate) (at least `minimum`) distinct indices: rates are exact, not luck."""
    k = min(count, max(minimum, round(count * rate)))
    return set(rng.sample(range(count), k))


def generate(*, scale: float = 1.0, seed: int = 20261128) -> Complaints:
    """The tickets and the exports Diskominfo would make of them, deterministic for (scale, seed)."""
    rng = random.Random(f"pengaduan:{seed}:{scale}")
    desa = _desa_by_kecamatan()
    last_day = EXPORT_DATES[-1]
    days = (last_day - FIRST_DAY).days + 1
    count = max(1, round(COMPLAINTS_PER_YEAR * scale * days / 365))
    moments = sorted(
        dt.datetime.combine(FIRST_DAY + dt.timedelta(days=rng.randrange(days)), dt.time())
        + dt.timedelta(seconds=rng.randint(6 * 3600, 23 * 3600))
        for _ in range(count)
    )
    with_nik = sorted(_pick(rng, count, NIK_RATE))
    nik_spelling = {index: ("digits", "spaces", "dots")[n % 3] for n, index in enumerate(with_nik)}
    with_phone = _pick(rng, count, PHONE_RATE) - set(with_nik)
    with_formula = _pick(rng, count, FORMULA_RATE, FORMULA_MIN)
    unresolvable = _pick(rng, count, UNRESOLVABLE_RATE)
    kategori_variant = _pick(rng, count, KATEGORI_VARIANT_RATE)
    kecamatan_codes, kecamatan_weights = zip(*KECAMATAN_WEIGHTS.items(), strict=True)
    kategori_names, kategori_weights = zip(*KATEGORI_WEIGHTS.items(), strict=True)

    tickets = []
    serial: dict[int, int] = {}
    for index, reported_at in enumerate(moments):
        serial[reported_at.year] = serial.get(reported_at.year, 0) + 1
        kode = rng.choices(kecamatan_codes, kecamatan_weights)[0]
        kategori = rng.choices(kategori_names, kategori_weights)[0]
        nama_desa = rng.choice(desa[kode])
        typed = rng.choice(UNRESOLVABLE_KECAMATAN) if index in unresolvable else rng.choice(KECAMATAN_SPELLINGS[kode])
        slots = {"desa": nama_desa, "tempat": rng.choice(_TEMPAT), "bulan": rng.choice(_BULAN), "n": rng.randint(2, 9)}
        judul_template, isi_template = rng.choice(_TEMPLATES[kategori])
        isi = isi_template.format(**slots) + rng.choice(_PENUTUP).format(**slots)
        anonymous = rng.random() < ANONYMOUS_RATE
        nik = "" if anonymous or rng.random() < NO_NIK_RATE else _nik(rng, kode)
        ticket = Ticket(
            nomor_tiket=f"LAPOR-{reported_at.year}-{serial[reported_at.year]:06d}",
            reported_at=reported_at,
            kategori=kategori,
            kategori_typed=rng.choice(KATEGORI_VARIANTS[kategori]) if index in kategori_variant else kategori,
            kode_kecamatan=kode,
            kecamatan_typed=typed,
            # Desa: often left empty; else as typed, sometimes with a prefix or in capitals.
            desa_typed=rng.choice(["", "", nama_desa, nama_desa, nama_desa.upper(), f"Desa {nama_desa}", nama_desa.lower()]),
            resolvable=index not in unresolvable,
            judul=judul_template.format(**slots),
            isi_laporan=isi,
            nama_pelapor="Anonim" if anonymous else f"{rng.choice(_NAMA_DEPAN)} {rng.choice(_NAMA_BELAKANG)}".strip(),
            nik_pelapor=nik,
            events=_lifecycle(rng, reported_at),
        )
        if index in nik_spelling:
            ticket.nik_in_text = nik_spelling[index]
            shown = _spell_nik(nik or _nik(rng, kode), nik_spelling[index])
            ticket.isi_laporan += rng.choice([f" NIK saya {shown}.", f"\nNIK: {shown}", f" (nik {shown})"])
        if index in with_phone:
            ticket.phone_in_text = True
            ticket.isi_laporan += rng.choice([" Hubungi saya di ", " WA ", "\nNo HP: "]) + _phone(rng)
        if index in with_formula:
            ticket.formula_in_text = True
            ticket.isi_laporan = f'=HYPERLINK("https://bit.ly/lapor{rng.randint(1000, 9999)}";"Lihat foto") {ticket.isi_laporan}'
        tickets.append(ticket)
    exports = [_export(rng, tickets, day) for day in EXPORT_DATES]
    return Complaints(tickets, exports)


def _lifecycle(rng: random.Random, reported_at: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Diterima at once; most tickets are taken up within days and resolved within weeks."""
    events = [("Diterima", reported_at)]
    if rng.random() < 0.9:
        taken_up = reported_at + dt.timedelta(hours=rng.expovariate(1 / 72) + 1)
        events.append(("Diproses", taken_up))
        if rng.random() < 0.85:
            events.append(("Selesai", taken_up + dt.timedelta(hours=rng.expovariate(1 / 480) + 2)))
    return [(status, moment.replace(microsecond=0)) for status, moment in events]


def _export(rng: random.Random, tickets: list[Ticket], day: dt.date) -> Export:
    """The export taken at the end of `day`: every ticket reported by then, newest first, with its quirks."""
    moment = dt.datetime.combine(day, dt.time(23, 59, 59))
    included = [ticket for ticket in tickets if ticket.reported_at <= moment]
    rows: list[dict[str, str]] = []
    history = _pick(rng, len(included), HISTORY_ROW_RATE)
    conflicts = _pick(rng, len(included), CONFLICT_RATE)
    for index, ticket in enumerate(reversed(included)):
        status, updated_at = ticket.state_at(moment)
        row = _row(ticket, status, updated_at)
        rows.append(row)
        if index in history and status != "Diterima":
            rows.append(_row(ticket, *ticket.events[0]))
        if index in conflicts and ticket.resolvable:
            # An admin retyped the location without touching Terakhir Diperbarui: same key, other values.
            others = [s for s in KECAMATAN_SPELLINGS[ticket.kode_kecamatan] if s != ticket.kecamatan_typed]
            rows.append({**row, "kecamatan": rng.choice(others)})
    for index in sorted(_pick(rng, len(rows), IDENTICAL_REPEAT_RATE), reverse=True):
        # Overlapping pages: a row comes again a few lines further down.
        rows.insert(min(len(rows), index + rng.randint(1, 40)), dict(rows[index]))
    return Export(day, rows)


def _row(ticket: Ticket, status: str, updated_at: dt.datetime) -> dict[str, str]:
    return {
        "nomor_tiket": ticket.nomor_tiket,
        "tanggal_laporan": f"{ticket.reported_at:%d/%m/%Y}",
        "kategori": ticket.kategori_typed,
        "kecamatan": ticket.kecamatan_typed,
        "desa": ticket.desa_typed,
        "judul": ticket.judul,
        "isi_laporan": ticket.isi_laporan,
        "nama_pelapor": ticket.nama_pelapor,
        "nik_pelapor": ticket.nik_pelapor,
        "status": status,
        "updated_at": f"{updated_at:%d/%m/%Y %H:%M:%S}",
    }


def export_bytes(export: Export) -> bytes:
    """The export file as the system writes it: header, `;`, quotes where needed, CRLF, Windows-1252."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=DELIMITER, quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADERS.values())
    for row in export.rows:
        writer.writerow([row[key] for key in HEADERS])
    # Characters Windows-1252 lacks (emoji) become '?', as the real export does.
    return buffer.getvalue().encode(ENCODING, errors="replace")


def write_exports(folder: Path, complaints: Complaints) -> list[Path]:
    """Write each export as `pengaduan_<yyyymmdd>.csv` (atomically; unchanged files are left alone)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for export in complaints.exports:
        path = folder / export.file_name
        content = export_bytes(export)
        if not (path.is_file() and path.read_bytes() == content):
            tmp = folder / f".{export.file_name}.tmp-{os.getpid()}"
            tmp.write_bytes(content)
            os.replace(tmp, path)
        # The export's own date as mtime: the file kind reads drops oldest first, so the latest
        # export becomes the latest batch whatever order the files were written in.
        stamp = dt.datetime.combine(export.date, dt.time(23, 59, 59)).timestamp()
        if path.stat().st_mtime != stamp:
            os.utime(path, (stamp, stamp))
        paths.append(path)
    return paths


def write_demo(zones: Zones, *, scale: float = 1.0, seed: int = 20261128) -> dict[str, str]:
    """Drop the demo exports into `drop/diskominfo/`; a file drop needs no connection, so no environment."""
    paths = write_exports(zones.drop(AGENCY), generate(scale=scale, seed=seed))
    log.info("diskominfo: %d complaint export(s) in %s", len(paths), zones.drop(AGENCY))
    return {}
