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
-- A table: conform_wilayah() joins it several times in every mapped model.
{{ config(materialized='table') }}
{# (jenis_alias, metode, column) per source of aliases: codes first, then names. #}
{% set desa_aliases = [
    ('kode', 'kode_kemendagri', 'kode_kemendagri'),
    ('kode', 'kode_bps', 'kode_bps_bridging_2024'),
    ('kode', 'kode_kpu', 'id_desa_kpu_2024'),
    ('nama', 'nama', 'nama_kemendagri_2025'),
    ('nama', 'nama', 'nama_bps_mfd2018'),
    ('nama', 'nama', 'nama_dagri_bps_bridging_2024'),
    ('nama', 'nama', 'nama_kpu_2024'),
] %}
{% set kecamatan_aliases = [
    ('kode', 'kode_kemendagri', 'kode_kemendagri'),
    ('kode', 'kode_bps', 'kode_bps_bridging_2024'),
    ('kode', 'kode_bps', 'kode_bps_bridging_2020s2'),
    ('kode', 'kode_kpu', 'id_kecamatan_kpu_2024'),
    ('kode', 'kode_kemdikbud', 'kode_kec_kemdikbud_2019'),
    ('nama', 'nama', 'nama_kemendagri_2025'),
    ('nama', 'nama', 'nama_bps_mfd2018'),
] %}

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
    {% for jenis, metode, column in desa_aliases %}
    union all
    select
        'desa' as level,
        '{{ jenis }}' as jenis_alias,
        '{{ metode }}' as metode,
        {% if jenis == 'kode' -%}
        {{ wilayah_code_key('desa_crosswalk.' ~ column) }} as alias,
        {%- else -%}
        {{ wilayah_name_key('desa_crosswalk.' ~ column) }} as alias,
        {%- endif %}
        desa_crosswalk.kode_kemendagri as kode_desa,
        left(desa_crosswalk.kode_kemendagri, 8) as kode_kecamatan
    from desa_crosswalk
    {% endfor %}
    union all
    select
        'desa' as level,
        'nama' as jenis_alias,
        'nama' as metode,
        {{ wilayah_name_key('known_spellings.ejaan') }} as alias,
        known_spellings.kode_kemendagri as kode_desa,
        left(known_spellings.kode_kemendagri, 8) as kode_kecamatan
    from known_spellings
    where known_spellings.level = 'desa'
),

kecamatan_candidates as (
    select
        'kecamatan' as level,
        'kode_titik' as jenis_alias,
        'kode_kemendagri' as metode,
        kecamatan_crosswalk.kode_kemendagri as alias,
        cast(null as varchar) as kode_desa,
        kecamatan_crosswalk.kode_kemendagri as kode_kecamatan
    from kecamatan_crosswalk
    {% for jenis, metode, column in kecamatan_aliases %}
    union all
    select
        'kecamatan' as level,
        '{{ jenis }}' as jenis_alias,
        '{{ metode }}' as metode,
        {% if jenis == 'kode' -%}
        {{ wilayah_code_key('kecamatan_crosswalk.' ~ column) }} as alias,
        {%- else -%}
        {{ wilayah_name_key('kecamatan_crosswalk.' ~ column) }} as alias,
        {%- endif %}
        cast(null as varchar) as kode_desa,
        kecamatan_crosswalk.kode_kemendagri as kode_kecamatan
    from kecamatan_crosswalk
    {% endfor %}
    union all
    select
        'kecamatan' as level,
        'nama' as jenis_alias,
        'nama' as metode,
        {{ wilayah_name_key('bridging.nama_dagri_per_bps') }} as alias,
        cast(null as varchar) as kode_desa,
        bridging.kode_kemendagri as kode_kecamatan
    from bridging
    where bridging.level = 'kecamatan'
    union all
    select
        'kecamatan' as level,
        'nama' as jenis_alias,
        'nama' as metode,
        {{ wilayah_name_key('known_spellings.ejaan') }} as alias,
        cast(null as varchar) as kode_desa,
        known_spellings.kode_kemendagri as kode_kecamatan
    from known_spellings
    where known_spellings.level = 'kecamatan'
),

scoped as (
    -- Desa names within their kecamatan; everything else is unscoped.
    select
        desa_candidates.*,
        desa_candidates.kode_kecamatan as scope
    from desa_candidates
    where desa_candidates.jenis_alias = 'nama'
    union all
    select
        desa_candidates.*,
        '*' as scope
    from desa_candidates
    union all
    select
        kecamatan_candidates.*,
        '*' as scope
    from kecamatan_candidates
),

distinct_aliases as (
    select distinct
        level,
        jenis_alias,
        alias,
        scope,
        metode,
        kode_desa,
        kode_kecamatan
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
