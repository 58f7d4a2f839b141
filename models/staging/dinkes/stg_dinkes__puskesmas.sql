-- One row per puskesmas from the latest committed batch: the list is a snapshot dataset (no cursor),
-- so each batch is the whole list. Names and service notes stay as Dinkes typed them.
with

source as (
    select raw_batches.*
    from {{ source('raw_dinkes', 'puskesmas') }} as raw_batches
    where raw_batches._batch_id = (
        select max(all_batches._batch_id) as latest_batch_id
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
