"""The portal's UI text in Bahasa Indonesia (first) and English.

Only the interface is translated; metadata values (titles, definitions, column explanations, agency
names) are shown exactly as the agency wrote them, in both languages.
"""

from __future__ import annotations

LANGUAGES = ("id", "en")  # the first is the default: portal/index.html; the others live in portal/<lang>/

UI: dict[str, dict[str, str]] = {
    "id": {
        "site": "Satu Data Paser",
        "tagline": "Portal data terbuka Kabupaten Paser",
        "other_language": "English",
        "other_language_code": "en",
        "home": "Beranda",
        "release": "Rilis",
        "created_at": "dibuat",
        "datasets_count": "{n} dataset",
        "by_agency": "Menurut produsen data",
        "by_topic": "Menurut topik",
        "no_topic": "(tanpa topik)",
        "quality_report": "Laporan kualitas data",
        "release_files": "Berkas rilis",
        "dcat": "Katalog DCAT-US (data.json)",
        "datapackage": "Frictionless Data Package (datapackage.json)",
        "offline_note": (
            "Portal ini terdiri atas berkas statis: dapat dibuka langsung dari disk atau flashdisk tanpa internet, "
            "dan tidak memuat skrip maupun sumber dari situs lain."
        ),
        "definition": "Definisi",
        "chart": "Grafik",
        "chart_title": "{value} menurut {by}",
        "chart_year": "tahun {tahun}",
        "chart_desc": "Diagram batang: {n} kategori, nilai terbesar {top} ({top_value}).",
        "chart_none": "Grafik tidak tersedia: data tidak memiliki kolom kategori (nama_*) dan kolom hitungan.",
        "chart_empty": "Grafik tidak tersedia: semua nilai disembunyikan atau kosong.",
        "chart_suppressed": (
            "{n} nilai disembunyikan (sel kecil) tidak dijumlahkan: batang hanya menunjukkan jumlah nilai yang "
            "dipublikasikan, sehingga jumlah sebenarnya bisa lebih besar."
        ),
        "chart_all_suppressed": "Kategori yang seluruh nilainya disembunyikan (tanpa batang): {names}.",
        "chart_top": "Ditampilkan {shown} kategori dengan nilai terbesar dari {total}.",
        "chart_table": "Tabel data grafik",
        "category": "Kategori",
        "value": "Nilai",
        "unknown_category": "(tidak diketahui)",
        "downloads": "Unduh data",
        "format": "Format",
        "file": "Berkas",
        "size": "Ukuran",
        "rows": "Baris",
        "sha256": "SHA-256",
        "metadata_file": "Metadata (JSON)",
        "metadata": "Metadata Satu Data Indonesia",
        "field": "Elemen",
        "columns": "Penjelasan kolom",
        "column": "Kolom",
        "type": "Tipe",
        "explanation": "Penjelasan",
        "no_explanation": "(belum ada penjelasan)",
        "disembunyikan": (
            "Bernilai benar (true) bila nilai hitungan pada baris ini disembunyikan oleh gerbang privasi: "
            "hitungan orang dari 1 sampai {max} tidak dipublikasikan, dan beberapa sel lain ikut disembunyikan "
            "(penyembunyian pelengkap) agar nilainya tidak dapat dihitung ulang dari total baris atau kolom."
        ),
        "suppression_note": (
            "Untuk melindungi privasi, hitungan orang dari 1 sampai {max} disembunyikan (dikosongkan) beserta sel "
            "pelengkap yang diperlukan agar tidak dapat dihitung ulang dari total. Kolom {columns} dapat kosong "
            "karena hal itu."
        ),
        "quality": "Status kualitas",
        "gate": "Pemeriksaan",
        "status": "Status",
        "gate_quality": "Kualitas data (Great Expectations)",
        "gate_metadata": "Kelengkapan metadata Satu Data",
        "gate_privacy": "Privasi (NIK/KK, sel kecil)",
        "pass": "lolos",
        "fail": "gagal",
        "not_checked": "tidak diperiksa",
        "checks_passed": "{passed} dari {total} pemeriksaan lolos pada {rows} baris.",
        "not_assigned": "(belum ditetapkan)",
        "years_none": "(tidak ada)",
        "bytes": "{n} B",
        "kb": "{n} KB",
        "mb": "{n} MB",
        "view_dataset": "Lihat dataset",
        "level": "Tingkat penyajian",
    },
    "en": {
        "site": "Satu Data Paser",
        "tagline": "Open data portal of Paser Regency",
        "other_language": "Bahasa Indonesia",
        "other_language_code": "id",
        "home": "Home",
        "release": "Release",
        "created_at": "created",
        "datasets_count": "{n} datasets",
        "by_agency": "By data producer",
        "by_topic": "By topic",
        "no_topic": "(no topic)",
        "quality_report": "Data quality report",
        "release_files": "Release files",
        "dcat": "DCAT-US catalog (data.json)",
        "datapackage": "Frictionless Data Package (datapackage.json)",
        "offline_note": (
            "This portal is made of static files: it opens straight from a disk or USB stick without internet, "
            "and loads no scripts or resources from other sites."
        ),
        "definition": "Definition",
        "chart": "Chart",
        "chart_title": "{value} by {by}",
        "chart_year": "year {tahun}",
        "chart_desc": "Bar chart: {n} categories, largest value {top} ({top_value}).",
        "chart_none": "No chart: the data has no category column (nama_*) and count column.",
        "chart_empty": "No chart: every value is suppressed or empty.",
        "chart_suppressed": (
            "{n} suppressed values (small cells) are not summed: the bars show the sum of published values "
            "only, so the true totals may be larger."
        ),
        "chart_all_suppressed": "Categories whose values are all suppressed (no bar): {names}.",
        "chart_top": "Showing the {shown} largest of {total} categories.",
        "chart_table": "Chart data table",
        "category": "Category",
        "value": "Value",
        "unknown_category": "(unknown)",
        "downloads": "Download the data",
        "format": "Format",
        "file": "File",
        "size": "Size",
        "rows": "Rows",
        "sha256": "SHA-256",
        "metadata_file": "Metadata (JSON)",
        "metadata": "Satu Data Indonesia metadata",
        "field": "Field",
        "columns": "Column explanations",
        "column": "Column",
        "type": "Type",
        "explanation": "Explanation",
        "no_explanation": "(no explanation yet)",
        "disembunyikan": (
            "True when the counts on this row are suppressed by the privacy gate: counts of 1 to {max} people "
            "are not published, and some other cells are suppressed as well (complementary suppression) so "
            "that no value can be recomputed from row or column totals."
        ),
        "suppression_note": (
            "To protect privacy, counts of 1 to {max} people are suppressed (left empty), together with the "
            "complementary cells needed so that they cannot be recomputed from totals. The columns {columns} "
            "may be empty for that reason."
        ),
        "quality": "Quality status",
        "gate": "Check",
        "status": "Status",
        "gate_quality": "Data quality (Great Expectations)",
        "gate_metadata": "Satu Data metadata complete",
        "gate_privacy": "Privacy (NIK/KK, small cells)",
        "pass": "passed",
        "fail": "failed",
        "not_checked": "not checked",
        "checks_passed": "{passed} of {total} checks passed on {rows} rows.",
        "not_assigned": "(not yet assigned)",
        "years_none": "(none)",
        "bytes": "{n} B",
        "kb": "{n} KB",
        "mb": "{n} MB",
        "view_dataset": "View dataset",
        "level": "Level of presentation",
    },
}

# Labels of the Satu Data metadata fields, in the order the dataset page lists them.
FIELD_LABELS: dict[str, dict[str, str]] = {
    "id": {
        "judul": "Judul",
        "definisi": "Definisi",
        "konsep": "Konsep",
        "kode_daftar_data": "Kode daftar data",
        "kode_standar_data": "Kode standar data",
        "satuan": "Satuan",
        "ukuran": "Ukuran",
        "produsen_data": "Produsen data",
        "walidata": "Walidata",
        "frekuensi": "Frekuensi",
        "akses": "Akses data",
        "tipe_instansi": "Tipe instansi",
        "kode_wilayah": "Kode wilayah",
        "tingkat_penyajian": "Tingkat penyajian",
        "cakupan": "Cakupan",
        "tahun_tersedia": "Tahun tersedia",
        "lisensi": "Lisensi",
        "topik": "Topik",
    },
    "en": {
        "judul": "Title",
        "definisi": "Definition",
        "konsep": "Concept",
        "kode_daftar_data": "Data list code",
        "kode_standar_data": "Data standard code",
        "satuan": "Unit",
        "ukuran": "Measure",
        "produsen_data": "Data producer",
        "walidata": "Data custodian (walidata)",
        "frekuensi": "Frequency",
        "akses": "Data access",
        "tipe_instansi": "Institution type",
        "kode_wilayah": "Region code",
        "tingkat_penyajian": "Level of presentation",
        "cakupan": "Coverage",
        "tahun_tersedia": "Years available",
        "lisensi": "Licence",
        "topik": "Topic",
    },
}
