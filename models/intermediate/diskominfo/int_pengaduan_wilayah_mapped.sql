-- Complaints with the Kemendagri kecamatan their reporter meant. The kecamatan is typed by the
-- reporter (any case, "Kec." prefixes, BPS spellings, "Longikis"): it is matched by name through
-- conform_wilayah() at kecamatan level. A location that names no kecamatan of Paser keeps its row,
-- with is_wilayah_unmapped true: the mart leaves it out and rpt_wilayah_tidak_terpetakan reports it.
-- The free text (judul, isi_laporan, the typed desa and kecamatan) stays in staging: the typed
-- kecamatan is used for the match and dropped after it.
with

pengaduan as (
    select
        ---------- ids
        nomor_tiket,
        nik_pseudonim,
        kunci_pseudonim_id,

        ---------- strings
        kategori,
        status,
        nama_kecamatan_pelapor,

        ---------- numerics
        tahun_laporan,

        ---------- booleans
        is_tanpa_nik,
        is_isi_memuat_nik,
        is_isi_memuat_telepon,
        is_isi_berformula,

        ---------- dates
        tanggal_laporan,

        ---------- timestamps
        diperbarui_pada,

        ---------- meta
        _batch_id,
        _source_file,
        _source_row
    from {{ ref('stg_diskominfo__pengaduan') }}
),

mapped as (
    {{ conform_wilayah(relation='pengaduan', name_column='nama_kecamatan_pelapor', level='kecamatan') }}
),

final as (
    select * exclude (nama_kecamatan_pelapor)
    from mapped
)

select * from final
