-- One row per puskesmas from the latest complete run: the list is a snapshot dataset (no cursor), so
-- each run (one batch, or several for a list of many pages) is the whole list. Names and service notes
-- stay as Dinkes typed them.
with

source as (
    select raw_batches.*
    from {{ source('raw_dinkes', 'puskesmas') }} as raw_batches
    -- The latest run: a snapshot may come in several batches (an API's pages, a CKAN resource over 100,000
    -- rows), committed as <run id>.<part>; the build reads only complete runs (ingestion/ledger.py, "Runs").
    where split_part(raw_batches._batch_id, '.', 1) = (
        select max(split_part(all_batches._batch_id, '.', 1)) as latest_run_id
        from {{ source('raw_dinkes', 'puskesmas') }} as all_batches
    )
),

renamed as (
    select
        ---------- ids
        kode_puskesmas,
        kode_kecamatan as kode_kecamatan_asli,

        ---------- strings
        nama_puskesmas,
        keterangan,

        ---------- numerics
        cast(lintang as double) as lintang,
        cast(bujur as double) as bujur,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file
    from source
)

select * from renamed
