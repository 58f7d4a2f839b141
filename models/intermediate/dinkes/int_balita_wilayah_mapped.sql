-- Children of the register with their Kemendagri desa. Puskesmas write the desa three ways (the
-- Kemendagri code, the BPS 10-digit code, or a name in another spelling); conform_wilayah() maps all
-- of them, looking names up first within the kecamatan of the child's puskesmas. Rows nothing
-- resolves are kept with is_wilayah_unmapped true (kode_kecamatan then is the puskesmas'): marts
-- leave them out of the regions and rpt_wilayah_tidak_terpetakan reports them.
-- A table: the conformance joins run once, not again in every test and mart that reads it.
{{ config(materialized='table') }}
with

balita as (
    select * from {{ ref('stg_dinkes__balita') }}
),

puskesmas as (
    select * from {{ ref('stg_dinkes__puskesmas') }}
),

balita_puskesmas as (
    select
        balita.*,
        puskesmas.kode_kecamatan_asli as kode_kecamatan_puskesmas
    from balita
    left join puskesmas
        on balita.kode_puskesmas = puskesmas.kode_puskesmas
),

conformed as (
    {{ conform_wilayah(
        relation='balita_puskesmas',
        code_column='desa_asli',
        kecamatan_name_column='kode_kecamatan_puskesmas',
        level='desa',
    ) }}
),

final as (
    select
        ---------- ids
        nik_pseudonim,
        kunci_pseudonim_id,
        kode_desa,
        kode_kecamatan,
        kode_puskesmas,
        desa_asli,

        ---------- strings
        jenis_kelamin,
        metode_pemetaan,

        ---------- numerics
        umur_bulan,
        umur_tahun,
        tahun_lahir,

        ---------- booleans
        is_wilayah_unmapped,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _source_file
    from conformed
)

select * from final
