-- One row per child (NIK) in the latest version of its register record: the register is a change
-- feed, a corrected record arrives again with a newer updated_at. The NIK becomes a keyed pseudonym,
-- and the name and exact birth date stop here: only ages on var('tanggal_referensi') and the birth
-- year go on. The desa stays as the puskesmas typed it; int_balita_wilayah_mapped conforms it.
-- A table, not a view: the pseudonym is computed once, at build time, and nothing that reads this
-- model (or a view over it) needs the pseudonym key.
{{ config(materialized='table') }}
with

source as (
    select raw_batches.*
    from {{ source('raw_dinkes', 'balita') }} as raw_batches
    qualify row_number() over (
        partition by raw_batches.nik
        order by raw_batches.updated_at desc, raw_batches._batch_id desc, raw_batches._source_row desc
    ) = 1
),

renamed as (
    select
        ---------- ids
        satudata_pseudonym(nik) as nik_pseudonim,
        satudata_pseudonym_key_id() as kunci_pseudonim_id,
        kode_puskesmas,
        desa as desa_asli,

        ---------- strings
        jenis_kelamin,

        ---------- numerics
        cast(date_sub('month', tanggal_lahir, cast('{{ var("tanggal_referensi") }}' as date)) as integer) as umur_bulan,
        cast(date_sub('year', tanggal_lahir, cast('{{ var("tanggal_referensi") }}' as date)) as integer) as umur_tahun,
        cast(year(tanggal_lahir) as integer) as tahun_lahir,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file
    from source
)

select * from renamed
