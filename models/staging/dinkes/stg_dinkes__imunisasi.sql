-- One row per immunisation record (id_imunisasi) in its latest version. Records served twice,
-- identical, were already loaded once by ingestion; a record entered twice under two ids stays two
-- rows here (int_balita_imunisasi_dasar counts antigens, not records). The NIK becomes a pseudonym.
-- A table, not a view: the pseudonym is computed once, at build time, and nothing that reads this
-- model (or a view over it) needs the pseudonym key.
{{ config(materialized='table') }}
with

source as (
    select raw_batches.*
    from {{ source('raw_dinkes', 'imunisasi') }} as raw_batches
    qualify row_number() over (
        partition by raw_batches.id_imunisasi
        order by raw_batches.updated_at desc, raw_batches._batch_id desc, raw_batches._source_row desc
    ) = 1
),

renamed as (
    select
        ---------- ids
        id_imunisasi,
        satudata_pseudonym(nik) as nik_pseudonim,
        satudata_pseudonym_key_id() as kunci_pseudonim_id,
        kode_puskesmas,

        ---------- strings
        jenis_imunisasi,

        ---------- dates
        tanggal_imunisasi,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file
    from source
)

select * from renamed
