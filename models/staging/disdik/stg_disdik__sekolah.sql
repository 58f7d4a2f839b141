-- One row per school from the latest complete run: the school list is a snapshot dataset
-- (no cursor in the catalog), so each run (one file: one batch) is the whole list and older runs are history.
with

source as (
    select raw_batches.*
    from {{ source('raw_disdik', 'sekolah') }} as raw_batches
    -- The latest run: a snapshot may come in several batches (an API's pages, a CKAN resource over 100,000
    -- rows), committed as <run id>.<part>; the build reads only complete runs (ingestion/ledger.py, "Runs").
    where split_part(raw_batches._batch_id, '.', 1) = (
        select max(split_part(all_batches._batch_id, '.', 1)) as latest_run_id
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
