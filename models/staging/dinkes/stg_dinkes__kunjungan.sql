-- One row per puskesmas visit (id_kunjungan) in its latest version. The patient's desa stays as the
-- clerk typed it; int_kunjungan_wilayah_mapped conforms it.
with

source as (
    select raw_batches.*
    from {{ source('raw_dinkes', 'kunjungan') }} as raw_batches
    qualify row_number() over (
        partition by raw_batches.id_kunjungan
        order by raw_batches.updated_at desc, raw_batches._batch_id desc, raw_batches._source_row desc
    ) = 1
),

renamed as (
    select
        ---------- ids
        id_kunjungan,
        kode_puskesmas,
        desa as desa_asli,

        ---------- strings
        poli,
        jenis_kelamin,

        ---------- numerics
        cast(umur_tahun as integer) as umur_tahun,

        ---------- dates
        tanggal_kunjungan,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file
    from source
)

select * from renamed
