-- Open data, Satu Data style: Dana Desa allocation, realisation and realisation rate per desa and
-- budget year, from each desa's latest report. Reports whose desa cannot be resolved are left out
-- here and reported by rpt_wilayah_tidak_terpetakan. Money, not people: nothing to suppress.
{{
    config(
        location=var('marts_dir') ~ '/realisasi_dana_desa_per_desa.parquet',
        format='parquet',
    )
}}

with

dana_desa as (
    select * from {{ ref('int_dana_desa_wilayah_mapped') }}
    where not is_wilayah_unmapped
),

desa as (
    select * from {{ ref('dim_wilayah') }}
    where level = 'desa_kelurahan'
),

final as (
    select
        {{ satu_data_wilayah_header('desa') }},
        cast(desa.kode_kecamatan as varchar) as kode_kecamatan,
        cast(desa.nama_kecamatan as varchar) as nama_kecamatan,
        cast(dana_desa.kode_desa as varchar) as kode_desa,
        cast(desa.nama as varchar) as nama_desa,
        cast(dana_desa.pagu_dana_desa as decimal(16, 2)) as pagu_dana_desa,
        cast(dana_desa.total_realisasi as decimal(16, 2)) as realisasi_dana_desa,
        -- Percent of the pagu, two decimals; null when there is no pagu to divide by.
        cast(
            round(dana_desa.total_realisasi * 100 / nullif(dana_desa.pagu_dana_desa, 0), 2) as decimal(5, 2)
        ) as persen_realisasi,
        cast('rupiah' as varchar) as satuan,
        cast(dana_desa.tahun_anggaran as integer) as tahun
    from dana_desa
    left join desa
        on dana_desa.kode_desa = desa.kode_kemendagri
)

select * from final
order by kode_desa, tahun
