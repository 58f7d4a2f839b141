-- One row per resident (NIK) in the latest version of the registry record: the SIAK table is read
-- incrementally on diubah_pada, so a birth, death, move or correction arrives again in a later batch
-- with a newer diubah_pada, and only the newest version is kept here.
-- Privacy at the door: NIK and KK become keyed pseudonyms; the name and the exact birth date stop
-- here (only ages on var('tanggal_referensi') and the birth year go on). A resident born after the
-- reference date (a birth registered since) counts as age 0, so the population still adds up.
-- The desa stays as stored (a code in some scheme, or a name); int_penduduk_wilayah_mapped conforms it.
-- A table, not a view: the pseudonym is computed once, at build time, and nothing that reads this
-- model needs the pseudonym key.
-- Incremental: a build that extends the previous one (warehouse/build.py copies it) reads only the
-- residents the batches committed since carry, and replaces them (delete+insert on the pseudonym).
{{
    config(
        materialized='incremental',
        unique_key='nik_pseudonim',
        incremental_strategy='delete+insert',
    )
}}
with

source as (
    select raw_batches.*
    from {{ source('raw_disdukcapil', 'penduduk') }} as raw_batches
    {% if is_incremental() -%}
    -- Only residents with a record in a batch newer than the build, but all their versions: a stale
    -- copy in a late batch must still lose to the newer version an earlier batch brought.
    where
        raw_batches.nik in (
            select changed.nik
            from {{ source('raw_disdukcapil', 'penduduk') }} as changed
            where changed._batch_id > (select max(built._batch_id) as latest_batch_id from {{ this }} as built)
        )
    {%- endif %}
    qualify row_number() over (
        partition by raw_batches.nik
        order by raw_batches.diubah_pada desc, raw_batches._batch_id desc
    ) = 1
),

renamed as (
    select
        ---------- ids
        satudata_pseudonym(nik) as nik_pseudonim,
        satudata_pseudonym(no_kk) as kk_pseudonim,
        satudata_pseudonym_key_id() as kunci_pseudonim_id,
        trim(kode_desa) as kode_desa_asli,

        ---------- strings
        jenis_kelamin,
        agama,
        pendidikan,
        pekerjaan,
        status_kawin,
        hubungan_keluarga,
        status,

        ---------- numerics
        greatest(
            cast(date_sub('year', tanggal_lahir, cast('{{ var("tanggal_referensi") }}' as date)) as integer), 0
        ) as umur_tahun,
        greatest(
            cast(date_sub('month', tanggal_lahir, cast('{{ var("tanggal_referensi") }}' as date)) as integer), 0
        ) as umur_bulan,
        cast(year(tanggal_lahir) as integer) as tahun_lahir,

        ---------- booleans
        status = 'HIDUP' as is_hidup,

        ---------- timestamps
        diubah_pada,

        ---------- meta
        _batch_id,
        _loaded_at,
        -- When this build wrote the row (the build's start): unique_in_build checks the rows written now.
        cast('{{ run_started_at }}' as timestamptz) as _dibangun_pada
    from source
),

final as (
    select
        *,
        -- Five-year age groups as BPS publishes them, open-ended from 75.
        case
            when umur_tahun >= 75 then '75+'
            else
                lpad(cast(umur_tahun // 5 * 5 as varchar), 2, '0')
                || '-'
                || lpad(cast(umur_tahun // 5 * 5 + 4 as varchar), 2, '0')
        end as kelompok_umur
    from renamed
)

select * from final
