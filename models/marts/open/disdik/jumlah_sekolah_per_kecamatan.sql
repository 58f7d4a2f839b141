-- Open data, Satu Data style (long/tidy): number of schools per kecamatan, jenjang and status.
-- Only combinations that exist are listed (no zero rows): a missing SMK Negeri row in a kecamatan
-- means no such school, and zero-filling every kecamatan x jenjang x status would triple the file
-- with rows that say nothing the absence does not.
{{
    config(
        location=var('marts_dir') ~ '/jumlah_sekolah_per_kecamatan.parquet',
        format='parquet',
    )
}}

with

sekolah as (
    select * from {{ ref('int_sekolah_wilayah_mapped') }}
),

kecamatan as (
    select * from {{ ref('dim_wilayah') }}
    where level = 'kecamatan'
),

counted as (
    -- Unmapped schools are not filtered out: they would group under a null kode_kecamatan and
    -- fail this model's not_null test (and the intermediate model's), so nothing is lost quietly.
    select
        kode_kecamatan,
        jenjang,
        status_sekolah,
        tahun_data,
        count(*) as jumlah_sekolah
    from sekolah
    group by all
),

final as (
    select
        {{ satu_data_wilayah_header('kecamatan') }},
        cast(counted.kode_kecamatan as varchar) as kode_kecamatan,
        cast(kecamatan.nama as varchar) as nama_kecamatan,
        cast(counted.jenjang as varchar) as jenjang,
        cast(counted.status_sekolah as varchar) as status_sekolah,
        cast(counted.jumlah_sekolah as bigint) as jumlah_sekolah,
        cast('sekolah' as varchar) as satuan,
        cast(counted.tahun_data as integer) as tahun
    from counted
    left join kecamatan
        on counted.kode_kecamatan = kecamatan.kode_kemendagri
)

select * from final
order by kode_kecamatan, jenjang, status_sekolah, tahun
