-- One row per growth measurement (id_pengukuran) in its latest version: a measurement first entered
-- wrongly (a slipped decimal point) and corrected later arrives again with a newer updated_at, and
-- only the correction is kept. A measurement entered twice under two ids stays two rows here;
-- int_balita_pengukuran_terakhir keeps one per child. The NIK becomes a pseudonym.
-- A table, not a view: the pseudonym is computed once, at build time, and nothing that reads this
-- model (or a view over it) needs the pseudonym key.
{{ config(materialized='table') }}
with

source as (
    select raw_batches.*
    from {{ source('raw_dinkes', 'pengukuran') }} as raw_batches
    qualify row_number() over (
        partition by raw_batches.id_pengukuran
        order by raw_batches.updated_at desc, raw_batches._batch_id desc, raw_batches._source_row desc
    ) = 1
),

renamed as (
    select
        ---------- ids
        id_pengukuran,
        satudata_pseudonym(nik) as nik_pseudonim,
        satudata_pseudonym_key_id() as kunci_pseudonim_id,
        kode_puskesmas,

        ---------- strings
        bulan_pengukuran,
        status_tb_u,

        ---------- numerics
        cast(umur_bulan as integer) as umur_bulan,
        cast(berat_badan as double) as berat_badan,
        cast(tinggi_badan as double) as tinggi_badan,

        ---------- booleans
        status_tb_u in ('pendek', 'sangat pendek') as is_stunting,

        ---------- dates
        tanggal_ukur,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file
    from source
)

select * from renamed
