-- Every way the agencies write a Paser region, mapped to its Kemendagri code: the conformance
-- table behind the macro conform_wilayah(). One row per (level, jenis_alias, alias, scope).
--   jenis_alias = 'kode_titik'  Kemendagri code as written, with dots (unambiguous)
--                 'kode'        digits only: Kemendagri without dots, BPS, KPU, Kemdikbud ids
--                 'nama'        a name key (wilayah_name_key) from the Kemendagri, BPS and KPU editions
--                               and seeds/reference/paser_wilayah_ejaan.csv (known spellings)
-- A digits-only code or a name that points at two different regions (e.g. Kemendagri 6401022007
-- is also the BPS code of another desa) is ambiguous: it is kept here with is_ambiguous = true
-- and never used to map, so such a record stays unmapped (and reported) rather than mapped wrong.
-- Desa names are scoped by kecamatan (scope = kode_kecamatan) and also listed unscoped
-- (scope = '*') for agencies that give no kecamatan.
with

desa_kelurahan as (
    select * from {{ ref('paser_desa_kelurahan_kemendagri') }}
),

desa_crosswalk as (
    select * from {{ ref('paser_desa_crosswalk') }}
),

kecamatan_crosswalk as (
    select * from {{ ref('paser_kecamatan_crosswalk') }}
),

bridging as (
    select * from {{ ref('paser_bridging_bps_kemendagri_2024') }}
),

known_spellings as (
    select * from {{ ref('paser_wilayah_ejaan') }}
),

desa_candidates as (
    select
        'desa' as level,
        'kode_titik' as jenis_alias,
        'kode_kemendagri' as metode,
        desa_kelurahan.kode_kemendagri as alias,
        desa_kelurahan.kode_kemendagri as kode_desa,
        desa_kelurahan.kode_kecamatan
    from desa_kelurahan
    union all
    select 'desa', 'kode', 'kode_kemendagri', {{ wilayah_code_key('kode_kemendagri') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from desa_crosswalk
    union all
    select 'desa', 'kode', 'kode_bps', {{ wilayah_code_key('kode_bps_bridging_2024') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from desa_crosswalk
    union all
    select 'desa', 'kode', 'kode_kpu', {{ wilayah_code_key('id_desa_kpu_2024') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from desa_crosswalk
    union all
    select 'desa', 'nama', 'nama', {{ wilayah_name_key('nama_kemendagri_2025') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from desa_crosswalk
    union all
    select 'desa', 'nama', 'nama', {{ wilayah_name_key('nama_bps_mfd2018') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from desa_crosswalk
    union all
    select 'desa', 'nama', 'nama', {{ wilayah_name_key('nama_dagri_bps_bridging_2024') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from desa_crosswalk
    union all
    select 'desa', 'nama', 'nama', {{ wilayah_name_key('nama_kpu_2024') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from desa_crosswalk
    union all
    select 'desa', 'nama', 'nama', {{ wilayah_name_key('ejaan') }}, kode_kemendagri,
        left(kode_kemendagri, 8)
    from known_spellings
    where level = 'desa'
),

kecamatan_candidates as (
    select
        'kecamatan' as level,
        'kode_titik' as jenis_alias,
        'kode_kemendagri' as metode,
        kode_kemendagri as alias,
        cast(null as varchar) as kode_desa,
        kode_kemendagri as kode_kecamatan
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'kode', 'kode_kemendagri', {{ wilayah_code_key('kode_kemendagri') }}, null, kode_kemendagri
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'kode', 'kode_bps', {{ wilayah_code_key('kode_bps_bridging_2024') }}, null, kode_kemendagri
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'kode', 'kode_bps', {{ wilayah_code_key('kode_bps_bridging_2020s2') }}, null, kode_kemendagri
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'kode', 'kode_kpu', {{ wilayah_code_key('id_kecamatan_kpu_2024') }}, null, kode_kemendagri
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'kode', 'kode_kemdikbud', {{ wilayah_code_key('kode_kec_kemdikbud_2019') }}, null, kode_kemendagri
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'nama', 'nama', {{ wilayah_name_key('nama_kemendagri_2025') }}, null, kode_kemendagri
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'nama', 'nama', {{ wilayah_name_key('nama_bps_mfd2018') }}, null, kode_kemendagri
    from kecamatan_crosswalk
    union all
    select 'kecamatan', 'nama', 'nama', {{ wilayah_name_key('nama_dagri_per_bps') }}, null, kode_kemendagri
    from bridging
    where level = 'kecamatan'
    union all
    select 'kecamatan', 'nama', 'nama', {{ wilayah_name_key('ejaan') }}, null, kode_kemendagri
    from known_spellings
    where level = 'kecamatan'
),

scoped as (
    -- Desa names within their kecamatan; everything else is unscoped.
    select *, kode_kecamatan as scope from desa_candidates
    where jenis_alias = 'nama'
    union all
    select *, '*' as scope from desa_candidates
    union all
    select *, '*' as scope from kecamatan_candidates
),

distinct_aliases as (
    select distinct level, jenis_alias, alias, scope, metode, kode_desa, kode_kecamatan
    from scoped
    where alias is not null
),

final as (
    select
        level,
        jenis_alias,
        alias,
        scope,
        -- The first method that names this region (codes before names), for the report.
        min(metode) as metode,
        min(kode_desa) as kode_desa,
        min(kode_kecamatan) as kode_kecamatan,
        count(distinct coalesce(kode_desa, kode_kecamatan)) > 1 as is_ambiguous
    from distinct_aliases
    group by level, jenis_alias, alias, scope
)

select * from final
order by level, jenis_alias, alias, scope
