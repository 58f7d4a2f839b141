-- One row per Dana Desa report (id) in its latest version. The table is read incrementally on
-- updated_at: a report changed at the source (a stage reported, a figure corrected) arrives again
-- in a later batch with a newer updated_at, and only that newest version is kept here.
-- Desa codes and names stay as the operator wrote them: int_dana_desa_wilayah_mapped conforms them.
with

source as (
    select raw_batches.*
    from {{ source('raw_dpmd', 'dana_desa') }} as raw_batches
    qualify row_number() over (
        partition by raw_batches.id
        order by raw_batches.updated_at desc, raw_batches._batch_id desc
    ) = 1
),

renamed as (
    select
        ---------- ids
        cast(id as bigint) as id_laporan,
        kode_desa as kode_desa_asli,

        ---------- strings
        nama_desa as nama_desa_asli,
        nama_kecamatan as nama_kecamatan_asli,

        ---------- numerics
        cast(tahun_anggaran as integer) as tahun_anggaran,
        -- Rupiah to the cent, exactly as the application keeps them (DECIMAL(16,2)).
        cast(pagu_dana_desa as decimal(16, 2)) as pagu_dana_desa,
        cast(realisasi_tahap_1 as decimal(16, 2)) as realisasi_tahap_1,
        cast(realisasi_tahap_2 as decimal(16, 2)) as realisasi_tahap_2,
        cast(realisasi_tahap_3 as decimal(16, 2)) as realisasi_tahap_3,
        cast(total_realisasi as decimal(16, 2)) as total_realisasi,

        ---------- dates
        tanggal_laporan,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file
    from source
)

select * from renamed
