-- Enrolment per school and school year, placed in the kecamatan of its school. The region comes
-- from the school list (int_sekolah_wilayah_mapped, by NPSN): an NPSN the list does not know (a
-- school opened after the list was made) keeps its row with no kecamatan and is_wilayah_unmapped
-- true. Marts leave such rows out of every kecamatan and rpt_wilayah_tidak_terpetakan counts them.
with

peserta_didik as (
    select * from {{ ref('stg_disdik__peserta_didik') }}
),

sekolah as (
    select * from {{ ref('int_sekolah_wilayah_mapped') }}
),

mapped as (
    select
        ---------- ids
        peserta_didik.npsn,
        cast(null as varchar) as kode_desa,
        sekolah.kode_kecamatan,

        ---------- strings
        peserta_didik.nama_sekolah,
        -- The recap's own jenjang: it is there even for a school missing from the list.
        peserta_didik.jenjang,
        peserta_didik.tahun_ajaran,
        case
            when sekolah.npsn is null then 'npsn_tidak_dikenal'
            when sekolah.is_wilayah_unmapped then 'kode_kecamatan_tidak_dikenal'
        end as alasan_tidak_terpetakan,
        sekolah.metode_pemetaan,

        ---------- numerics
        peserta_didik.tahun,
        peserta_didik.jumlah_laki_laki,
        peserta_didik.jumlah_perempuan,
        peserta_didik.jumlah_peserta_didik,

        ---------- booleans
        coalesce(sekolah.is_wilayah_unmapped, true) as is_wilayah_unmapped,
        sekolah.npsn is not null as is_sekolah_terdaftar,

        ---------- meta
        peserta_didik._batch_id,
        peserta_didik._source_file,
        peserta_didik._source_row
    from peserta_didik
    left join sekolah
        on peserta_didik.npsn = sekolah.npsn
)

select * from mapped
