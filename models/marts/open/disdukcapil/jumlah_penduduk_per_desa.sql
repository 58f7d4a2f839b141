-- Open data, Satu Data style (long/tidy): living residents per desa/kelurahan, sex and five-year age
-- group on the reference date. Only combinations that have people are listed (no zero rows).
-- Residents whose desa cannot be conformed are not put in any desa: they are left out here and
-- reported by rpt_wilayah_tidak_terpetakan, so this table plus the unmapped living residents is the
-- registry's living population (tests/warehouse/test_disdukcapil_models.py checks it).
-- Counts of people: the privacy gate suppresses small cells at publication (catalog small_cells).
{{
    config(
        location=var('marts_dir') ~ '/jumlah_penduduk_per_desa.parquet',
        format='parquet',
    )
}}

with

penduduk as (
    select * from {{ ref('int_penduduk_hidup') }}
    where not is_wilayah_unmapped
),

desa as (
    select * from {{ ref('dim_wilayah') }}
    where level = 'desa_kelurahan'
),

counted as (
    select
        kode_desa,
        jenis_kelamin,
        kelompok_umur,
        count(*) as jumlah_penduduk
    from penduduk
    group by kode_desa, jenis_kelamin, kelompok_umur
),

final as (
    select
        {{ satu_data_wilayah_header('desa') }},
        cast(desa.kode_kecamatan as varchar) as kode_kecamatan,
        cast(desa.nama_kecamatan as varchar) as nama_kecamatan,
        cast(counted.kode_desa as varchar) as kode_desa,
        cast(desa.nama as varchar) as nama_desa,
        cast(case counted.jenis_kelamin when 'L' then 'Laki-laki' when 'P' then 'Perempuan' end as varchar)
            as jenis_kelamin,
        cast(counted.kelompok_umur as varchar) as kelompok_umur,
        cast(counted.jumlah_penduduk as bigint) as jumlah_penduduk,
        cast('jiwa' as varchar) as satuan,
        cast(year(cast('{{ var("tanggal_referensi") }}' as date)) as integer) as tahun
    from counted
    inner join desa
        on counted.kode_desa = desa.kode_kemendagri
)

select * from final
order by kode_desa, jenis_kelamin, kelompok_umur
