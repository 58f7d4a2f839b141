-- One row per school from the latest committed batch: the school list is a snapshot dataset
-- (no cursor in the catalog), so each batch is the whole list and older batches are history.
with

source as (
    select raw_batches.*
    from {{ source('raw_disdik', 'sekolah') }} as raw_batches
    where raw_batches._batch_id = (
        select max(all_batches._batch_id) as latest_batch_id
        from {{ source('raw_disdik', 'sekolah') }} as all_batches
    )
),

renamed as (
    select
        ---------- ids
        npsn,
        kode_kecamatan_kemdikbud,

        ---------- strings
        nama_sekolah,
        jenjang,
        status_sekolah,
        nama_kecamatan as nama_kecamatan_kemdikbud,
        alamat,
        lintang as lintang_teks,
        bujur as bujur_teks,

        ---------- numerics
        try_cast(nullif(trim(lintang), '') as double) as lintang,
        try_cast(nullif(trim(bujur), '') as double) as bujur,
        cast(tahun_data as integer) as tahun_data,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file,
        _source_row
    from source
)

select * from renamed
