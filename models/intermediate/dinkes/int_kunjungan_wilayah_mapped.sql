-- Puskesmas visits with the patient's Kemendagri desa, conformed like int_balita_wilayah_mapped
-- (names looked up first within the kecamatan of the puskesmas visited). Unresolvable desa are kept
-- with is_wilayah_unmapped true.
-- A table: the conformance joins run once, not again in every test and mart that reads it.
{{ config(materialized='table') }}
with

kunjungan as (
    select * from {{ ref('stg_dinkes__kunjungan') }}
),

puskesmas as (
    select * from {{ ref('stg_dinkes__puskesmas') }}
),

kunjungan_puskesmas as (
    select
        kunjungan.*,
        puskesmas.kode_kecamatan_asli as kode_kecamatan_puskesmas
    from kunjungan
    left join puskesmas
        on kunjungan.kode_puskesmas = puskesmas.kode_puskesmas
),

conformed as (
    {{ conform_wilayah(
        relation='kunjungan_puskesmas',
        code_column='desa_asli',
        kecamatan_name_column='kode_kecamatan_puskesmas',
        level='desa',
    ) }}
),

final as (
    select
        ---------- ids
        id_kunjungan,
        kode_desa,
        kode_kecamatan,
        kode_puskesmas,
        desa_asli,

        ---------- strings
        poli,
        jenis_kelamin,
        metode_pemetaan,

        ---------- numerics
        umur_tahun,

        ---------- booleans
        is_wilayah_unmapped,

        ---------- dates
        tanggal_kunjungan,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _source_file
    from conformed
)

select * from final
