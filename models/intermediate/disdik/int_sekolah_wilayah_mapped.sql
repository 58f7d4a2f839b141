-- Schools with their Kemendagri kecamatan. Kemdikbud numbers kecamatan in another order
-- (Muara Samu and Batu Engau are swapped), so the code is mapped through the crosswalk, never
-- by position. A code the crosswalk does not know keeps its row, with kode_kecamatan null and
-- is_kecamatan_unmapped true: it is counted (and fails a test), never silently dropped.
-- The conformance columns every int_<entity>_wilayah_mapped model carries (kode_desa, kode_kecamatan,
-- metode_pemetaan, is_wilayah_unmapped) are here too, for rpt_wilayah_tidak_terpetakan; the
-- crosswalk is used rather than conform_wilayah() because a school's only region is its Kemdikbud code.
with

sekolah as (
    select * from {{ ref('stg_disdik__sekolah') }}
),

kecamatan_crosswalk as (
    select
        kode_kec_kemdikbud_2019 as kode_kecamatan_kemdikbud,
        kode_kemendagri as kode_kecamatan,
        nama_kemendagri_2025 as nama_kecamatan
    from {{ ref('paser_kecamatan_crosswalk') }}
),

mapped as (
    select
        ---------- ids
        sekolah.npsn,
        cast(null as varchar) as kode_desa,
        kecamatan_crosswalk.kode_kecamatan,
        sekolah.kode_kecamatan_kemdikbud,

        ---------- strings
        sekolah.nama_sekolah,
        sekolah.jenjang,
        sekolah.status_sekolah as kode_status_sekolah,
        case sekolah.status_sekolah
            when 'N' then 'Negeri'
            when 'S' then 'Swasta'
        end as status_sekolah,
        kecamatan_crosswalk.nama_kecamatan,
        sekolah.nama_kecamatan_kemdikbud,
        case when kecamatan_crosswalk.kode_kecamatan is not null then 'kode_kemdikbud' end as metode_pemetaan,
        sekolah.alamat,

        ---------- numerics
        sekolah.lintang,
        sekolah.bujur,
        sekolah.tahun_data,

        ---------- booleans
        kecamatan_crosswalk.kode_kecamatan is null as is_kecamatan_unmapped,
        kecamatan_crosswalk.kode_kecamatan is null as is_wilayah_unmapped,

        ---------- meta
        sekolah._batch_id,
        sekolah._source_file,
        sekolah._source_row
    from sekolah
    left join kecamatan_crosswalk
        on sekolah.kode_kecamatan_kemdikbud = kecamatan_crosswalk.kode_kecamatan_kemdikbud
)

select * from mapped
