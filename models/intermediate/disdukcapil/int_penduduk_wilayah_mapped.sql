-- Every resident record (latest version per NIK, every status) with its Kemendagri desa and
-- kecamatan. SIAK stores the desa mostly as the Kemendagri code, sometimes as a BPS code, the
-- Kemendagri code without dots, or a desa name in the BPS/KPU spelling, all in one column:
-- conform_wilayah() reads it as a code and, failing that, as a name. Records no scheme resolves
-- are kept with is_wilayah_unmapped true: the marts leave them out of every desa, and
-- rpt_wilayah_tidak_terpetakan reports them.
-- Incremental like its staging model: only residents whose record changed since the last build are
-- mapped again (a 1 % change maps 1 % of the registry).
{{
    config(
        materialized='incremental',
        unique_key='nik_pseudonim',
        incremental_strategy='delete+insert',
    )
}}
with

penduduk as (
    select staged.*
    from {{ ref('stg_disdukcapil__penduduk') }} as staged
    {% if is_incremental() -%}
    where staged._batch_id > (select max(built._batch_id) as latest_batch_id from {{ this }} as built)
    {%- endif %}
),

conformed as (
    {{ conform_wilayah(relation='penduduk', code_column='kode_desa_asli', level='desa') }}
),

final as (
    select
        ---------- ids
        nik_pseudonim,
        kk_pseudonim,
        kunci_pseudonim_id,
        kode_desa,
        kode_kecamatan,
        kode_desa_asli,

        ---------- strings
        jenis_kelamin,
        kelompok_umur,
        agama,
        pendidikan,
        pekerjaan,
        status_kawin,
        hubungan_keluarga,
        status,
        metode_pemetaan,

        ---------- numerics
        umur_tahun,
        umur_bulan,
        tahun_lahir,

        ---------- booleans
        is_hidup,
        is_wilayah_unmapped,

        ---------- timestamps
        diubah_pada,

        ---------- meta
        _batch_id,
        -- When this build wrote the row (the build's start): unique_in_build checks the rows written now.
        cast('{{ run_started_at }}' as timestamptz) as _dibangun_pada
    from conformed
)

select * from final
